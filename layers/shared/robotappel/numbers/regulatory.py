"""An org's regulatory defaults: the bundle (and address) Twilio requires to sell it numbers of one type in one
country (France: every type), used by purchases that name none."""

from robotappel.caller import Caller
from robotappel.dal import numbers
from robotappel.dal.numbers import RegulatoryDefaultRecord
from robotappel.errors import InvalidInput
from robotappel.ids import now_iso
from robotappel.models.phone import parse_country
from robotappel.models.twilio_numbers import RegulatoryDefault, RegulatoryDefaultDto
from robotappel.numbers.views import regulatory_default
from robotappel.twilio import gateway

APPROVED = "twilio-approved"


def set_regulatory_default(caller: Caller, raw_country_code: str, dto: RegulatoryDefaultDto) -> RegulatoryDefault:
    """Checked at Twilio first: a default that Twilio would refuse at every purchase is refused now."""
    try:
        country_code = parse_country(raw_country_code)
    except ValueError as error:
        raise InvalidInput("countryCode", str(error)) from error
    status = gateway.fetch_bundle_status(dto.bundleSid)
    if status is None:
        raise InvalidInput("bundleSid", "Twilio has no regulatory bundle with this SID.", code="bundle_not_found")
    if status != APPROVED:
        raise InvalidInput(
            "bundleSid", f"This regulatory bundle is {status} at Twilio, not approved.", code="bundle_not_approved"
        )
    record = RegulatoryDefaultRecord(
        org_id=caller.org_id,
        country_code=country_code,
        number_type=dto.numberType,
        bundle_sid=dto.bundleSid,
        address_sid=dto.addressSid,
        updated_at=now_iso(),
    )
    numbers.put_regulatory_default(record)
    return regulatory_default(record)
