"""POST /phoneNumber/addClientPhone (10 tokens): register a client phone; Twilio calls it to verify it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.models import Example
from aws_lambda_powertools.event_handler.openapi.params import Body

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.client_phones import AddPhoneNumberDto, ClientPhoneCreated
from robotappel.numbers.client_phones import add_client_phone

app = create_app()
# What Swagger UI's "Try it out" sends: requests that succeed (its sample from the schema would not).
EXAMPLES = {
    "national": Example(
        summary="A French number, national format",
        value={"phoneNumber": "06 12 34 56 78", "friendlyName": "Front desk"},
    ),
    "country": Example(
        summary="A number of another country",
        value={"phoneNumber": "020 7946 0018", "country": "GB", "friendlyName": "London office"},
    ),
}


@app.post("/phoneNumber/addClientPhone", responses={201: {"description": "Registered, verification call placed"}})
def add(body: Annotated[AddPhoneNumberDto, Body(openapi_examples=EXAMPLES)]) -> tuple[ClientPhoneCreated, int]:
    return add_client_phone(call_context(app), body), 201


handler = lambda_handler(app)
