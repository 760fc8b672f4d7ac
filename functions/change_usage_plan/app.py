"""PUT /admin/orgs/{orgId}/usagePlan (admin key, free): move an org to another of the stage's usage plans (its
requests a second and a day)."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import create_app, lambda_handler
from robotappel.models.tenants import ChangeUsagePlanDto, OrgUsagePlan
from robotappel.tenants.orgs import change_plan

app = create_app(admin_only=True)


@app.put("/admin/orgs/<orgId>/usagePlan")
def change(orgId: Annotated[str, Path(max_length=64)], body: ChangeUsagePlanDto) -> OrgUsagePlan:
    return change_plan(orgId, body.plan)


handler = lambda_handler(app)

loading.loaded()
