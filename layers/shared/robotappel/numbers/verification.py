"""A client phone's verification outcome, from Twilio's callback or from asking Twilio about a stale pending one."""

from datetime import UTC, datetime, timedelta

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.errors import DomainError
from robotappel.ids import now_iso
from robotappel.twilio import gateway

# Twilio does not always deliver the verification callback: past this age a pending number is asked about.
PENDING_RECHECK_AFTER = timedelta(minutes=3)


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


def rechecked_if_stale(record: ClientPhoneRecord) -> ClientPhoneRecord:
    if record.status != "pending" or _age(record) < PENDING_RECHECK_AFTER:
        return record
    try:
        caller_id = gateway.find_caller_id(record.phone_number)
    except DomainError:
        return record  # a list must not fail because Twilio does: the next read asks again
    if caller_id is None:
        return record
    return record_verification(record, verified=True, caller_id_sid=caller_id.sid)


def _age(record: ClientPhoneRecord) -> timedelta:
    return datetime.now(UTC) - datetime.fromisoformat(record.created_at)
