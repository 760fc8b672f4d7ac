"""Drift: a number we own whose settings at Twilio are not its record's (an update applied at Twilio whose function
died before its record was written, or whose put-back failed too; a change made in Twilio's console). The record
is the truth: Twilio's VoiceUrl, StatusCallback and FriendlyName are set back to what it implies.

What a record implies: its tag and friendly name as FriendlyName (tags.tagged; a number bought without a name may
keep the tag it was bought with), its voiceUrl, and its own callback URL as StatusCallback (PublicBaseUrl +
callStatus/<id>, as a purchase sets it). A number bought before callbacks named their record (the path without an
id), or under another base URL (before a custom domain), is moved to it: the path without an id counts only the
calls it can tell for sure, and a callback not on PublicBaseUrl fails its signature check. Without a configured
PublicBaseUrl (local runs only: a deployment requires it) the StatusCallback is left as it is.

An update in flight writes Twilio first and its record after, conditioned on the record's version: a correction
between those two writes would set Twilio back under it. So a correction counts as a change of the record
(dal.numbers.count_change), written after Twilio: the update in flight then loses its race and applies itself
again on top, at Twilio and in the record. A change committed between the correction's read and its count wins
the same way: the correction is applied again from the newer record (ATTEMPTS times at most, then the next run).
"""

from robotappel.config import get_settings
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.dal.numbers import TwilioNumberRecord
from robotappel.numbers.webhooks import call_status_url
from robotappel.observability import logger
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import UNNAMED, tagged

DRIFT_SET_RIGHT = "number_drift_set_right"
FINDINGS = (DRIFT_SET_RIGHT,)
# Corrections that lose the race with an update of the same number, tried again from the newer record.
ATTEMPTS = 3


def set_right(account: str, listed: IncomingNumber, record: TwilioNumberRecord, *, dry_run: bool = False) -> bool:
    """Set the number `listed` (as subaccount `account`'s listing showed it) back to what its `record` implies; True
    when it had drifted. Nothing is written unless a consistent read of the record and a fetch by SID still disagree; in
    a `dry_run`, nothing at all (the drift is logged and counted)."""
    if not (drifted := _drifted(listed, record)):
        return False
    if dry_run:
        logger.warning(
            "dry run: would set back a drifted number", extra={"phoneNumberSid": listed.sid, "fields": drifted}
        )
        return True
    set_back: list[str] = []
    for _ in range(ATTEMPTS):
        latest = numbers.get_number(record.org_id, record.id, consistent=True)
        if not isinstance(latest, TwilioNumberRecord) or latest.phone_number_sid != listed.sid:
            break  # released meanwhile: the release is the one to act on Twilio
        now = gateway.fetch_number(account, listed.sid)
        if now is None or not (drift := _drifted(now, latest)):
            break
        set_back = drift
        gateway.update_number(account, listed.sid, **_implied(latest))
        try:
            transact([numbers.count_change(latest)])
            break
        except ConditionFailed:
            continue  # an update committed meanwhile: what Twilio holds is checked against it
    else:
        logger.warning(
            "a drift correction kept losing races with updates: next run", extra={"phoneNumberSid": listed.sid}
        )
    if set_back:
        logger.warning(
            "a Twilio number had drifted from its record: set back",
            extra={"phoneNumberSid": listed.sid, "numberId": record.id, "orgId": record.org_id, "fields": set_back},
        )
    return bool(set_back)


def _implied(record: TwilioNumberRecord) -> dict[str, str]:
    """What Twilio should hold for `record`, by gateway.update_number's parameters."""
    implied = {"friendly_name": tagged(record.id, record.friendly_name), "voice_url": record.voice_url}
    if base_url := get_settings().public_base_url:
        implied["status_callback"] = call_status_url(base_url.rstrip("/"), record.id)
    return implied


def _drifted(number: IncomingNumber, record: TwilioNumberRecord) -> list[str]:
    """The names of the settings in which Twilio's `number` differs from `record`. A number bought without a name
    keeps the tag it was bought with (its record's name is its phone number): that is no drift."""
    held = {
        "friendly_name": number.friendly_name,
        "voice_url": number.voice_url,
        "status_callback": number.status_callback,
    }
    if record.friendly_name == record.phone_number and held["friendly_name"] == tagged(record.id, UNNAMED):
        held["friendly_name"] = tagged(record.id, record.friendly_name)
    return sorted(name for name, value in _implied(record).items() if held[name] != value)
