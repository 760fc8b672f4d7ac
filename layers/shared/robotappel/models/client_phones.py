from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from robotappel.models.phone import AutomatedCalling, CountryCode, FriendlyName, parse_e164

ClientPhoneStatus = Literal["pending", "verified", "failed"]


class AddPhoneNumberDto(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # country comes first: phoneNumber's validator reads it.
    country: CountryCode | None = None
    phoneNumber: str = Field(min_length=1, max_length=32, examples=["06 12 34 56 78"])
    friendlyName: FriendlyName | None = None

    @field_validator("phoneNumber")
    @classmethod
    def _to_e164(cls, value: str, info: ValidationInfo) -> str:
        return parse_e164(value, info.data.get("country"))


class ClientPhoneCreated(BaseModel):
    id: str
    phoneNumber: str
    validationCode: str
    status: ClientPhoneStatus


class ClientOrgPhone(BaseModel):
    id: str
    orgId: str
    phoneNumber: str
    friendlyName: str
    status: ClientPhoneStatus
    createdAt: str
    verifiedAt: str | None = None
    automatedCalling: AutomatedCalling = Field(description="May an automated calling system present it as caller ID")
    automatedCallingRule: str = Field(description="The rule that says so, and its source")
