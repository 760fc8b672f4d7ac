"""DELETE /phoneNumber/deletePhoneNumber/{id} (5 tokens): a client phone, or a Twilio number (released)."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.listing import DeleteResult
from robotappel.numbers.deletion import delete_phone_number

app = create_app()


@app.delete("/phoneNumber/deletePhoneNumber/<id>")
def delete(id: Annotated[str, Path(max_length=64)]) -> DeleteResult:
    return delete_phone_number(call_context(app), id)


handler = lambda_handler(app)

loading.loaded()
