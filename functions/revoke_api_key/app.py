"""DELETE /admin/apiKeys/{keyId} (admin key, free): revoke a key; it stops working within the authorizer cache
time (300 s)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import create_app, lambda_handler
from robotappel.models.tenants import ApiKeyRevoked
from robotappel.tenants.api_keys import revoke_api_key

app = create_app(admin_only=True)


@app.delete("/admin/apiKeys/<keyId>")
def revoke(keyId: Annotated[str, Path(max_length=64)]) -> ApiKeyRevoked:
    return revoke_api_key(keyId)


handler = lambda_handler(app)
