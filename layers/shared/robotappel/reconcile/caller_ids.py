"""The caller-ID step of the reconciler: Twilio's outgoing caller IDs and our open client phones made to agree.

What a failure between us and Twilio can leave behind, and what this step does with it (the kind it counts):
- `verified_late`: a pending client phone Twilio verified (its callback lost) is verified, with its caller ID's SID;
  if its add never got Twilio's answer, the add's open hold is settled with it: Twilio did the work it paid for;
- `expired`: a pending client phone past VERIFICATION_WINDOW that Twilio does not have fails; an open hold on it
  is refunded;
- `hold_charged`, `hold_refunded`: a client phone its callback verified (or failed) before its add got Twilio's
  answer, and whose add never did: the add's hold is settled (refunded: the person never got the code);
- `closed`: a settled client phone left in the open work (a callback raced its add): it leaves the index;
- `unknown_caller_id_deleted`: a caller ID in an org's subaccount that no client phone of the org knows, tagged as ours
  (its record was deleted meanwhile): deleted, nobody may call with it; `unknown_caller_id_kept`: the same without our
  tag (added by hand in Twilio's console): counted and logged by SID, never touched;
- `verified_phone_caller_id_gone`: a verified client phone whose caller ID Twilio no longer has (its delete's
  answer timed out after Twilio applied it, and the client never retried; or Twilio's console) is marked failed, as a
  failed verification leaves it: the org may no longer present it, and may add it again. Judged only against a whole
  pass over the lists, then on a fetch by SID in the org's subaccount and the phone read again consistently
  (reconcile_gone_caller_ids);
- `item_failed`, `item_parked`: a caller ID or phone whose work failed (logged with its key), skipped; the next run
  tries it again, unless it failed too often (robotappel.reconcile.isolation).

Client phones with work left open carry openWork = "verification" (GSI byOpenWork). A hold younger than ADD_GRACE is
left alone: the add that holds it may still be running, and settles it itself. Every write is conditional on the
record as it was read, so a run racing a callback, an add or another run changes nothing twice, and a run after a
complete one finds nothing.
"""

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial

from robotappel.dal import cursors, ledger, numbers
from robotappel.dal.dynamodb import ConditionFailed, Write, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.dal.subaccounts import Subaccount
from robotappel.ids import now_iso
from robotappel.numbers.verification import expired
from robotappel.observability import logger
from robotappel.reconcile import destroy
from robotappel.reconcile.destroy import Brake
from robotappel.reconcile.isolation import Isolation
from robotappel.reconcile.walk import Pass, fetched_in_its_org, walk
from robotappel.tenants.subaccounts import recorded_account_of
from robotappel.twilio import gateway
from robotappel.twilio.gateway import CallerId
from robotappel.twilio.tags import record_id_of

# Longer than any add runs (the function's timeout): a younger open hold may still be settled by its own add.
ADD_GRACE = timedelta(minutes=1)

OutOfTime = Callable[[], bool]
# The steps' keys in the run's positions (dal.cursors): the pass over the lists (reconcile.walk), and its judgment.
STEP, GONE = "caller_ids", "gone_caller_ids"
FINDINGS = (
    "verified_late",
    "expired",
    "closed",
    "hold_charged",
    "hold_refunded",
    "unknown_caller_id_kept",
    "unknown_caller_id_deleted",
)
CALLER_ID_GONE = "verified_phone_caller_id_gone"
GONE_FINDINGS = (CALLER_ID_GONE,)


def reconcile_caller_ids(
    out_of_time: OutOfTime,
    brake: Brake | None = None,
    isolation: Isolation | None = None,
    positions: dict[str, str] | None = None,
) -> dict[str, int]:
    """One pass; stops early, its findings so far, once `out_of_time()` is true. Returns the findings by kind.
    Caller IDs are deleted through `destroy`, on proof and within the run's `brake`; each caller ID and phone is
    worked on its own (`isolation`: the run's, which reports its failures, else one of this pass's own). Twilio's
    list is read, subaccount after subaccount (reconcile.walk), from the page the run before stopped at
    (`positions[STEP]`, the run's cursors); the SIDs of each page are kept, and a finished pass is handed to
    `reconcile_gone_caller_ids` (`positions[GONE]`)."""
    brake = brake or Brake()
    own = isolation is None
    isolation = isolation or Isolation()
    findings: Counter[str] = Counter()
    _pass(out_of_time, brake, isolation, findings, {} if positions is None else positions)
    if own:
        isolation.save()
        findings.update(isolation.findings)
    return dict(findings)


def _pass(
    out_of_time: OutOfTime, brake: Brake, isolation: Isolation, findings: Counter[str], positions: dict[str, str]
) -> None:
    open_phones = _open_client_phones(out_of_time, isolation)
    at_twilio: set[str] = set()
    known: set[str] | None = None
    listing = Pass.of(positions.pop(STEP, None), STEP)
    for walked in walk(listing.at, gateway.caller_id_pages):
        # The client phones' caller IDs, read once a run by SID (GSI byTwilioSid), not one query per caller ID.
        known = {live.sid for live in numbers.live_sids("callerId")} if known is None else known
        subaccount = walked.subaccount
        org_phones = [phone for phone in open_phones if phone.org_id == subaccount.org_id]
        for caller_id in walked.page.items:
            if out_of_time():  # this page again next run
                positions[STEP] = listing.kept()
                return
            pending = _pending_phone_of(caller_id, org_phones)
            if pending is None:
                if caller_id.sid not in known:
                    _found(findings, isolation.run(caller_id.sid, partial(_unknown, subaccount, caller_id, brake)))
            else:
                at_twilio.add(pending.id)
                _found(findings, isolation.run(_key(pending), partial(_verified_late, pending, caller_id)))
        listing = listing.after(walked, [caller_id.sid for caller_id in walked.page.items])
    positions[GONE] = listing.judged(positions.get(GONE))
    for phone in open_phones:
        if out_of_time():
            break
        if phone.id not in at_twilio:
            _found(findings, isolation.run(_key(phone), partial(_settled, phone)))


def reconcile_gone_caller_ids(
    out_of_time: OutOfTime, brake: Brake, isolation: Isolation, positions: dict[str, str]
) -> dict[str, int]:
    """The verified client phones whose caller ID the last whole pass over Twilio's lists (`positions[GONE]`) did
    not see, each fetched by SID in its org's subaccount and read again consistently before it is marked failed
    (through `destroy`, within the run's `brake`). Only phones older than the pass are judged (a younger one may
    have been verified after its org's page was read); the live ones are read by SID (GSI byTwilioSid), from where
    the run before stopped."""
    findings = dict.fromkeys(GONE_FINDINGS, 0)
    if GONE not in positions:
        return findings  # no whole pass to judge by yet
    judged = json.loads(positions.pop(GONE))
    seen = cursors.seen_in(judged["pass"])
    after = judged.get("after", "")
    for live in numbers.live_sids("callerId", after):
        if out_of_time():
            positions[GONE] = json.dumps({**judged, "after": after})
            return findings
        if live.sid not in seen and live.created_at < judged["started"]:
            failed = isolation.run(
                f"{live.org_id}/{numbers.number_sk(live.number_id)}", partial(_fail_if_gone, live, brake)
            )
            findings[CALLER_ID_GONE] += bool(failed)
        after = live.sid
    return findings


def _fail_if_gone(live: numbers.LiveSid, brake: Brake) -> bool:
    fetched = fetched_in_its_org(live.org_id, live.sid, gateway.fetch_caller_id)
    if fetched is None:
        return False
    phone = numbers.get_number(live.org_id, live.number_id, consistent=True)
    return destroy.fail_phone_without_caller_id(phone=phone, sid=live.sid, fetched=fetched.resource, brake=brake)


def _found(findings: Counter[str], kind: str | None) -> None:
    if kind:
        findings[kind] += 1


def _key(phone: ClientPhoneRecord) -> str:
    return f"{phone.org_id}/{numbers.number_sk(phone.id)}"


def _open_client_phones(out_of_time: OutOfTime, isolation: Isolation) -> list[ClientPhoneRecord]:
    """The client phones with open work, each read on its own: a malformed one is skipped (and parked)."""
    phones: list[ClientPhoneRecord] = []
    for item in numbers.open_verification_items():
        phone = isolation.run(f"{item.get('orgId')}/{item.get('sk')}", partial(numbers.client_phone, item))
        if phone is not None:
            phones.append(phone)
        if out_of_time():
            break
    return phones


def _pending_phone_of(caller_id: CallerId, open_phones: Iterable[ClientPhoneRecord]) -> ClientPhoneRecord | None:
    """The pending client phone this caller ID verifies: the one its tag names, else (untagged: verified before
    tags) the one of its number."""
    tag = record_id_of(caller_id.friendly_name)
    return next(
        (
            phone
            for phone in open_phones
            if phone.status == "pending" and (phone.id == tag if tag else phone.phone_number == caller_id.phone_number)
        ),
        None,
    )


def _verified_late(phone: ClientPhoneRecord, caller_id: CallerId) -> str | None:
    if _hold_may_be_settled_by_its_add(phone):
        return None
    verified = {"status": "verified", "verified_at": now_iso(), "caller_id_sid": caller_id.sid}
    return "verified_late" if _close(phone, _charge(phone), **verified) else None


def _settled(phone: ClientPhoneRecord) -> str | None:
    if _hold_may_be_settled_by_its_add(phone):
        return None
    if phone.status == "pending":
        return _expired(phone) if expired(phone) else None
    if phone.hold is None:
        return "closed" if _close(phone, []) else None
    if phone.status == "verified":
        return "hold_charged" if _close(phone, _charge(phone)) else None
    return "hold_refunded" if _close(phone, _refund(phone)) else None


def _expired(phone: ClientPhoneRecord) -> str | None:
    """Expiring needs to know that Twilio does not have it: asked by its number in the org's subaccount (the list
    may span runs)."""
    account = recorded_account_of(phone.org_id)
    if account is None:
        return None  # no subaccount to ask: absence there would prove nothing
    listed = gateway.caller_ids_of(account, phone.phone_number)
    caller_id = next((c for c in listed if _pending_phone_of(c, [phone])), None)
    if caller_id is not None:
        return _verified_late(phone, caller_id)
    return "expired" if _close(phone, _refund(phone), status="failed") else None


def _unknown(subaccount: Subaccount, caller_id: CallerId, brake: Brake) -> str | None:
    """A caller ID of a subaccount that no client phone of its org knows."""
    owners = [o for o in numbers.find_by_phone_number(caller_id.phone_number) if o.org_id == subaccount.org_id]
    if any(owner.kind == "client" and owner.status in ("pending", "verified") for owner in owners):
        return None
    if record_id_of(caller_id.friendly_name) is None:
        logger.warning("a caller ID no client phone knows, not ours: kept", extra={"callerIdSid": caller_id.sid})
        return "unknown_caller_id_kept"
    deleted = destroy.delete_orphan_caller_id(
        subaccount.account_sid,
        fetched=gateway.fetch_caller_id(subaccount.account_sid, caller_id.sid),
        owners=owners,
        brake=brake,
    )
    return "unknown_caller_id_deleted" if deleted else None


def _hold_may_be_settled_by_its_add(phone: ClientPhoneRecord) -> bool:
    return phone.hold is not None and datetime.now(UTC) - datetime.fromisoformat(phone.created_at) < ADD_GRACE


def _close(phone: ClientPhoneRecord, settle_hold: list[Write], **changes: str) -> bool:
    """The phone as read, with `changes`, out of the open work, its hold settled (charged or refunded) in the same
    write: nothing (a callback, a restart) can come in between. False when the phone changed since it was read (a
    callback, its add, a restart, a delete): the next run sees it as it is now."""
    close = numbers.save_client_phone_as_read(
        phone, phone.model_copy(update={**changes, "open_work": None, "hold": None})
    )
    try:
        transact([close, *settle_hold])
    except ConditionFailed as failure:
        if failure.failed(numbers.NUMBER) or not settle_hold:
            return False
        # The hold alone was closed already (by its add, or an earlier run): the phone lets go of it all the same.
        logger.warning("a client phone's hold was closed already", extra={"numberId": phone.id})
        return _written([close])
    return True


def _charge(phone: ClientPhoneRecord) -> list[Write]:
    return [ledger.settle(phone.hold)] if phone.hold else []


def _refund(phone: ClientPhoneRecord) -> list[Write]:
    return [ledger.refund_with(phone.hold)] if phone.hold else []


def _written(writes: list[Write]) -> bool:
    try:
        transact(writes)
    except ConditionFailed:
        return False  # changed meanwhile: the next run sees it as it is now
    return True
