"""Twilio's callbacks: where Twilio calls back, and what each callback changes. Free, and safe to receive twice.

The routes receive only callbacks whose X-Twilio-Signature is valid (`robotappel.api.webhooks`).
"""

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.numbers.verification import record_verification
from robotappel.observability import logger
from robotappel.twilio import gateway

# A callback's full URL is the public base URL + its path; that URL is what Twilio signs.
VALIDATION_STATUS_PATH = "/phoneNumber/twilio/validationStatus"
CALL_STATUS_PATH = "/phoneNumber/twilio/callStatus"

# CallStatus values of a call that took place; Twilio also reports queued/ringing/in-progress/busy/no-answer.
COUNTED_CALL_STATUSES = {"completed"}


def on_validation_status(params: dict[str, str]) -> dict[str, int]:
    """VerificationStatus of a caller-ID validation call -> the client phone is verified or failed."""
    phone, call_sid = params.get("To") or params.get("PhoneNumber", ""), params.get("CallSid", "")
    verified = params.get("VerificationStatus") == "success"
    client_phones = [
        record for record in numbers.find_by_phone_number(phone) if isinstance(record, numbers.ClientPhoneRecord)
    ]
    # The callback may come before the add recorded Twilio's answer (its CallSid): a pending record without one
    # is then the one being verified.
    matching = [record for record in client_phones if record.validation_call_sid == call_sid] or [
        record for record in client_phones if record.status == "pending" and record.validation_call_sid is None
    ]
    for record in matching:
        record_verification(record, verified=verified, caller_id_sid=params.get("OutgoingCallerIdSid"))
    if not client_phones and verified:
        _delete_unrecorded_caller_id(params.get("OutgoingCallerIdSid", ""))
    return {"updated": len(matching)}


def _delete_unrecorded_caller_id(caller_id_sid: str) -> None:
    """A verification no org recorded (its client phone was deleted while Twilio called it) leaves a caller ID at
    Twilio that nobody may use: it is deleted again."""
    if not caller_id_sid:
        return
    logger.warning("deleting a caller ID verified for no recorded client phone", extra={"callerIdSid": caller_id_sid})
    gateway.delete_caller_id(caller_id_sid)


def on_call_status(params: dict[str, str]) -> dict[str, int]:
    """A finished call counts once (per CallSid, whatever Twilio retries) for the number it used."""
    if params.get("CallStatus") not in COUNTED_CALL_STATUSES:
        return {"counted": 0}
    inbound = params.get("Direction", "inbound") == "inbound"
    phone = params.get("To" if inbound else "From", "")
    counted = 0
    for record in numbers.find_by_phone_number(phone):
        try:
            transact(numbers.count_call(record, params.get("CallSid", "")))
            counted += 1
        except ConditionFailed as failure:
            if not failure.failed(numbers.CALL_MARKER):
                raise
    return {"counted": counted}
