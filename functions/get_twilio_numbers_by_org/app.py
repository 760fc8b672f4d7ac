"""GET /phoneNumber/GetTwilioPhoneNumberByOrg (5 tokens): the org's active Twilio numbers."""

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import TwilioNumber
from robotappel.numbers.queries import list_twilio_numbers

app = create_app()


@app.get("/phoneNumber/GetTwilioPhoneNumberByOrg")
def by_org() -> list[TwilioNumber]:
    return list_twilio_numbers(call_context(app))


handler = lambda_handler(app)
