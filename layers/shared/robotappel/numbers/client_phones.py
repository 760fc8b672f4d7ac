"""Client phones: an org's own numbers, verified by Twilio as outgoing caller IDs (add, delete)."""

import secrets
from contextlib import suppress
from datetime import UTC, datetime

from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import ConditionFailed, Write, transact
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.errors import Conflict, InvalidInput, NotFound, RateLimited, ServiceUnavailable
from robotappel.ids import iso, new_id
from robotappel.models.client_phones import AddPhoneNumberDto, ClientPhoneCreated
from robotappel.models.listing import DeleteResult
from robotappel.numbers.call_policy import (
    VERIFICATION_CALL_PERIOD,
    require_verifiable,
    verification_call_wait,
    verification_calls_after,
)
from robotappel.numbers.compensation import record_without_charge
from robotappel.numbers.context import CallContext
from robotappel.numbers.verification import expired
from robotappel.numbers.webhooks import validation_status_url
from robotappel.observability import logger
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.tags import tagged

# What Twilio answers when it refused a request (4xx) and so did nothing.
_REFUSALS = (InvalidInput, Conflict, NotFound, RateLimited)

# Twilio's code (21450) for a phone that is a caller ID of the account already.
ALREADY_VERIFIED = "already_verified"
# The CallSid recorded for a verification Twilio never placed: no callback can name it.
NO_CALL = "none"

# A delete racing links made to the same phone retries with the links read again, a few times at most.
LINK_RACE_ATTEMPTS = 3


def add_client_phone(ctx: CallContext, dto: AddPhoneNumberDto) -> ClientPhoneCreated:
    """Write-ahead: the pending record (with the open hold that pays for it) is stored before Twilio is asked to
    call the phone, so that nothing Twilio does is ever unknown to us. Twilio's answer is recorded, and the hold
    settled, in one transaction; if that answer is lost, the callback or the reconciler settles the record.

    A phone whose verification failed or expired is added again on the same record: a new verification call."""
    org_id = ctx.caller.org_id
    require_verifiable(dto.phoneNumber)
    existing = numbers.find_client_phone(org_id, dto.phoneNumber)
    if existing and not _verification_may_restart(existing):
        raise _already_registered(dto.phoneNumber)
    calls = numbers.verification_calls(org_id, dto.phoneNumber)
    now = datetime.now(UTC)
    if wait := verification_call_wait(calls.times, now):
        raise RateLimited(f"{dto.phoneNumber} was called too often to verify it; try again later.", wait)
    ctx.meter.hold()
    record = ClientPhoneRecord(
        id=existing.id if existing else new_id(numbers.CLIENT_PHONE),
        org_id=org_id,
        phone_number=dto.phoneNumber,
        friendly_name=dto.friendlyName or dto.phoneNumber,
        status="pending",
        created_at=iso(now),
        open_work=numbers.OPEN_VERIFICATION,
        hold=ctx.meter.open_hold,
    )
    counted = numbers.save_verification_calls(
        calls,
        verification_calls_after(calls.times, now),
        expires_at=int((now + VERIFICATION_CALL_PERIOD).timestamp()),
    )
    undo = _write_ahead(record, existing, counted)
    ctx.meter.entrust()
    validation = _request_validation(ctx, record, undo)
    try:
        ctx.meter.commit([numbers.record_validation_request(record, validation.call_sid)])
    except ConditionFailed as failure:  # the delete that took the record refunded its hold
        raise Conflict(f"{dto.phoneNumber} was deleted while it was being added.", code="deleted") from failure
    return ClientPhoneCreated(
        id=record.id, phoneNumber=dto.phoneNumber, validationCode=validation.validation_code, status="pending"
    )


def _write_ahead(record: ClientPhoneRecord, existing: ClientPhoneRecord | None, counted: Write) -> list[Write]:
    """Store `record` (new, or in place of the `existing` one it restarts) with the verification call `counted`;
    returns the writes that take the record back (the call still counts: it was asked for)."""
    if existing:
        write, undo = [numbers.replace_client_phone(existing, record)], [numbers.replace_client_phone(record, existing)]
    else:
        write, undo = numbers.put_client_phone(record), numbers.delete_client_phone(record, link_version=0)
    try:
        transact([*write, counted])
    except ConditionFailed as failure:  # registered, or restarted, by a concurrent call meanwhile
        raise _already_registered(record.phone_number) from failure
    return undo


def _verification_may_restart(record: ClientPhoneRecord) -> bool:
    """Failed, or pending past the window; not while the hold of its last add is open (the reconciler closes it
    first, as Twilio did or did not do the work)."""
    return record.hold is None and (record.status == "failed" or expired(record))


def _request_validation(ctx: CallContext, record: ClientPhoneRecord, undo: list[Write]) -> gateway.ValidationRequest:
    """Ask Twilio to call the phone of a write-ahead record, tagged with the record's id. When Twilio refuses, it
    did nothing: `undo` takes the record back and the hold is refunded. Any other failure may hide work Twilio did:
    the record stays pending with its hold."""
    try:
        return gateway.request_caller_id_validation(
            account_of(record.org_id),
            record.phone_number,
            tagged(record.id, record.friendly_name),
            status_callback=validation_status_url(ctx.public_base_url, record.id),
        )
    except Conflict as refusal:
        if refusal.error_code != ALREADY_VERIFIED:
            _undo_write_ahead(ctx, undo)
            raise
        return _as_if_called(record)
    except _REFUSALS:
        _undo_write_ahead(ctx, undo)
        raise


def _as_if_called(record: ClientPhoneRecord) -> gateway.ValidationRequest:
    """Twilio refused to call because the phone is a caller ID of the org's subaccount already, with no client phone
    of the org verified for it (one left by a delete whose answer was lost, or made by hand at Twilio's console).
    The add answers as any add does and is charged as one; no call comes, and the phone fails once its verification
    window is over, as an unanswered verification does (the reconciler records it: the caller ID is tagged with
    another record's id, or none, never this one's)."""
    logger.info("validation refused, the phone being a caller ID already: answered as if called")
    return gateway.ValidationRequest(
        validation_code=f"{secrets.randbelow(10**6):06d}", call_sid=NO_CALL, phone_number=record.phone_number
    )


def _undo_write_ahead(ctx: CallContext, undo: list[Write]) -> None:
    try:
        transact(undo)
    except (ConditionFailed, ServiceUnavailable):
        # Deleted meanwhile (its hold refunded with it), or DynamoDB is down: the reconciler expires the record.
        logger.warning("write-ahead client phone kept after Twilio refused its validation request")
        return
    ctx.meter.reclaim()


def _already_registered(phone: str) -> Conflict:
    return Conflict(f"{phone} is already registered for this organisation.", code="already_exists")


def _deletion(record: ClientPhoneRecord) -> list[Write]:
    """The phone's deletion, and every Twilio number linked to it unlinked in the same transaction: no link may
    outlive its phone. The links are read after the guard's link count, so a link made after that read makes the
    deletion fail (CLIENT_PHONE_GUARD) rather than outlive it."""
    version = numbers.link_version(record.org_id, record.phone_number)
    state_change = numbers.delete_client_phone(record, version)
    for linked in numbers.twilio_numbers_linked_to(record.org_id, record.phone_number):
        unlinked = linked.model_copy(update={"client_phone_number": None})
        state_change.append(numbers.save_number(linked, unlinked, name=f"linked_twilio_number_{linked.id}"))
    return state_change


def _commit_deletion(ctx: CallContext, record: ClientPhoneRecord, state_change: list[Write]) -> list[Write]:
    """Commit the deletion; when a number was linked to the phone meanwhile, read the links again and retry."""
    for attempt in range(1, LINK_RACE_ATTEMPTS + 1):
        try:
            ctx.meter.commit(state_change)
            return state_change
        except ConditionFailed as failure:
            if not failure.failed(numbers.CLIENT_PHONE_GUARD) or attempt == LINK_RACE_ATTEMPTS:
                raise
            logger.info("a number was linked to the phone being deleted: unlinking it too", extra={"attempt": attempt})
            state_change = _deletion(record)
    raise AssertionError("unreachable: the loop returns or raises")


def delete_client_phone(ctx: CallContext, record: ClientPhoneRecord) -> DeleteResult:
    # Every read before Twilio acts: a failure after it would leave the record pointing to a deleted caller ID.
    state_change = _deletion(record)
    ctx.meter.hold()
    caller_id_sid = record.caller_id_sid
    if not caller_id_sid:
        # Only a caller ID tagged with this record is its own (its verification's answer was lost): the number's
        # caller ID may be another org's, or one a person made at the console.
        found = gateway.find_caller_id(account_of(record.org_id), record.phone_number, tagged_for=record.id)
        caller_id_sid = found.sid if found else None
    if caller_id_sid is None:
        twilio_response = "no outgoing caller ID at Twilio"
    elif gateway.delete_caller_id(account_of(record.org_id), caller_id_sid):
        twilio_response = f"outgoing caller ID {caller_id_sid} deleted"
    else:
        twilio_response = f"outgoing caller ID {caller_id_sid} was already deleted"
    try:
        state_change = _commit_deletion(ctx, record, state_change)
    except Exception as failure:
        if isinstance(failure, ConditionFailed) and failure.failed(numbers.NUMBER):
            raise NotFound("No phone number with this id.") from failure
        if caller_id_sid:
            record_without_charge(state_change, callerIdSid=caller_id_sid, numberId=record.id)
        raise
    if record.hold:  # its add never settled it (Twilio's answer was lost): what it held comes back with the phone
        with suppress(ConditionFailed):  # closed meanwhile
            ledger.refund(record.hold)
    return DeleteResult(
        phoneNumber=record.phone_number,
        twillioResponse=twilio_response,
        dbResponse=f"client phone {record.id} deleted",
    )
