"""Phone numbers and countries, parsed with `phonenumbers` (imported on first use: it costs cold-start time)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

DEFAULT_COUNTRY = "FR"
NumberType = Literal["local", "mobile", "tollFree", "national"]


def parse_e164(raw: str, country: str | None = None) -> str:
    """Any format phonenumbers understands (national with `country`, or international) -> E.164.

    Raises ValueError with a sentence fit for the API's 422 message.
    """
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, (country or DEFAULT_COUNTRY).upper())
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{raw!r} is not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _country(value: str) -> str:
    import phonenumbers

    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _e164(value: str) -> str:
    return parse_e164(value, None if value.startswith("+") else DEFAULT_COUNTRY)


CountryCode = Annotated[str, Field(min_length=2, max_length=2, examples=["FR"]), AfterValidator(_country)]
E164Number = Annotated[str, Field(max_length=32, examples=["+33612345678"]), AfterValidator(_e164)]
FriendlyName = Annotated[str, Field(min_length=1, max_length=64)]
