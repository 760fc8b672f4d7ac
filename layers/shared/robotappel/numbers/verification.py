"""A client phone's verification outcome, as Twilio's callback reports it."""

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.ids import now_iso


def record_verification(record: ClientPhoneRecord, verified: bool, caller_id_sid: str | None) -> ClientPhoneRecord:
    """Apply a verification outcome to a pending client phone (a repeated outcome changes nothing)."""
    if record.status != "pending":
        return record
    if verified:
        outcome = record.model_copy(
            update={"status": "verified", "verified_at": now_iso(), "caller_id_sid": caller_id_sid}
        )
    else:
        outcome = record.model_copy(update={"status": "failed"})
    try:
        transact([numbers.save_number(record, outcome)])
    except ConditionFailed:
        return record  # settled meanwhile by another delivery of the callback, or deleted
    return outcome
