"""GET /phoneNumber/GetTwilioPhoneNumberByOrg (5 tokens a page): the org's active Twilio numbers, newest first.

`limit` and `cursor` page the list (X-Next-Cursor).
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from aws_lambda_powertools.event_handler import Response

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.api.pages import Cursor, Limit, page_response
from robotappel.models.twilio_numbers import TwilioNumber
from robotappel.numbers.queries import list_twilio_numbers
from robotappel.paging import MAX_LIMIT, PageRequest

app = create_app()


@app.get("/phoneNumber/GetTwilioPhoneNumberByOrg")
def by_org(limit: Limit = MAX_LIMIT, cursor: Cursor = None) -> Response[list[TwilioNumber]]:
    return page_response(list_twilio_numbers(call_context(app), PageRequest(limit, cursor)))


handler = lambda_handler(app)

loading.loaded()
