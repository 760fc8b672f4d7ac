"""Each org's own Twilio subaccount (SPEC: Tenants at Twilio): every Twilio resource of an org lives there, so no
org can see, use or delete another's. Created when the org is onboarded; an org onboarded before gets one on its
first use of Twilio. Kept in memory once known: an org's subaccount never changes."""

import hashlib

from robotappel.config import get_settings
from robotappel.dal import subaccounts
from robotappel.dal.dynamodb import ConditionFailed
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
    is the org's, and the other stays empty (logged: an operator may close it)."""
    # Import here: onboarding and first use only; the routes that never call Twilio do not load its client.
    from robotappel.twilio import accounts

    name = friendly_name(org_id)
    existing = accounts.find_subaccounts(name)
    account = existing[0] if existing else accounts.create_subaccount(name)
    try:
        subaccounts.record(org_id, account.sid, now_iso())
    except ConditionFailed as failure:
        recorded = str(failure.old_item(subaccounts.SUBACCOUNT)["twilioSid"])
        if recorded != account.sid:
            logger.warning(
                "a second Twilio subaccount was made for an org at once: left empty",
                extra={"subaccountOrgId": org_id, "unusedAccountSid": account.sid},
            )
        return recorded
    logger.info("Twilio subaccount opened", extra={"subaccountOrgId": org_id, "accountSid": account.sid})
    return account.sid
