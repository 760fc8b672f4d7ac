"""Suspending an org (SPEC: Tenants at Twilio): its routes answer 403 `org_suspended` and its Twilio subaccount is
suspended (it can place no call, buy nothing, and its numbers stop answering); reactivating restores both.

The order makes each step safe to retry: suspending stops the routes first, then Twilio (a failure in between
leaves an org that can do nothing, and the operator runs it again); reactivating restores Twilio first, then the
routes (a failure in between leaves the routes stopped). The routes stop at once when the caller flushes the
stage's authorizer cache (as the route and the CLI do), else within its 300 s.

An operator org is not suspended unless `operator_too` says so (the CLI's `--operator`): its admin keys would stop
working, and with the platform's only operator org no admin key would be left to reactivate it over the API.
"""

from robotappel.dal import ledger
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.errors import Conflict
from robotappel.ids import now_iso
from robotappel.models.tenants import OrgStatus, OrgStatusName
from robotappel.observability import logger
from robotappel.tenants.existence import unknown_org


def set_status(
    org_id: str, status: OrgStatusName, by_key_id: str | None = None, *, operator_too: bool = False
) -> OrgStatus:
    """`by_key_id`: the admin key doing it (logged); None from the operators' tool. Suspending an operator org is
    refused (409 `operator_org`, nothing changed) unless `operator_too`."""
    if status == "suspended":
        if not operator_too and ledger.is_operator(org_id):
            raise _operator_org(org_id)
        since = ledger.suspended_since(org_id) or now_iso()
        _set_routes(org_id, since)
        _set_subaccount(org_id, "suspended")
    else:
        since = None
        _set_subaccount(org_id, "active")
        _set_routes(org_id, None)
    logger.info("organisation status set", extra={"statusOrgId": org_id, "status": status, "byKeyId": by_key_id})
    return OrgStatus(orgId=org_id, status=status, suspendedAt=since)


def _operator_org(org_id: str) -> Conflict:
    return Conflict(
        f"{org_id} is an operator org: suspending it would stop its admin keys, perhaps the last ones able to "
        "reactivate it. Only the operators' tool suspends one (orgs suspend --operator).",
        code="operator_org",
    )


def _set_routes(org_id: str, suspended_at: str | None) -> None:
    try:
        ledger.set_suspended(org_id, suspended_at)
    except ConditionFailed as failure:
        raise unknown_org(org_id) from failure


def _set_subaccount(org_id: str, status: OrgStatusName) -> None:
    """An org without a subaccount yet has nothing at Twilio to suspend (it would be opened on first use, which
    a suspended org cannot make)."""
    # Import here: the admin routes load no Twilio at init (tests/unit/test_function_imports.py).
    from robotappel.tenants.subaccounts import recorded_account_of
    from robotappel.twilio import accounts

    account = recorded_account_of(org_id)
    if account is None:
        return

    accounts.set_status(account, status)
