"""PUT /admin/orgs/{orgId}/status (admin key, free): suspend an org (its routes answer 403 org_suspended, its Twilio
subaccount is suspended) or reactivate it; the stage's authorizer cache is flushed, so it applies from the next
call. An operator org is not suspended (409 operator_org, nothing changed): its admin keys would stop, perhaps the
last ones; the operators' tool does it when told (`orgs suspend --operator`)."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import api_stage, caller_of, create_app, lambda_handler
from robotappel.models.tenants import OrgStatus, OrgStatusDto
from robotappel.tenants.api_keys import flush_authorizer_cache
from robotappel.tenants.suspension import set_status

app = create_app(admin_only=True)


@app.put("/admin/orgs/<orgId>/status")
def change_status(orgId: Annotated[str, Path(max_length=64)], body: OrgStatusDto) -> OrgStatus:
    changed = set_status(orgId, body.status, caller_of(app).key_id)
    flush_authorizer_cache(api_stage(app))
    return changed


handler = lambda_handler(app)

loading.loaded()
