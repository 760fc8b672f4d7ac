"""Twilio's callbacks: authenticated by X-Twilio-Signature only, free, and safe to receive twice."""

from robotappel.callbacks import TwilioCallback
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.errors import Forbidden
from robotappel.numbers.client_phones import record_verification
from robotappel.observability import logger

# CallStatus values of a call that took place; Twilio also reports queued/ringing/in-progress/busy/no-answer.
COUNTED_CALL_STATUSES = {"completed"}


def _verify(callback: TwilioCallback) -> None:
    from robotappel.twilio import gateway

    if not callback.signature or not gateway.is_valid_signature(callback.url, callback.params, callback.signature):
        raise Forbidden("The X-Twilio-Signature of this request is not valid.")


def on_validation_status(callback: TwilioCallback) -> dict[str, int]:
    """VerificationStatus of a caller-ID validation call -> the client phone is verified or failed."""
    _verify(callback)
    params = callback.params
    phone, call_sid = params.get("To") or params.get("PhoneNumber", ""), params.get("CallSid", "")
    verified = params.get("VerificationStatus") == "success"
    client_phones = [item for item in numbers.find_by_phone_number(phone) if item.get("kind") == "client"]
    matching = [item for item in client_phones if item.get("validationCallSid") == call_sid]
    for item in matching:
        record_verification(item, verified=verified, caller_id_sid=params.get("OutgoingCallerIdSid"))
    if not client_phones and verified:
        _delete_unrecorded_caller_id(params.get("OutgoingCallerIdSid", ""))
    return {"updated": len(matching)}


def _delete_unrecorded_caller_id(caller_id_sid: str) -> None:
    """A verification no org recorded (its addClientPhone failed after asking Twilio) leaves a caller ID at
    Twilio that nobody may use: it is deleted again."""
    from robotappel.twilio import gateway

    if not caller_id_sid:
        return
    logger.warning("deleting a caller ID verified for no recorded client phone", extra={"callerIdSid": caller_id_sid})
    gateway.delete_caller_id(caller_id_sid)


def on_call_status(callback: TwilioCallback) -> dict[str, int]:
    """A finished call counts once (per CallSid, whatever Twilio retries) for the number it used."""
    _verify(callback)
    params = callback.params
    if params.get("CallStatus") not in COUNTED_CALL_STATUSES:
        return {"counted": 0}
    inbound = params.get("Direction", "inbound") == "inbound"
    phone = params.get("To" if inbound else "From", "")
    counted = 0
    for item in numbers.find_by_phone_number(phone):
        try:
            transact(numbers.count_call(item["orgId"], item["id"], params.get("CallSid", "")))
            counted += 1
        except ConditionFailed as failure:
            if not failure.failed_at(0):
                raise
    return {"counted": counted}
