"""The reconciler's irreversible actions, and the brake on them: nothing else in the reconciler destroys.

Releasing a number, deleting a caller ID and marking a record released cannot be undone: a released French number
is gone, with the campaigns printed on it. Marking a verified phone failed can (the org adds it again), at the cost
of a verification call: it is judged on the same proof, within the same brake. Each function here takes its proof
as arguments, so that a call site shows why it is safe, and refuses when the proof does not hold:
- what Twilio holds now, fetched by SID just before (not the listing, which may be minutes old);
- what our table holds now: the record itself read consistently, or for a resource whose record we cannot name
  (a tag carries the record's id, not its org) its owners read again by phone number. Those are only looked for
  on a resource older than HOLD_EXPIRY, so every write about it is minutes old and the index has it.

The brake: at most `reconcile_max_destructive` actions a run (a setting). Past it, or once the run found the
Twilio account changed or empty (`stop`), nothing more is destroyed: each refusal is counted (metric
ReconciledDestructionBraked, alarm). A dry run (`reconcile_dry_run`) counts and logs what it would destroy and
destroys nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from robotappel.config import get_settings
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord, NumberRecord, TwilioNumberRecord
from robotappel.ids import now_iso
from robotappel.observability import logger
from robotappel.twilio import gateway
from robotappel.twilio.gateway import CallerId, IncomingNumber
from robotappel.twilio.tags import record_id_of

BRAKED, WOULD_DESTROY = "destruction_braked", "dry_run_would_destroy"
FINDINGS = (BRAKED, WOULD_DESTROY)


@dataclass
class Brake:
    """How many irreversible actions a run may still take."""

    left: int = field(default_factory=lambda: get_settings().reconcile_max_destructive)
    dry_run: bool = field(default_factory=lambda: get_settings().reconcile_dry_run)
    refused: int = 0
    would: int = 0
    stopped_for: str | None = None

    def stop(self, reason: str) -> None:
        """Destroy nothing more this run (the account changed, Twilio listed nothing...)."""
        logger.error("the reconciler destroys nothing this run", extra={"reason": reason})
        self.left, self.stopped_for = 0, reason

    def allows(self, action: str, sid: str) -> bool:
        if self.left <= 0:
            self.refused += 1
            logger.warning("destruction braked", extra={"action": action, "sid": sid, "reason": self.stopped_for})
            return False
        self.left -= 1
        if self.dry_run:
            logger.warning("dry run: would destroy", extra={"action": action, "sid": sid})
            self.would += 1
            return False
        return True

    def findings(self) -> dict[str, int]:
        return {kind: count for kind, count in ((BRAKED, self.refused), (WOULD_DESTROY, self.would)) if count}


def release_orphan_number(
    account: str, fetched: IncomingNumber | None, owners: Sequence[NumberRecord], brake: Brake
) -> bool:
    """Release a number of ours in subaccount `account` that no record owns. `fetched`: the number fetched by SID
    there just now; `owners`: the live records of the subaccount's org for its number, read again just now. True if
    released (or already gone)."""
    if fetched is None or record_id_of(fetched.friendly_name) is None:
        return False  # gone already, or not (or no longer) ours
    if any(isinstance(owner, TwilioNumberRecord) and owner.phone_number_sid == fetched.sid for owner in owners):
        return False
    if not brake.allows("release_number", fetched.sid):
        return False
    logger.warning("releasing our number that no record knows", extra={"sid": fetched.sid})
    return gateway.release_number(account, fetched.sid)


def delete_orphan_caller_id(
    account: str, fetched: CallerId | None, owners: Sequence[NumberRecord], brake: Brake
) -> bool:
    """Delete a caller ID of ours in subaccount `account` that no pending or verified client phone of the
    subaccount's org owns. `fetched`: the caller ID fetched by SID there just now; `owners`: the org's live records
    of its number, read again just now."""
    if fetched is None or record_id_of(fetched.friendly_name) is None:
        return False
    if any(owner.kind == "client" and owner.status in ("pending", "verified") for owner in owners):
        return False
    if not brake.allows("delete_caller_id", fetched.sid):
        return False
    logger.warning("deleting a caller ID of ours that no client phone knows", extra={"callerIdSid": fetched.sid})
    return gateway.delete_caller_id(account, fetched.sid)


def mark_number_released(record: NumberRecord | None, sid: str, fetched: IncomingNumber | None, brake: Brake) -> bool:
    """Mark released a live record whose number Twilio no longer has. `record`: read consistently just now;
    `fetched`: its SID fetched at Twilio just now (None: Twilio has no such number)."""
    if fetched is not None or not isinstance(record, TwilioNumberRecord):
        return False
    if record.status != "active" or record.phone_number_sid != sid:
        return False
    if not brake.allows("mark_released", sid):
        return False
    try:
        transact(numbers.release_twilio_number(record, now_iso()))
    except ConditionFailed:
        return False  # released or changed since it was read
    logger.warning("a number gone at Twilio marked released", extra={"numberId": record.id, "sid": sid})
    return True


def fail_phone_without_caller_id(phone: NumberRecord | None, sid: str, fetched: CallerId | None, brake: Brake) -> bool:
    """Mark failed a verified client phone whose caller ID `sid` Twilio no longer has, as a failed verification
    leaves a phone (no verifiedAt, no caller ID; its open work, if any, left to the open-work pass). `phone`: read
    consistently just now; `fetched`: `sid` fetched in the phone's org's subaccount just now (None: Twilio has no
    such caller ID)."""
    if fetched is not None or not isinstance(phone, ClientPhoneRecord):
        return False
    if phone.status != "verified" or phone.caller_id_sid != sid:
        return False
    if not brake.allows("fail_verified_phone", sid):
        return False
    failed = phone.model_copy(update={"status": "failed", "verified_at": None, "caller_id_sid": None})
    try:
        transact([numbers.save_client_phone_as_read(phone, failed)])
    except ConditionFailed:
        return False  # deleted or changed since it was read
    logger.warning(
        "a verified client phone whose caller ID is gone at Twilio marked failed",
        extra={"numberId": phone.id, "callerIdSid": sid},
    )
    return True
