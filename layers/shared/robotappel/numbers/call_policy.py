"""What a customer may make the platform's Twilio account do, which the platform pays for: where its numbers fetch
their call instructions (voiceUrl), and which phones Twilio calls to verify them."""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import HttpUrl

from robotappel.config import get_settings
from robotappel.errors import InvalidInput
from robotappel.ids import iso

HTTPS_PORT = 443
# phonenumbers' types of the phones a verification call may ring (US and CA numbers are FIXED_LINE_OR_MOBILE).
VERIFIABLE_TYPES = frozenset({"MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE", "VOIP"})
# A failed verification must not restart at once, again and again: one org has Twilio call one phone at most this
# often (each add that asks Twilio to call counts, whatever Twilio then does).
VERIFICATION_CALLS_PER_PERIOD = 3
VERIFICATION_CALL_PERIOD = timedelta(hours=1)


def require_platform_voice_url(voice_url: HttpUrl | None) -> None:
    """A number's voiceUrl runs its calls on the platform's account (TwiML can <Dial> anywhere, present any caller
    ID, post signed callbacks): only a host of the platform's allow-list, on the default https port, no userinfo."""
    if voice_url is None:
        return
    allowed = get_settings().allowed_voice_url_hosts
    if voice_url.username is not None or voice_url.password is not None:
        raise InvalidInput("voiceUrl", "A voiceUrl may not carry a user name or password.")
    if voice_url.port != HTTPS_PORT:
        raise InvalidInput("voiceUrl", "A voiceUrl uses https's default port.")
    if voice_url.host not in allowed:
        raise InvalidInput("voiceUrl", f"A voiceUrl must be on a host of the platform: {', '.join(sorted(allowed))}.")


def require_verifiable(e164: str) -> None:
    """Twilio's verification call is paid by the platform: only mobile, fixed-line and VoIP phones of the allowed
    countries are called, never premium-rate, shared-cost, satellite or other numbers."""
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    kind = phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(number))
    country = phonenumbers.region_code_for_number(number)
    if kind not in VERIFIABLE_TYPES:
        raise _not_verifiable(f"{e164} is not a mobile, fixed-line or VoIP number ({kind.lower()}): it is not called.")
    if country not in get_settings().verification_countries:
        raise _not_verifiable(f"{e164} is a number of a country ({country}) whose phones are not called.")


def verification_call_wait(times: Sequence[str], now: datetime) -> int:
    """Seconds until one more verification call to a phone is allowed (0: now), given the org's calls to it."""
    recent = sorted(at for at in map(datetime.fromisoformat, times) if at > now - VERIFICATION_CALL_PERIOD)
    if len(recent) < VERIFICATION_CALLS_PER_PERIOD:
        return 0
    freed_at = recent[-VERIFICATION_CALLS_PER_PERIOD] + VERIFICATION_CALL_PERIOD
    return max(1, math.ceil((freed_at - now).total_seconds()))


def verification_calls_after(times: Sequence[str], now: datetime) -> tuple[str, ...]:
    """The calls that still count once one more is placed `now`: the ones of the last period, and it."""
    recent = sorted(at for at in times if datetime.fromisoformat(at) > now - VERIFICATION_CALL_PERIOD)
    return (*recent[-(VERIFICATION_CALLS_PER_PERIOD - 1) :], iso(now))


def _not_verifiable(message: str) -> InvalidInput:
    return InvalidInput("phoneNumber", message, code="number_type_not_allowed")
