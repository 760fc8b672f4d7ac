"""GET /phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{clientPhoneNumber} (5 tokens)."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import InboundClientNumber
from robotappel.numbers.queries import find_by_client_phone

app = create_app()


@app.get("/phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/<clientPhoneNumber>")
def by_client_phone(clientPhoneNumber: Annotated[str, Path(max_length=32)]) -> InboundClientNumber:
    return find_by_client_phone(call_context(app), clientPhoneNumber)


handler = lambda_handler(app)

loading.loaded()
