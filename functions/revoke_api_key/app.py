"""DELETE /admin/apiKeys/{keyId} (admin key, free): revoke a key; the stage's authorizer cache is flushed, so it is
refused from its next call."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import api_stage, caller_of, create_app, lambda_handler
from robotappel.models.tenants import ApiKeyRevoked
from robotappel.tenants.api_keys import flush_authorizer_cache, revoke_api_key

app = create_app(admin_only=True)


@app.delete("/admin/apiKeys/<keyId>")
def revoke(keyId: Annotated[str, Path(max_length=64)]) -> ApiKeyRevoked:
    revoked = revoke_api_key(keyId, caller_of(app).key_id)
    flush_authorizer_cache(api_stage(app))
    return revoked


handler = lambda_handler(app)

loading.loaded()
