"""Whether an org exists: an org is its token account (tenants.orgs), and a route naming one without an account
answers 404, before any charge.

Apart from tenants.orgs so that what only checks an org (tenants.access, in every read that takes `?id=`) loads
none of the operators' models and usage plans (tests/unit/test_function_imports.py)."""

from robotappel.dal import ledger
from robotappel.errors import NotFound


def require_org(org_id: str) -> None:
    if not ledger.account_exists(org_id):
        raise unknown_org(org_id)


def unknown_org(org_id: str) -> NotFound:
    return NotFound(f"No organisation {org_id}.", code="org_not_found")
