"""GET /phoneNumber/getOrgPhoneNumberList[/{orgId}] (5 tokens): client phones and Twilio numbers, one row each.

Without orgId: the caller's org. Another org's id: admins only.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.listing import OrgPhoneNumberItem
from robotappel.numbers.queries import org_phone_number_list

app = create_app()


@app.get("/phoneNumber/getOrgPhoneNumberList")
def for_caller() -> list[OrgPhoneNumberItem]:
    return org_phone_number_list(call_context(app), None)


@app.get("/phoneNumber/getOrgPhoneNumberList/<orgId>")
def for_org(orgId: Annotated[str, Path(max_length=128)]) -> list[OrgPhoneNumberItem]:
    return org_phone_number_list(call_context(app), orgId)


handler = lambda_handler(app)
