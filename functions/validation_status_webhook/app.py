"""POST /phoneNumber/twilio/validationStatus/{id} (free, X-Twilio-Signature): outcome of the verification of client
phone {id}; the path without an id serves the callbacks Twilio was given before."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import create_app, lambda_handler, signed_twilio_callback
from robotappel.ids import ID_PATTERN
from robotappel.numbers.webhooks import on_validation_status

app = create_app(charged=False)


@app.post("/phoneNumber/twilio/validationStatus/<id>")
def validation_status(id: Annotated[str, Path(pattern=ID_PATTERN)]) -> dict[str, int]:
    return on_validation_status(signed_twilio_callback(app), record_id=id)


@app.post("/phoneNumber/twilio/validationStatus")
def validation_status_of_any_record() -> dict[str, int]:
    return on_validation_status(signed_twilio_callback(app))


handler = lambda_handler(app)

loading.loaded()
