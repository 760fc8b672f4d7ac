"""A client phone's verification outcome, as Twilio's callback reports it."""

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.ids import now_iso


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
