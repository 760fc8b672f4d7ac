"""PATCH /phoneNumber/updatePhoneNumber/{id} (5 tokens): friendlyName, voiceUrl, client phone link."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import TwilioNumber, UpdatePhoneNumberDto
from robotappel.numbers.twilio_numbers import update_number

app = create_app()


@app.patch("/phoneNumber/updatePhoneNumber/<id>")
def update(id: Annotated[str, Path(max_length=64)], body: UpdatePhoneNumberDto) -> TwilioNumber:
    return update_number(call_context(app), id, body)


handler = lambda_handler(app)

loading.loaded()
