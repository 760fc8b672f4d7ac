"""Client phones: an org's own numbers, verified by Twilio as outgoing caller IDs (add, delete)."""

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.errors import Conflict, NotFound
from robotappel.ids import new_id, now_iso
from robotappel.models.client_phones import AddPhoneNumberDto, ClientPhoneCreated
from robotappel.models.listing import DeleteResult
from robotappel.numbers.compensation import record_without_charge
from robotappel.numbers.context import CallContext
from robotappel.numbers.webhooks import VALIDATION_STATUS_PATH
from robotappel.twilio import gateway


def add_client_phone(ctx: CallContext, dto: AddPhoneNumberDto) -> ClientPhoneCreated:
    org_id = ctx.caller.org_id
    if numbers.client_phone_exists(org_id, dto.phoneNumber):
        raise _already_registered(dto.phoneNumber)
    ctx.meter.hold()
    friendly_name = dto.friendlyName or dto.phoneNumber
    validation = gateway.request_caller_id_validation(
        dto.phoneNumber, friendly_name, status_callback=ctx.public_base_url + VALIDATION_STATUS_PATH
    )
    record = ClientPhoneRecord(
        id=new_id(numbers.CLIENT_PHONE),
        org_id=org_id,
        phone_number=dto.phoneNumber,
        friendly_name=friendly_name,
        status="pending",
        validation_call_sid=validation.call_sid,
        created_at=now_iso(),
    )
    try:
        ctx.meter.commit(numbers.put_client_phone(record))
    except ConditionFailed as failure:
        if failure.failed(numbers.CLIENT_PHONE_GUARD):  # registered by a concurrent call meanwhile
            raise _already_registered(dto.phoneNumber) from failure
        raise
    return ClientPhoneCreated(
        id=record.id, phoneNumber=dto.phoneNumber, validationCode=validation.validation_code, status="pending"
    )


def _already_registered(phone: str) -> Conflict:
    return Conflict(f"{phone} is already registered for this organisation.", code="already_exists")


def delete_client_phone(ctx: CallContext, record: ClientPhoneRecord) -> DeleteResult:
    # Every read before Twilio acts: a failure after it would leave the record pointing to a deleted caller ID.
    # A Twilio number linked to this phone loses the link in the same transaction: no link may outlive its phone.
    state_change = numbers.delete_client_phone(record)
    linked = numbers.find_linked_twilio_number(record.org_id, record.phone_number)
    if linked:
        unlinked = linked.model_copy(update={"client_phone_number": None})
        state_change.append(numbers.save_number(linked, unlinked, name="linked_twilio_number"))
    ctx.meter.hold()
    caller_id_sid = record.caller_id_sid
    if not caller_id_sid:
        found = gateway.find_caller_id(record.phone_number)
        caller_id_sid = found.sid if found else None
    if caller_id_sid is None:
        twilio_response = "no outgoing caller ID at Twilio"
    elif gateway.delete_caller_id(caller_id_sid):
        twilio_response = f"outgoing caller ID {caller_id_sid} deleted"
    else:
        twilio_response = f"outgoing caller ID {caller_id_sid} was already deleted"
    try:
        ctx.meter.commit(state_change)
    except Exception as failure:
        if isinstance(failure, ConditionFailed) and failure.failed(numbers.NUMBER):
            raise NotFound("No phone number with this id.") from failure
        if caller_id_sid:
            record_without_charge(state_change, callerIdSid=caller_id_sid, numberId=record.id)
        raise
    return DeleteResult(
        phoneNumber=record.phone_number,
        twillioResponse=twilio_response,
        dbResponse=f"client phone {record.id} deleted",
    )
