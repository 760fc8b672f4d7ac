"""POST /admin/orgs (admin key, free): create an organisation, with an opening balance credited to its ledger."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from robotappel.api import caller_of, create_app, lambda_handler, request_id
from robotappel.models.tenants import CreateOrgDto, OrgCreated
from robotappel.tenants.orgs import create_org

app = create_app(admin_only=True)


@app.post("/admin/orgs", responses={201: {"description": "Created"}})
def create(body: CreateOrgDto) -> tuple[OrgCreated, int]:
    return create_org(body, request_id(app), caller_of(app).key_id), 201


handler = lambda_handler(app)

loading.loaded()
