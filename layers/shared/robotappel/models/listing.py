from typing import Literal

from pydantic import BaseModel

from robotappel.models.phone import AutomatedCalling


class OrgPhoneNumberItem(BaseModel):
    """The seed's row format: every value a string."""

    id: str
    phoneNumber: str
    friendlyName: str
    status: str
    totalCalls: str
    createdAt: str
    direction: Literal["outbound", "inbound"]
    twilioNumber: str
    phoneNumberSid: str
    automatedCalling: AutomatedCalling
    automatedCallingRule: str


class DeleteResult(BaseModel):
    phoneNumber: str
    twillioResponse: str
    dbResponse: str


class TokenBalance(BaseModel):
    orgId: str
    balance: int
