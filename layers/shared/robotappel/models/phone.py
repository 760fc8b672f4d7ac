"""Phone numbers and countries, parsed with `phonenumbers` (imported on first use: it costs cold-start time)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

DEFAULT_COUNTRY = "FR"
# France's numbering plan by phonenumbers region: metropolitan France (+33) and the overseas departments and
# communities with their own country codes, +590 (Guadeloupe, Saint-Barthélemy, Saint-Martin), +594 (Guyane),
# +596 (Martinique), +262 (Réunion, Mayotte).
METROPOLITAN = ("FR",)
OVERSEAS = ("GP", "BL", "MF", "GF", "MQ", "RE", "YT")
FRENCH_REGIONS = METROPOLITAN + OVERSEAS
NumberType = Literal["local", "mobile", "tollFree", "national"]
AutomatedCalling = Literal["allowed", "forbidden", "not_assessed"]


def parse_e164(raw: str, country: str | None = None) -> str:
    """Any format phonenumbers understands (national with `country`, or international) -> E.164.

    Raises ValueError with a sentence fit for the API's 422 message.
    """
    import phonenumbers

    region = (country or DEFAULT_COUNTRY).upper()
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{raw!r} is not a phone number{_national_hint(raw, region)}") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number{_national_hint(raw, region)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _national_hint(raw: str, region: str) -> str:
    """What to do when a number written without its country code was read as a number of `region`: a US number
    sent as "415 555 0100" is read as French, and invalid as such."""
    if raw.strip().startswith("+"):
        return ""
    return (
        f": without a leading + it is read as a number of {region}; "
        "write it in international format, e.g. +1 415 555 0100"
    )


# phonenumbers' type names -> Twilio's number lists (AvailablePhoneNumbers Local, Mobile, TollFree, National).
_TWILIO_TYPES: dict[str, NumberType] = {
    "FIXED_LINE": "local",
    "FIXED_LINE_OR_MOBILE": "local",
    "MOBILE": "mobile",
    "TOLL_FREE": "tollFree",
    "VOIP": "national",
    "UAN": "national",
    "PERSONAL_NUMBER": "national",
}


def number_type(e164: str) -> NumberType | None:
    """The Twilio number type `e164` really has, or None when it is none of them (premium rate, shared cost...)."""
    import phonenumbers

    found = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return _TWILIO_TYPES.get(phonenumbers.PhoneNumberType.to_string(found))


def country_of(e164: str) -> str:
    """The ISO 3166-1 alpha-2 country of a valid E.164 number."""
    import phonenumbers

    return str(phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)))


def parse_country(value: str) -> str:
    import phonenumbers

    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _e164(value: str) -> str:
    return parse_e164(value, None if value.startswith("+") else DEFAULT_COUNTRY)


CountryCode = Annotated[str, Field(min_length=2, max_length=2, examples=["FR"]), AfterValidator(parse_country)]
E164Number = Annotated[str, Field(max_length=32, examples=["+33612345678"]), AfterValidator(_e164)]
FriendlyName = Annotated[str, Field(min_length=1, max_length=64)]
