"""GET /tokens/ledger (free): the org's ledger entries, newest first, a page at a time (nextCursor).

Admins may pass `?orgId=` to read another organisation's.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from robotappel.api import caller_of, create_app, lambda_handler
from robotappel.api.pages import Cursor, Limit
from robotappel.models.ledger import TokenLedgerPage
from robotappel.paging import MAX_LIMIT, PageRequest
from robotappel.tokens.statement import ledger_page

app = create_app()


@app.get("/tokens/ledger")
def token_ledger(
    orgId: Annotated[str | None, Query(description="Organisation id (admins only)", max_length=128)] = None,
    limit: Limit = MAX_LIMIT,
    cursor: Cursor = None,
) -> TokenLedgerPage:
    return ledger_page(caller_of(app), orgId, PageRequest(limit, cursor))


handler = lambda_handler(app)

loading.loaded()
