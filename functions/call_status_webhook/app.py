"""POST /phoneNumber/twilio/callStatus (free, X-Twilio-Signature): counts finished calls per number."""

from robotappel.api import create_app, lambda_handler, twilio_callback
from robotappel.numbers.webhooks import on_call_status

app = create_app(charged=False)


@app.post("/phoneNumber/twilio/callStatus")
def call_status() -> dict[str, int]:
    return on_call_status(twilio_callback(app))


handler = lambda_handler(app)
