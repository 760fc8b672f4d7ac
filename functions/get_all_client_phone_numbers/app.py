"""GET /phoneNumber/getAllClientPhoneNumbers (5 tokens a page): the org's client phones, newest first.

Admins may pass `?id=<orgId>` to read another organisation. `limit` and `cursor` page the list (X-Next-Cursor).
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.api.pages import Cursor, Limit, page_response
from robotappel.models.client_phones import ClientOrgPhone
from robotappel.numbers.queries import list_client_phones
from robotappel.paging import MAX_LIMIT, PageRequest

app = create_app()


@app.get("/phoneNumber/getAllClientPhoneNumbers")
def get_all_client_phone_numbers(
    id: Annotated[str | None, Query(description="Organisation id (admins only)", max_length=128)] = None,
    limit: Limit = MAX_LIMIT,
    cursor: Cursor = None,
) -> Response[list[ClientOrgPhone]]:
    return page_response(list_client_phones(call_context(app), id, PageRequest(limit, cursor)))


handler = lambda_handler(app)

loading.loaded()
