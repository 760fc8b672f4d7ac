"""Client phones: an org's own numbers, verified by Twilio as outgoing caller IDs."""

from datetime import UTC, datetime, timedelta
from typing import Any

from robotappel.callbacks import VALIDATION_STATUS_PATH
from robotappel.caller import CallContext
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, Item, transact
from robotappel.errors import Conflict, DomainError, NotFound
from robotappel.ids import new_id, now_iso
from robotappel.models.client_phones import AddPhoneNumberDto, ClientOrgPhone, ClientPhoneCreated
from robotappel.models.listing import DeleteResult
from robotappel.numbers.compensation import record_without_charge

# Twilio does not always deliver the verification callback: past this age a pending number is asked about.
PENDING_RECHECK_AFTER = timedelta(minutes=3)


def add_client_phone(ctx: CallContext, dto: AddPhoneNumberDto) -> ClientPhoneCreated:
    from robotappel.twilio import gateway

    org_id = ctx.caller.org_id
    if numbers.client_phone_exists(org_id, dto.phoneNumber):
        raise _already_registered(dto.phoneNumber)
    ctx.meter.hold()
    friendly_name = dto.friendlyName or dto.phoneNumber
    validation = gateway.request_caller_id_validation(
        dto.phoneNumber, friendly_name, status_callback=ctx.public_base_url + VALIDATION_STATUS_PATH
    )
    item = {
        "id": new_id(numbers.CLIENT_PHONE),
        "orgId": org_id,
        "kind": "client",
        "phoneNumber": dto.phoneNumber,
        "friendlyName": friendly_name,
        "status": "pending",
        "validationCallSid": validation.call_sid,
        "createdAt": now_iso(),
    }
    try:
        ctx.meter.commit(numbers.put_client_phone(item))
    except ConditionFailed as failure:
        if failure.failed_at(0):  # registered by a concurrent call meanwhile
            raise _already_registered(dto.phoneNumber) from failure
        raise
    return ClientPhoneCreated(
        id=item["id"], phoneNumber=dto.phoneNumber, validationCode=validation.validation_code, status="pending"
    )


def _already_registered(phone: str) -> Conflict:
    return Conflict(f"{phone} is already registered for this organisation.", code="already_exists")


def list_client_phones(ctx: CallContext, requested_org_id: str | None) -> list[ClientOrgPhone]:
    org_id = ctx.caller.readable_org(requested_org_id)
    return [client_org_phone(_rechecked_if_stale(item)) for item in numbers.list_numbers(org_id, numbers.CLIENT_PHONE)]


def delete_client_phone(ctx: CallContext, item: Item) -> DeleteResult:
    from robotappel.twilio import gateway

    # Every read before Twilio acts: a failure after it would leave the record pointing to a deleted caller ID.
    # A Twilio number linked to this phone loses the link in the same transaction: no link may outlive its phone.
    state_change = numbers.delete_client_phone(item["orgId"], item["id"], item["phoneNumber"])
    linked = numbers.find_linked_twilio_number(item["orgId"], item["phoneNumber"])
    if linked:
        state_change += numbers.update_number(item["orgId"], linked["id"], {}, removals=("clientPhoneNumber",))
    ctx.meter.hold()
    caller_id_sid = item.get("callerIdSid")
    if not caller_id_sid:
        found = gateway.find_caller_id(item["phoneNumber"])
        caller_id_sid = found.sid if found else None
    if caller_id_sid is None:
        twilio_response = "no outgoing caller ID at Twilio"
    elif gateway.delete_caller_id(caller_id_sid):
        twilio_response = f"outgoing caller ID {caller_id_sid} deleted"
    else:
        twilio_response = f"outgoing caller ID {caller_id_sid} was already deleted"
    try:
        ctx.meter.commit(state_change)
    except ConditionFailed as failure:
        raise NotFound("No phone number with this id.") from failure
    except Exception:
        if caller_id_sid:
            record_without_charge(state_change, callerIdSid=caller_id_sid, numberId=item["id"])
        raise
    return DeleteResult(
        phoneNumber=item["phoneNumber"],
        twillioResponse=twilio_response,
        dbResponse=f"client phone {item['id']} deleted",
    )


def record_verification(item: Item, verified: bool, caller_id_sid: str | None) -> Item:
    """Apply a verification outcome to a pending client phone (a repeated outcome changes nothing)."""
    if item["status"] != "pending":
        return item
    changes: dict[str, Any] = {"status": "verified" if verified else "failed"}
    if verified:
        changes |= {"verifiedAt": now_iso(), "callerIdSid": caller_id_sid}
    try:
        transact(numbers.update_number(item["orgId"], item["id"], changes, only_if_status="pending"))
    except ConditionFailed:
        return item  # settled meanwhile by another delivery of the callback, or deleted
    return {**item, **changes}


def _rechecked_if_stale(item: Item) -> Item:
    if item["status"] != "pending" or _age(item) < PENDING_RECHECK_AFTER:
        return item
    from robotappel.twilio import gateway

    try:
        caller_id = gateway.find_caller_id(item["phoneNumber"])
    except DomainError:
        return item  # a list must not fail because Twilio does: the next read asks again
    if caller_id is None:
        return item
    return record_verification(item, verified=True, caller_id_sid=caller_id.sid)


def _age(item: Item) -> timedelta:
    return datetime.now(UTC) - datetime.fromisoformat(item["createdAt"])


def client_org_phone(item: Item) -> ClientOrgPhone:
    return ClientOrgPhone(
        id=item["id"],
        orgId=item["orgId"],
        phoneNumber=item["phoneNumber"],
        friendlyName=item["friendlyName"],
        status=item["status"],
        createdAt=item["createdAt"],
        verifiedAt=item.get("verifiedAt"),
    )
