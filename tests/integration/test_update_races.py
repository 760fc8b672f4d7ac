"""An update that keeps losing the race with other updates of the same number (#21 item 5): it tries again on top of
each, UPDATE_RACE_ATTEMPTS times, then answers 409 conflict with Twilio put back as the record says."""

from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from robotappel.numbers.twilio_numbers import UPDATE_RACE_ATTEMPTS
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.tags import tagged
from tests.fixtures.lambdas import HttpResult
from tests.integration.test_twilio_numbers import bought, listed_by_org, update

pytestmark = pytest.mark.usefixtures("twilio_layer")

VOICE_URL = "https://voice.robotappel.com/twilio/{}"


def test_an_update_that_loses_every_race_is_409_conflict_and_puts_twilio_back_as_the_record_says(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number, and each time an update is about to change it at Twilio, another update that runs
    # whole just before (so Twilio ends each try with the update that then loses its race)
    number = bought()
    first = {"friendlyName": "First", "voiceUrl": VOICE_URL.format("first")}
    real_update = gateway.update_number
    meanwhile: list[HttpResult] = []

    def another_update_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("friendly_name") == tagged(number["id"], "First"):
            other = len(meanwhile) + 1
            monkeypatch.setattr(gateway, "update_number", real_update)
            meanwhile.append(
                update(number["id"], {"friendlyName": f"Other {other}", "voiceUrl": VOICE_URL.format(other)})
            )
            monkeypatch.setattr(gateway, "update_number", another_update_meanwhile)
        return real_update(*args, **kwargs)

    monkeypatch.setattr(gateway, "update_number", another_update_meanwhile)
    balance = ledger.get_balance(org)
    # When the first update commits after each of them
    result = update(number["id"], first)
    # Then it tried UPDATE_RACE_ATTEMPTS times, each on top of the latest, then answered 409 conflict, uncharged;
    # the others all applied, and Twilio holds what the record says: the last of them, not the first update
    assert [other.status for other in meanwhile] == [200] * UPDATE_RACE_ATTEMPTS
    assert result.status == 409, result.body
    assert result.body["error"] == "conflict"
    assert ledger.get_balance(org) == balance - 5 * UPDATE_RACE_ATTEMPTS
    last = f"Other {UPDATE_RACE_ATTEMPTS}"
    [listed] = listed_by_org()
    assert (listed["friendlyName"], listed["voiceUrl"]) == (last, VOICE_URL.format(UPDATE_RACE_ATTEMPTS))
    [owned] = twilio_layer.incoming_numbers(account_of("org-a"))
    assert (owned["friendly_name"], owned["voice_url"]) == (tagged(number["id"], last), listed["voiceUrl"])
