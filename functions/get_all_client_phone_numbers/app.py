"""GET /phoneNumber/getAllClientPhoneNumbers (5 tokens): the org's client phones, newest first.

Admins may pass `?id=<orgId>` to read another organisation.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.client_phones import ClientOrgPhone
from robotappel.numbers.queries import list_client_phones

app = create_app()


@app.get("/phoneNumber/getAllClientPhoneNumbers")
def get_all_client_phone_numbers(
    id: Annotated[str | None, Query(description="Organisation id (admins only)", max_length=128)] = None,
) -> list[ClientOrgPhone]:
    return list_client_phones(call_context(app), id)


handler = lambda_handler(app)
