"""Twilio's callbacks: where Twilio calls back, and what each callback changes. Free, and safe to receive twice.

The routes receive only callbacks whose X-Twilio-Signature is valid, made by one of our orgs' subaccounts
(`robotappel.api.webhooks`): a callback changes records of that org only. A callback URL names the record it is for
(`<path>/<record id>`), and Twilio signs that URL: a callback changes that record and no other. The paths without an
id are the ones Twilio was given before (numbers bought before keep them as their StatusCallback): they change only
the record they can tell for sure.
"""

from dataclasses import dataclass

from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import ClientPhoneRecord, NumberRecord, TwilioNumberRecord
from robotappel.numbers.verification import record_verification
from robotappel.observability import logger

# A callback's full URL is the public base URL + its path + "/" + the record's id; that URL is what Twilio signs.
VALIDATION_STATUS_PATH = "/phoneNumber/twilio/validationStatus"
CALL_STATUS_PATH = "/phoneNumber/twilio/callStatus"


@dataclass(frozen=True)
class Callback:
    """A callback's form parameters, signed by the subaccount of org `org_id`."""

    params: dict[str, str]
    org_id: str


# CallStatus values of a call that took place; Twilio also reports queued/ringing/in-progress/busy/no-answer.
COUNTED_CALL_STATUSES = {"completed"}


def validation_status_url(public_base_url: str, record_id: str) -> str:
    return f"{public_base_url}{VALIDATION_STATUS_PATH}/{record_id}"


def call_status_url(public_base_url: str, record_id: str) -> str:
    return f"{public_base_url}{CALL_STATUS_PATH}/{record_id}"


def on_validation_status(callback: Callback, record_id: str | None = None) -> dict[str, int]:
    """VerificationStatus of a caller-ID validation call -> the client phone it was for is verified or failed.

    The record is the one the URL names, and the call must be its verification call: the CallSid it recorded, or
    none yet (the callback came before the add recorded Twilio's answer, while it still holds the add's hold). A
    callback on the path without an id matches a record by its recorded CallSid only."""
    params = callback.params
    phone, call_sid = params.get("To") or params.get("PhoneNumber", ""), params.get("CallSid", "")
    verified = params.get("VerificationStatus") == "success"
    client_phones = [
        record
        for record in numbers.find_by_phone_number(phone)
        if isinstance(record, ClientPhoneRecord) and record.org_id == callback.org_id
    ]
    matching = [record for record in client_phones if _verified_by(record, call_sid, record_id)]
    for record in matching:
        record_verification(record, verified=verified, caller_id_sid=params.get("OutgoingCallerIdSid"))
    if not client_phones and verified:
        _delete_unrecorded_caller_id(params["AccountSid"], params.get("OutgoingCallerIdSid", ""))
    return {"updated": len(matching)}


def _verified_by(record: ClientPhoneRecord, call_sid: str, record_id: str | None) -> bool:
    """Is the verification call `call_sid`, reported for `record_id`, this record's?"""
    if record_id is not None and record.id != record_id:
        return False
    if call_sid and record.validation_call_sid == call_sid:
        return True
    # The callback came before the add recorded Twilio's answer (or that answer was lost): the add's hold is open.
    return record_id is not None and record.validation_call_sid is None and record.hold is not None


def _delete_unrecorded_caller_id(account: str, caller_id_sid: str) -> None:
    """A verification the org did not record (its client phone was deleted while Twilio called it) leaves a caller
    ID in the org's subaccount that it may not use: it is deleted again."""
    if not caller_id_sid:
        return
    # Here only: the webhooks check signatures at every call, and load the REST client for this rare case alone.
    from robotappel.twilio import gateway

    logger.warning("deleting a caller ID verified for no recorded client phone", extra={"callerIdSid": caller_id_sid})
    gateway.delete_caller_id(account, caller_id_sid)


def on_call_status(callback: Callback, record_id: str | None = None) -> dict[str, int]:
    """A finished call counts once (per CallSid, whatever Twilio retries, however late) for the record the URL
    names, if that record is the org's and has the number the call used. A callback on the path without an id (a
    number's StatusCallback from before ids) counts for the org's one live Twilio number of that number, never for
    its client phones."""
    params = callback.params
    if params.get("CallStatus") not in COUNTED_CALL_STATUSES:
        return {"counted": 0}
    inbound = params.get("Direction", "inbound") == "inbound"
    phone = params.get("To" if inbound else "From", "")
    records: list[NumberRecord] = [
        record
        for record in numbers.find_by_phone_number(phone)
        if record.org_id == callback.org_id
        and (record.id == record_id if record_id is not None else isinstance(record, TwilioNumberRecord))
    ]
    counted = 0
    for record in records[:1]:  # ids are unique, and an org's subaccount owns a number once
        try:
            transact(numbers.count_call(record, params.get("CallSid", "")))
            counted += 1
        except ConditionFailed as failure:
            if not failure.failed(numbers.CALL_MARKER):
                raise
    return {"counted": counted}
