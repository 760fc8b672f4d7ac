"""GET /phoneNumber/getOrgPhoneNumberList[/{orgId}] (5 tokens a page): client phones and Twilio numbers, one row
each. Without orgId: the caller's org. Another org's id: admins only. `limit` and `cursor` page the list
(X-Next-Cursor); both paths are one list, so a cursor of one works on the other for the same org.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.api.pages import Cursor, Limit, page_response
from robotappel.models.listing import OrgPhoneNumberItem
from robotappel.numbers.queries import org_phone_number_list
from robotappel.paging import MAX_LIMIT, PageRequest

app = create_app()


@app.get("/phoneNumber/getOrgPhoneNumberList")
def for_caller(limit: Limit = MAX_LIMIT, cursor: Cursor = None) -> Response[list[OrgPhoneNumberItem]]:
    return page_response(org_phone_number_list(call_context(app), None, PageRequest(limit, cursor)))


@app.get("/phoneNumber/getOrgPhoneNumberList/<orgId>")
def for_org(
    orgId: Annotated[str, Path(max_length=128)], limit: Limit = MAX_LIMIT, cursor: Cursor = None
) -> Response[list[OrgPhoneNumberItem]]:
    return page_response(org_phone_number_list(call_context(app), orgId, PageRequest(limit, cursor)))


handler = lambda_handler(app)

loading.loaded()
