"""Twilio callbacks: the routes Twilio calls back and what one such call carries.

A callback's full URL is the public base URL + its path; that URL is what Twilio signs.
"""

from dataclasses import dataclass

VALIDATION_STATUS_PATH = "/phoneNumber/twilio/validationStatus"
CALL_STATUS_PATH = "/phoneNumber/twilio/callStatus"


@dataclass(frozen=True)
class TwilioCallback:
    url: str
    params: dict[str, str]
    signature: str
