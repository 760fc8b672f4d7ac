"""Each org's own Twilio subaccount (SPEC: Tenants at Twilio): every Twilio resource of an org lives there, so no
org can see, use or delete another's. Created when the org is onboarded; an org onboarded before gets one on its
first use of Twilio. Kept in memory once known: an org's subaccount never changes."""

import hashlib

from robotappel.config import get_settings
from robotappel.dal import subaccounts
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.errors import DomainError
from robotappel.ids import now_iso
from robotappel.observability import logger
from robotappel.twilio.tags import MAX_FRIENDLY_NAME, PREFIX

_known: dict[str, str] = {}


def account_of(org_id: str) -> str:
    """The SID of the org's subaccount, created (idempotently) when it has none yet."""
    if org_id in _known:
        return _known[org_id]
    account_sid = subaccounts.of_org(org_id) or _open(org_id)
    _known[org_id] = account_sid
    return account_sid


def recorded_account_of(org_id: str) -> str | None:
    """The SID of the org's subaccount if it has one, never creating one: what the reconciler acts in (a record of an
    org without a subaccount is nothing it may judge at Twilio)."""
    if org_id not in _known and (account_sid := subaccounts.of_org(org_id)):
        _known[org_id] = account_sid
    return _known.get(org_id)


def forget_known() -> None:
    """Forget the subaccounts known in memory (tests: a new table and a new Twilio each)."""
    _known.clear()


def friendly_name(org_id: str) -> str:
    """What names the org's subaccount at Twilio (and finds it again): the stage and the org, within Twilio's 64
    characters; a long org id is cut and told apart by a digest of it."""
    name = f"{PREFIX}{get_settings().stage}:org {org_id}"
    if len(name) <= MAX_FRIENDLY_NAME:
        return name
    digest = hashlib.sha256(org_id.encode()).hexdigest()[:10]
    return f"{name[: MAX_FRIENDLY_NAME - len(digest) - 1]}~{digest}"


def _open(org_id: str) -> str:
    """Create the org's subaccount and record it. A create whose answer was lost left one with the org's name:
    that one is taken rather than a second made. Two first uses at once may each create one; the first recorded
    is the org's: the record is one conditional write, so every other use is told the recorded SID, whichever
    subaccount it made or found first by name. Each other one is a spare, counted among the parent's 1,000: the
    use that made it closes it on proof (`_settle_spare`), else it is left open (logged: an operator may close it)."""
    # Import here: onboarding and first use only; the routes that never call Twilio do not load its client.
    from robotappel.twilio import accounts

    name = friendly_name(org_id)
    existing = accounts.find_subaccounts(name)
    created = None if existing else accounts.create_subaccount(name)
    account_sid = created.sid if created else existing[0].sid
    try:
        subaccounts.record(org_id, account_sid, now_iso())
    except ConditionFailed as failure:
        recorded = str(failure.old_item(subaccounts.SUBACCOUNT)["twilioSid"])
        if recorded != account_sid:
            _settle_spare(org_id, account_sid, made_here=created is not None)
        return recorded
    logger.info("Twilio subaccount opened", extra={"subaccountOrgId": org_id, "accountSid": account_sid})
    return account_sid


def _settle_spare(org_id: str, spare_sid: str, *, made_here: bool) -> None:
    """Close `spare_sid`, a subaccount named for the org that lost the race to be recorded, on proof that it is a
    spare: closing is final at Twilio (and frees its place among the parent's subaccounts). Without the proof, or
    when Twilio or the table fails, it is left open, logged with the reason; nothing is raised: the caller goes on
    with the recorded subaccount either way."""
    from robotappel.twilio import accounts

    try:
        reason = _not_proven_spare(org_id, spare_sid, made_here=made_here)
        if reason is None:
            accounts.set_status(spare_sid, "closed")
    except DomainError as failure:
        reason = f"a check or the closing failed: {type(failure).__name__}"
    if reason is None:
        logger.warning(
            "a second Twilio subaccount was made for an org at once: closed",
            extra={"subaccountOrgId": org_id, "closedAccountSid": spare_sid},
        )
    else:
        logger.warning(
            "a second Twilio subaccount was made for an org at once: left open",
            extra={"subaccountOrgId": org_id, "unusedAccountSid": spare_sid, "reason": reason},
        )


def _not_proven_spare(org_id: str, spare_sid: str, *, made_here: bool) -> str | None:
    """Why `spare_sid` may not be closed; None when all three proofs hold: this very call created it (one found by
    name may be another first use's, recorded or being recorded), the org's record, read consistently now, names
    another subaccount, and it holds no number and no caller ID."""
    from robotappel.twilio import gateway

    if not made_here:
        return "found by name, not made by this call"
    if subaccounts.of_org(org_id) in (None, spare_sid):
        return "the org's record names no other subaccount"
    if next(gateway.number_pages(spare_sid)).items or next(gateway.caller_id_pages(spare_sid)).items:
        return "it holds a number or a caller ID"
    return None
