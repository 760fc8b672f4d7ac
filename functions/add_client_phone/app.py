"""POST /phoneNumber/addClientPhone (10 tokens): register a client phone; Twilio calls it to verify it."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.client_phones import AddPhoneNumberDto, ClientPhoneCreated
from robotappel.numbers.client_phones import add_client_phone

app = create_app()


@app.post("/phoneNumber/addClientPhone", responses={201: {"description": "Registered, verification call placed"}})
def add(body: AddPhoneNumberDto) -> tuple[ClientPhoneCreated, int]:
    return add_client_phone(call_context(app), body), 201


handler = lambda_handler(app)

loading.loaded()
