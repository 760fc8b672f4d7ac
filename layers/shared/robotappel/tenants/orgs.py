"""Organisations. An org is its token account (TokensTable, sk "account"): an operator creates both at once, with
an opening balance, and an org without an account does not exist, so a route naming one answers 404, before any
charge. Every top-up is a ledger entry (`credited`), the opening balance included. An operator org (the platform's
staff, created so) is the only kind whose keys may be admin keys: an admin key acts on every org (SPEC)."""

from robotappel.dal import ledger
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.errors import Conflict, DomainError
from robotappel.ids import new_id, now_iso
from robotappel.models.tenants import CreateOrgDto, CreditDto, Credited, OrgCreated, OrgUsagePlan
from robotappel.observability import logger
from robotappel.tenants import usage_plans
from robotappel.tenants.existence import require_org, unknown_org

OPENING_BALANCE = "opening balance"


def create_org(dto: CreateOrgDto, request_id: str, by_key_id: str | None = None) -> OrgCreated:
    """`by_key_id`: the admin key creating it (its opening credit says so); None from the operators' tool.

    Its usage plan first (idempotent): an org whose account exists without one would be refused by API Gateway."""
    usage_plans.enrol(dto.orgId)
    created_at = now_iso()
    opening = (
        _credit_entry(dto.orgId, dto.tokens, OPENING_BALANCE, request_id, created_at, by_key_id=by_key_id)
        if dto.tokens
        else None
    )
    try:
        ledger.open_account(dto.orgId, created_at, opening, operator=dto.operator)
    except ConditionFailed as failure:
        if failure.failed(ledger.ACCOUNT):
            raise Conflict(f"Organisation {dto.orgId} exists already.", code="org_exists") from failure
        raise
    _open_subaccount(dto.orgId)
    logger.info(
        "organisation created",
        extra={"createdOrgId": dto.orgId, "tokens": dto.tokens, "operator": dto.operator, "byKeyId": by_key_id},
    )
    return OrgCreated(orgId=dto.orgId, balance=dto.tokens)


def _open_subaccount(org_id: str) -> None:
    """The org's Twilio subaccount, opened with the org; when Twilio fails, on the org's first use of Twilio."""
    # Import here: every route that names an org imports this module, and only onboarding talks to Twilio.
    from robotappel.tenants import subaccounts

    try:
        subaccounts.account_of(org_id)
    except DomainError:
        logger.warning("the org's Twilio subaccount will be opened on its first use", extra={"createdOrgId": org_id})


def credit_tokens(org_id: str, dto: CreditDto, request_id: str, by_key_id: str | None = None) -> Credited:
    """`by_key_id`: the admin key crediting (kept in the ledger entry); None from the operators' tool."""
    entry = _credit_entry(org_id, dto.tokens, dto.reason, request_id, now_iso(), by_key_id=by_key_id)
    try:
        balance = ledger.credit(entry)
    except ConditionFailed as failure:
        if failure.failed(ledger.ACCOUNT):
            raise unknown_org(org_id) from failure
        raise
    logger.info(
        "tokens credited",
        extra={"creditedOrgId": org_id, "tokens": dto.tokens, "entryId": entry.entry_id, "byKeyId": by_key_id},
    )
    return Credited(orgId=org_id, balance=balance, entryId=entry.entry_id)


def make_operator(org_id: str) -> None:
    """Make an existing org an operator org (one created before orgs said so, e.g. a stage's first org)."""
    try:
        ledger.make_operator(org_id)
    except ConditionFailed as failure:
        if failure.failed(ledger.ACCOUNT):
            raise unknown_org(org_id) from failure
        raise
    logger.info("organisation made an operator", extra={"operatorOrgId": org_id})


def change_plan(org_id: str, plan: str) -> OrgUsagePlan:
    """Move an existing org to another of the stage's usage plans (its quotas)."""
    require_org(org_id)
    return usage_plans.move(org_id, plan)


def _credit_entry(
    org_id: str, tokens: int, reason: str, request_id: str, created_at: str, *, by_key_id: str | None
) -> ledger.LedgerEntry:
    return ledger.LedgerEntry(
        org_id=org_id,
        entry_id=new_id("le"),
        route=ledger.CREDIT_ROUTE,
        tokens=tokens,
        request_id=request_id,
        created_at=created_at,
        reason=reason,
        by_key_id=by_key_id,
    )
