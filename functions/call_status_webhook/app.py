"""POST /phoneNumber/twilio/callStatus (free, X-Twilio-Signature): counts finished calls per number."""

from robotappel.api import create_app, lambda_handler, signed_twilio_params
from robotappel.numbers.webhooks import on_call_status

app = create_app(charged=False)


@app.post("/phoneNumber/twilio/callStatus")
def call_status() -> dict[str, int]:
    return on_call_status(signed_twilio_params(app))


handler = lambda_handler(app)
