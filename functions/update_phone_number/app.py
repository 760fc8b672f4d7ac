"""PATCH /phoneNumber/updatePhoneNumber/{id} (5 tokens): friendlyName, voiceUrl, client phone link."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.models import Example
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import TwilioNumber, UpdatePhoneNumberDto
from robotappel.numbers.twilio_numbers import update_number

app = create_app()
# What Swagger UI's "Try it out" sends: requests that succeed (its sample from the schema would not).
EXAMPLES = {
    "rename": Example(
        summary="Rename it and route its calls elsewhere",
        value={"friendlyName": "Night line", "voiceUrl": "https://voice.example.com/night"},
    ),
    "unlink": Example(summary="Unlink its client phone", value={"clientPhoneNumber": ""}),
}


@app.patch("/phoneNumber/updatePhoneNumber/<id>")
def update(
    id: Annotated[str, Path(max_length=64)], body: Annotated[UpdatePhoneNumberDto, Body(openapi_examples=EXAMPLES)]
) -> TwilioNumber:
    return update_number(call_context(app), id, body)


handler = lambda_handler(app)
