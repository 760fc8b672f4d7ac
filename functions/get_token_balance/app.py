"""GET /tokens/balance (free): the caller's organisation and its token balance."""

from robotappel.api import call_context, create_app, lambda_handler
from robotappel.models.listing import TokenBalance
from robotappel.tokens.balance import get_balance

app = create_app()


@app.get("/tokens/balance")
def token_balance() -> TokenBalance:
    return get_balance(call_context(app))


handler = lambda_handler(app)
