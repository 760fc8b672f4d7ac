"""GET /tokens/balance (free): the caller's organisation and its token balance."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from robotappel.api import caller_of, create_app, lambda_handler
from robotappel.models.listing import TokenBalance
from robotappel.tokens.balance import get_balance

app = create_app()


@app.get("/tokens/balance")
def token_balance() -> TokenBalance:
    return get_balance(caller_of(app))


handler = lambda_handler(app)

loading.loaded()
