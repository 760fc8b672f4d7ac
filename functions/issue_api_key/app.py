"""POST /admin/orgs/{orgId}/apiKeys (admin key, free): a new API key for the org, shown this once."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import caller_of, create_app, lambda_handler
from robotappel.models.tenants import ApiKeyIssued, IssueApiKeyDto
from robotappel.tenants.api_keys import issue_api_key

app = create_app(admin_only=True)


@app.post("/admin/orgs/<orgId>/apiKeys", responses={201: {"description": "Issued: the key is shown this once"}})
def issue(orgId: Annotated[str, Path(max_length=64)], body: IssueApiKeyDto) -> tuple[ApiKeyIssued, int]:
    return issue_api_key(orgId, body, by_key_id=caller_of(app).key_id), 201


handler = lambda_handler(app)

loading.loaded()
