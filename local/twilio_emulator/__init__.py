"""A local emulator of the parts of Twilio's REST API the phone-number module uses (see SPEC.md, "Local run")."""

from local.twilio_emulator.api import RecordedRequest
from local.twilio_emulator.emulator import TwilioEmulator
from local.twilio_emulator.exchange import TwilioError

__all__ = ["RecordedRequest", "TwilioEmulator", "TwilioError"]
