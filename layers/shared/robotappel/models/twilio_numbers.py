from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from robotappel.models.phone import (
    DEFAULT_COUNTRY,
    FRENCH_REGIONS,
    AutomatedCalling,
    CountryCode,
    E164Number,
    FriendlyName,
    NumberType,
    country_of,
    number_type,
)

BundleSid = Annotated[str, Field(pattern=r"^BU[0-9a-fA-F]{32}$", examples=["BU" + "0123456789abcdef" * 2])]
AddressSid = Annotated[str, Field(pattern=r"^AD[0-9a-fA-F]{32}$", examples=["AD" + "0123456789abcdef" * 2])]
# Twilio's AvailablePhoneNumbers AreaCode "applies to only phone numbers in the US and Canada" (twilio_api_v2010).
AREA_CODE_COUNTRIES = ("US", "CA")
FRENCH_MOBILES_REFUSED = (
    "French mobile numbers, metropolitan or overseas, may not place automated calls (Twilio's France terms)"
)


def _https(url: HttpUrl | None) -> HttpUrl | None:
    if url is not None and url.scheme != "https":
        raise ValueError("must be an https URL")
    return url


class InboundParamsDto(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    countryCode: CountryCode = DEFAULT_COUNTRY
    numberType: NumberType = "local"
    areaCode: str | None = Field(default=None, pattern=r"^\d{1,6}$", description="US and Canada numbers only")
    # Twilio allows digits, letters and * in Contains; anything else is its error 20001 (a 502 for the client).
    contains: str | None = Field(default=None, pattern=r"^[0-9A-Za-z*]{1,16}$")
    # Its own example: E164Number's (a French mobile) is a number this route refuses to buy.
    phoneNumber: E164Number | None = Field(default=None, examples=["+15005550006"], description="Buy exactly this one")
    clientPhoneNumber: E164Number | None = None
    friendlyName: FriendlyName | None = None
    voiceUrl: HttpUrl | None = None
    bundleSid: BundleSid | None = Field(
        default=None, description="Regulatory bundle; default: the org's for this country and number type"
    )
    addressSid: AddressSid | None = Field(
        default=None, description="Address; default: the org's for this country and number type"
    )
    automatedCalling: bool = Field(
        default=False, description="Only numbers an automated calling system may present as caller ID"
    )

    _voice_url_is_https = field_validator("voiceUrl")(_https)

    @field_validator("areaCode")
    @classmethod
    def _area_codes_are_north_american(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("countryCode")
        if value is not None and country not in AREA_CODE_COUNTRIES:
            raise ValueError(
                f"areaCode applies only to US and Canada numbers at Twilio, not {country}: "
                "use contains (e.g. +331*) to choose the first digits"
            )
        return value

    @field_validator("numberType")
    @classmethod
    def _no_french_mobiles(cls, value: NumberType, info: ValidationInfo) -> NumberType:
        # Twilio's France terms forbid automated calls from mobile numbers.
        if value == "mobile" and info.data.get("countryCode") in FRENCH_REGIONS:
            raise ValueError(FRENCH_MOBILES_REFUSED)
        return value

    @field_validator("phoneNumber")
    @classmethod
    def _no_french_mobile_asked_by_number(cls, value: str | None) -> str | None:
        if value and country_of(value) in FRENCH_REGIONS and number_type(value) == "mobile":
            raise ValueError(FRENCH_MOBILES_REFUSED)
        return value


class UpdatePhoneNumberDto(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    friendlyName: FriendlyName | None = None
    voiceUrl: HttpUrl | None = None
    clientPhoneNumber: E164Number | Literal[""] | None = Field(
        default=None, description='Client phone to link; "" removes the link'
    )

    _voice_url_is_https = field_validator("voiceUrl")(_https)


class TwilioNumber(BaseModel):
    id: str
    orgId: str
    phoneNumber: str
    phoneNumberSid: str
    friendlyName: str
    countryCode: str
    numberType: NumberType
    voiceUrl: str
    clientPhoneNumber: str | None = None
    status: Literal["active"]
    createdAt: str
    automatedCalling: AutomatedCalling = Field(description="May an automated calling system present it as caller ID")
    automatedCallingRule: str = Field(description="The rule that says so, and its source")


class InboundClientNumber(BaseModel):
    clientPhoneNumber: str
    twilioNumber: str
    phoneNumberSid: str
    orgId: str
    id: str


class RegulatoryDefaultDto(BaseModel):
    """The org's regulatory bundle (and address) for purchases of one number type in one country."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    numberType: NumberType = "local"
    bundleSid: BundleSid
    addressSid: AddressSid | None = None


class RegulatoryDefault(BaseModel):
    countryCode: str
    numberType: NumberType
    bundleSid: str
    addressSid: str | None = None
    updatedAt: str
