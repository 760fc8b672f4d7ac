"""POST /admin/orgs/{orgId}/credits (admin key, free): top up an org's tokens, with a reason, as a ledger entry."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import caller_of, create_app, lambda_handler, request_id
from robotappel.models.tenants import CreditDto, Credited
from robotappel.tenants.orgs import credit_tokens

app = create_app(admin_only=True)


@app.post("/admin/orgs/<orgId>/credits")
def credit(orgId: Annotated[str, Path(max_length=64)], body: CreditDto) -> Credited:
    return credit_tokens(orgId, body, request_id(app), caller_of(app).key_id)


handler = lambda_handler(app)

loading.loaded()
