"""Records as the API shows them: one mapping from each stored kind to each API model that carries it.

Whether a number may place automated calls is assessed when it is shown, so an amended rule table applies to
every number at once.
"""

from typing import Any

from robotappel.dal.numbers import ClientPhoneRecord, NumberRecord, RegulatoryDefaultRecord, TwilioNumberRecord
from robotappel.models.client_phones import ClientOrgPhone
from robotappel.models.listing import OrgPhoneNumberItem
from robotappel.models.twilio_numbers import InboundClientNumber, RegulatoryDefault, TwilioNumber
from robotappel.numbers.automated_calling import assess


def _automated_calling(e164: str, *, verified_caller_id: bool = False) -> dict[str, Any]:
    assessment = assess(e164, verified_caller_id=verified_caller_id)
    return {"automatedCalling": assessment.status, "automatedCallingRule": assessment.rule}


def client_org_phone(record: ClientPhoneRecord) -> ClientOrgPhone:
    return ClientOrgPhone.model_validate(
        {**record.model_dump(by_alias=True), **_automated_calling(record.phone_number, verified_caller_id=True)}
    )


def twilio_number(record: TwilioNumberRecord) -> TwilioNumber:
    return TwilioNumber.model_validate({**record.model_dump(by_alias=True), **_automated_calling(record.phone_number)})


def inbound_client_number(record: TwilioNumberRecord, client_phone: str) -> InboundClientNumber:
    return InboundClientNumber(
        clientPhoneNumber=client_phone,
        twilioNumber=record.phone_number,
        phoneNumberSid=record.phone_number_sid,
        orgId=record.org_id,
        id=record.id,
    )


def org_list_row(record: NumberRecord, linked: TwilioNumberRecord | None) -> OrgPhoneNumberItem:
    """A Twilio number is an inbound row; a client phone an outbound one, with the Twilio number linked to it."""
    twilio = record if isinstance(record, TwilioNumberRecord) else linked
    return OrgPhoneNumberItem.model_validate(
        {
            "id": record.id,
            "phoneNumber": record.phone_number,
            "friendlyName": record.friendly_name,
            "status": record.status,
            "totalCalls": str(record.total_calls),
            "createdAt": record.created_at,
            "direction": "inbound" if isinstance(record, TwilioNumberRecord) else "outbound",
            "twilioNumber": twilio.phone_number if twilio else "",
            "phoneNumberSid": twilio.phone_number_sid if twilio else "",
            **_automated_calling(record.phone_number, verified_caller_id=isinstance(record, ClientPhoneRecord)),
        }
    )


def regulatory_default(record: RegulatoryDefaultRecord) -> RegulatoryDefault:
    return RegulatoryDefault.model_validate(record.model_dump(by_alias=True))
