"""A client phone's verification: how long it may take, and its outcome as Twilio's callback reports it."""

from datetime import UTC, datetime, timedelta

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.ids import now_iso

# Twilio's verification call is placed at once and the person has minutes to answer it: a phone still pending past
# this has failed (the reconciler records it so), and may be added again.
VERIFICATION_WINDOW = timedelta(minutes=15)


def expired(record: ClientPhoneRecord) -> bool:
    """Pending past the verification window."""
    age = datetime.now(UTC) - datetime.fromisoformat(record.created_at)
    return record.status == "pending" and age > VERIFICATION_WINDOW


def record_verification(record: ClientPhoneRecord, verified: bool, caller_id_sid: str | None) -> ClientPhoneRecord:
    """Apply a verification outcome to a pending client phone (a repeated outcome changes nothing).

    The record leaves the open work (GSI byOpenWork) unless it still holds its add's hold: the add settles that
    when Twilio's answer reaches it, or the reconciler does when it never will."""
    if record.status != "pending":
        return record
    settled = {"open_work": record.open_work if record.hold else None}
    if verified:
        outcome = record.model_copy(
            update={"status": "verified", "verified_at": now_iso(), "caller_id_sid": caller_id_sid, **settled}
        )
    else:
        outcome = record.model_copy(update={"status": "failed", **settled})
    try:
        transact([numbers.save_number(record, outcome)])
    except ConditionFailed:
        return record  # settled meanwhile by another delivery of the callback, or deleted
    return outcome
