from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from robotappel.models.phone import DEFAULT_COUNTRY, CountryCode, E164Number, FriendlyName, NumberType


def _https(url: HttpUrl | None) -> HttpUrl | None:
    if url is not None and url.scheme != "https":
        raise ValueError("must be an https URL")
    return url


class InboundParamsDto(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    countryCode: CountryCode = DEFAULT_COUNTRY
    numberType: NumberType = "local"
    areaCode: str | None = Field(default=None, pattern=r"^\d{1,6}$")
    contains: str | None = Field(default=None, pattern=r"^[0-9A-Za-z*+]{1,16}$")
    phoneNumber: E164Number | None = None
    clientPhoneNumber: E164Number | None = None
    friendlyName: FriendlyName | None = None
    voiceUrl: HttpUrl | None = None
    bundleSid: str | None = Field(default=None, pattern=r"^BU[0-9a-fA-F]{32}$")
    addressSid: str | None = Field(default=None, pattern=r"^AD[0-9a-fA-F]{32}$")

    _voice_url_is_https = field_validator("voiceUrl")(_https)

    @field_validator("numberType")
    @classmethod
    def _no_french_mobiles(cls, value: NumberType, info: ValidationInfo) -> NumberType:
        # Twilio's France terms forbid automated calls from mobile numbers.
        if value == "mobile" and info.data.get("countryCode") == "FR":
            raise ValueError("French mobile numbers may not place automated calls")
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


class InboundClientNumber(BaseModel):
    clientPhoneNumber: str
    twilioNumber: str
    phoneNumberSid: str
    orgId: str
    id: str
