"""What a calling key may do as it is now, not as the authorizer's cached answer says: an admin key acts (admin
routes) and reads another org's data (member routes' `?orgId=`) only while it is live and its org an operator org."""

from robotappel.caller import Caller
from robotappel.dal import api_keys, ledger
from robotappel.dal.api_keys import ADMIN
from robotappel.errors import Forbidden, Unauthenticated
from robotappel.observability import logger
from robotappel.tenants.existence import require_org


def require_live_admin_key(caller: Caller) -> None:
    """The admin routes' check, at every call: the authorizer's answer is cached (up to ReauthorizeEvery), the key's
    record is read as it is now, so a revoked admin key is refused (401) at once. A key of an org that is not an
    operator org (an admin key issued before only operators held them) acts as no admin (403)."""
    record = api_keys.find_by_id(caller.key_id) if caller.key_id else None
    if record is None or record.revoked_at is not None or (record.org_id, record.role) != (caller.org_id, ADMIN):
        logger.info("admin key refused", extra={"keyId": caller.key_id, "keyOrgId": caller.org_id})
        raise Unauthenticated("This API key is not valid (revoked?): use a valid admin key.")
    if not ledger.is_operator(record.org_id):
        raise Forbidden("Only the keys of operator orgs act as admin keys.")


def readable_org(caller: Caller, requested_org_id: str | None) -> str:
    """The org whose data the caller asks for (`Caller.readable_org`); one other than the caller's own must exist,
    and only a live admin key reads it (checked as the admin routes check theirs: the authorizer's answer is cached).

    The caller's own org needs no check (its key was issued for it), so a member's reads cost no extra read."""
    org_id = caller.readable_org(requested_org_id)
    if org_id != caller.org_id:
        require_live_admin_key(caller)
        require_org(org_id)
    return org_id
