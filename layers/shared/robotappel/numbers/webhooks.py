"""Twilio's callbacks: where Twilio calls back, and what each callback changes. Free, and safe to receive twice.

The routes receive only callbacks whose X-Twilio-Signature is valid (`robotappel.api.webhooks`). A callback URL
names the record it is for (`<path>/<record id>`), and Twilio signs that URL: a callback changes that record and
no other, never a record of another org. The paths without an id are the ones Twilio was given before (numbers
bought before keep them as their StatusCallback): they change only the record they can tell for sure.
"""

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord, NumberRecord, TwilioNumberRecord
from robotappel.numbers.verification import record_verification
from robotappel.observability import logger

# A callback's full URL is the public base URL + its path + "/" + the record's id; that URL is what Twilio signs.
VALIDATION_STATUS_PATH = "/phoneNumber/twilio/validationStatus"
CALL_STATUS_PATH = "/phoneNumber/twilio/callStatus"

# CallStatus values of a call that took place; Twilio also reports queued/ringing/in-progress/busy/no-answer.
COUNTED_CALL_STATUSES = {"completed"}


def validation_status_url(public_base_url: str, record_id: str) -> str:
    return f"{public_base_url}{VALIDATION_STATUS_PATH}/{record_id}"


def call_status_url(public_base_url: str, record_id: str) -> str:
    return f"{public_base_url}{CALL_STATUS_PATH}/{record_id}"


def on_validation_status(params: dict[str, str], record_id: str | None = None) -> dict[str, int]:
    """VerificationStatus of a caller-ID validation call -> the client phone it was for is verified or failed.

    The record is the one the URL names, and the call must be its verification call: the CallSid it recorded, or
    none yet (the callback came before the add recorded Twilio's answer, while it still holds the add's hold). A
    callback on the path without an id matches a record by its recorded CallSid only."""
    phone, call_sid = params.get("To") or params.get("PhoneNumber", ""), params.get("CallSid", "")
    verified = params.get("VerificationStatus") == "success"
    client_phones = [record for record in numbers.find_by_phone_number(phone) if isinstance(record, ClientPhoneRecord)]
    matching = [record for record in client_phones if _verified_by(record, call_sid, record_id)]
    for record in matching:
        record_verification(record, verified=verified, caller_id_sid=params.get("OutgoingCallerIdSid"))
    if not client_phones and verified:
        _delete_unrecorded_caller_id(params.get("OutgoingCallerIdSid", ""))
    return {"updated": len(matching)}


def _verified_by(record: ClientPhoneRecord, call_sid: str, record_id: str | None) -> bool:
    """Is the verification call `call_sid`, reported for `record_id`, this record's?"""
    if record_id is not None and record.id != record_id:
        return False
    if call_sid and record.validation_call_sid == call_sid:
        return True
    # The callback came before the add recorded Twilio's answer (or that answer was lost): the add's hold is open.
    return record_id is not None and record.validation_call_sid is None and record.hold is not None


def _delete_unrecorded_caller_id(caller_id_sid: str) -> None:
    """A verification no org recorded (its client phone was deleted while Twilio called it) leaves a caller ID at
    Twilio that nobody may use: it is deleted again."""
    if not caller_id_sid:
        return
    # Here only: the webhooks check signatures at every call, and load the REST client for this rare case alone.
    from robotappel.twilio import gateway

    logger.warning("deleting a caller ID verified for no recorded client phone", extra={"callerIdSid": caller_id_sid})
    gateway.delete_caller_id(caller_id_sid)


def on_call_status(params: dict[str, str], record_id: str | None = None) -> dict[str, int]:
    """A finished call counts once (per CallSid, whatever Twilio retries, however late) for the record the URL
    names, if that record has the number the call used. A callback on the path without an id (a number's
    StatusCallback from before ids) counts for the one live Twilio number of that number, never for client phones:
    several orgs may have the same one."""
    if params.get("CallStatus") not in COUNTED_CALL_STATUSES:
        return {"counted": 0}
    inbound = params.get("Direction", "inbound") == "inbound"
    phone = params.get("To" if inbound else "From", "")
    records: list[NumberRecord] = [
        record
        for record in numbers.find_by_phone_number(phone)
        if (record.id == record_id if record_id is not None else isinstance(record, TwilioNumberRecord))
    ]
    counted = 0
    for record in records[:1]:  # ids are unique, and the account owns a number once
        try:
            transact(numbers.count_call(record, params.get("CallSid", "")))
            counted += 1
        except ConditionFailed as failure:
            if not failure.failed(numbers.CALL_MARKER):
                raise
    return {"counted": counted}
