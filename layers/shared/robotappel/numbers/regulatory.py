"""An org's regulatory defaults: the bundle and address Twilio requires to sell it numbers of one type in one
country (France: every type), used by purchases that name none.

A default is checked at Twilio as Twilio checks a purchase: the bundle is approved and was made for this country and
number type (its Regulation), and the address exists and, for French numbers other than toll-free, is in France
(Twilio's France terms forbid assigning them extraterritorially).

`provisionally-approved` bundles are refused: Twilio may still reject such a bundle after review, and with it the
numbers bought under it; it can become a default once Twilio approves it (`twilio-approved`).
"""

from robotappel.caller import Caller
from robotappel.dal import numbers
from robotappel.dal.numbers import RegulatoryDefaultRecord
from robotappel.errors import InvalidInput
from robotappel.ids import now_iso
from robotappel.models.phone import FRENCH_REGIONS, NumberType, parse_country
from robotappel.models.twilio_numbers import RegulatoryDefault, RegulatoryDefaultDto
from robotappel.numbers.views import regulatory_default
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway

APPROVED = "twilio-approved"
PROVISIONALLY_APPROVED = "provisionally-approved"
# The API's numberType -> Twilio's bundle NumberType (Numbers v2 Regulations and Bundles).
TWILIO_NUMBER_TYPES: dict[NumberType, str] = {
    "local": "local",
    "mobile": "mobile",
    "national": "national",
    "tollFree": "toll-free",
}


def set_regulatory_default(caller: Caller, raw_country_code: str, dto: RegulatoryDefaultDto) -> RegulatoryDefault:
    """Checked at Twilio first: a default that Twilio would refuse at every purchase is refused now. A PUT without
    addressSid keeps the address the default has."""
    try:
        country_code = parse_country(raw_country_code)
    except ValueError as error:
        raise InvalidInput("countryCode", str(error)) from error
    _check_bundle(account_of(caller.org_id), dto.bundleSid, country_code, dto.numberType)
    stored = numbers.get_regulatory_default(caller.org_id, country_code, dto.numberType)
    address_sid = dto.addressSid or (stored.address_sid if stored else None)
    if address_sid is None:
        raise InvalidInput(
            "addressSid",
            f"Twilio sells {country_code} {dto.numberType} numbers only with an address, and this default has none: "
            "give addressSid, the SID of an address of your Twilio account (AD…).",
            code="address_required",
        )
    _check_address(account_of(caller.org_id), address_sid, country_code, dto.numberType)
    record = RegulatoryDefaultRecord(
        org_id=caller.org_id,
        country_code=country_code,
        number_type=dto.numberType,
        bundle_sid=dto.bundleSid,
        address_sid=address_sid,
        updated_at=now_iso(),
    )
    numbers.put_regulatory_default(record)
    return regulatory_default(record)


def _needs_address_in_france(country_code: str, number_type: NumberType) -> bool:
    return country_code in FRENCH_REGIONS and number_type != "tollFree"


def _check_bundle(account: str, bundle_sid: str, country_code: str, number_type: NumberType) -> None:
    bundle = gateway.fetch_bundle(account, bundle_sid)
    if bundle is None:
        raise InvalidInput("bundleSid", "Twilio has no regulatory bundle with this SID.", code="bundle_not_found")
    if bundle.status == PROVISIONALLY_APPROVED:
        raise InvalidInput(
            "bundleSid",
            "This regulatory bundle is only provisionally approved at Twilio, which may still reject it and the "
            "numbers bought with it: set it as the default once Twilio approves it (twilio-approved).",
            code="bundle_not_approved",
        )
    if bundle.status != APPROVED:
        message = f"This regulatory bundle is {bundle.status} at Twilio, not approved."
        raise InvalidInput("bundleSid", message, code="bundle_not_approved")
    regulation = gateway.fetch_regulation(account, bundle.regulation_sid)
    wanted = TWILIO_NUMBER_TYPES[number_type]
    if (regulation.iso_country, regulation.number_type) != (country_code, wanted):
        raise InvalidInput(
            "bundleSid",
            f"This bundle was made for {regulation.iso_country} {regulation.number_type} numbers, and Twilio accepts "
            f"a bundle only for its own country and number type: a default for {country_code} {number_type} numbers "
            f"needs a bundle made with IsoCountry={country_code} and NumberType={wanted}.",
            code="bundle_mismatch",
        )


def _check_address(account: str, address_sid: str, country_code: str, number_type: NumberType) -> None:
    address = gateway.fetch_address(account, address_sid)
    if address is None:
        raise InvalidInput("addressSid", "Twilio has no address with this SID.", code="address_not_found")
    if _needs_address_in_france(country_code, number_type) and address.iso_country not in FRENCH_REGIONS:
        raise InvalidInput(
            "addressSid",
            f"This address is in {address.iso_country}: Twilio does not assign French {number_type} numbers "
            "outside France (its France terms; only toll-free numbers may be), give an address in France.",
            code="address_outside_country",
        )
