"""POST /phoneNumber/buyTwilioNumberAndActivate (40 tokens): buy a Twilio number and route its calls to us.

An Idempotency-Key header makes retries safe: the same key and body return the first result, uncharged.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.models import Example
from aws_lambda_powertools.event_handler.openapi.params import Body, Header

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import InboundParamsDto, TwilioNumber
from robotappel.numbers.twilio_numbers import buy_number_once

app = create_app()
# What Swagger UI's "Try it out" sends: requests that succeed (its sample from the schema would not).
EXAMPLES = {
    "areaCode": Example(summary="A local US number in area code 415", value={"countryCode": "US", "areaCode": "415"}),
    "tollFree": Example(
        summary="A toll-free US number, named",
        value={"countryCode": "US", "numberType": "tollFree", "friendlyName": "Support line"},
    ),
}


@app.post("/phoneNumber/buyTwilioNumberAndActivate", responses={201: {"description": "Bought and active"}})
def buy(
    body: Annotated[InboundParamsDto, Body(openapi_examples=EXAMPLES)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> tuple[TwilioNumber, int]:
    return buy_number_once(call_context(app), body, idempotency_key), 201


handler = lambda_handler(app)
