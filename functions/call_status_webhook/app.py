"""POST /phoneNumber/twilio/callStatus/{id} (free, X-Twilio-Signature): counts the finished calls of number {id};
the path without an id serves the numbers whose StatusCallback was set before."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import create_app, lambda_handler, signed_twilio_callback
from robotappel.ids import ID_PATTERN
from robotappel.numbers.webhooks import on_call_status

app = create_app(charged=False)


@app.post("/phoneNumber/twilio/callStatus/<id>")
def call_status(id: Annotated[str, Path(pattern=ID_PATTERN)]) -> dict[str, int]:
    return on_call_status(signed_twilio_callback(app), record_id=id)


@app.post("/phoneNumber/twilio/callStatus")
def call_status_of_the_number() -> dict[str, int]:
    return on_call_status(signed_twilio_callback(app))


handler = lambda_handler(app)

loading.loaded()
