"""GET /admin/orgs/{orgId}/apiKeys (admin key, free): the org's keys by their hint, revoked ones included."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import create_app, lambda_handler
from robotappel.models.tenants import ApiKeyInfo
from robotappel.tenants.api_keys import list_api_keys

app = create_app(admin_only=True)


@app.get("/admin/orgs/<orgId>/apiKeys")
def list_keys(orgId: Annotated[str, Path(max_length=64)]) -> list[ApiKeyInfo]:
    return list_api_keys(orgId)


handler = lambda_handler(app)

loading.loaded()
