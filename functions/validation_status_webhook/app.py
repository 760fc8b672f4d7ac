"""POST /phoneNumber/twilio/validationStatus (free, X-Twilio-Signature): outcome of a caller-ID verification."""

from robotappel.api import create_app, lambda_handler, signed_twilio_params
from robotappel.numbers.webhooks import on_validation_status

app = create_app(charged=False)


@app.post("/phoneNumber/twilio/validationStatus")
def validation_status() -> dict[str, int]:
    return on_validation_status(signed_twilio_params(app))


handler = lambda_handler(app)
