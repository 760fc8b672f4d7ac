"""POST /phoneNumber/buyTwilioNumberAndActivate (40 tokens): buy a Twilio number and route its calls to us.

An Idempotency-Key header makes retries safe, whatever answer a try got: the same key and body resume that one
purchase, and answer with its number once bought (uncharged); 409 in_progress while another try runs it, 409
conflict once its number was released.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.twilio_numbers import InboundParamsDto, TwilioNumber
from robotappel.numbers.twilio_numbers import buy_number_once

app = create_app()


@app.post("/phoneNumber/buyTwilioNumberAndActivate", responses={201: {"description": "Bought and active"}})
def buy(
    body: InboundParamsDto,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> tuple[TwilioNumber, int]:
    return buy_number_once(call_context(app), body, idempotency_key), 201


handler = lambda_handler(app)

loading.loaded()
