"""The reconciler sets drift right (#22 item 6): a number whose VoiceUrl, StatusCallback or FriendlyName at Twilio
is not what its record says is set back to the record's, without ever undoing an update in flight."""

from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import numbers
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.tags import tagged
from tests.fixtures.aws import CALL_STATUS_URL
from tests.fixtures.invariants import assert_state_consistent
from tests.fixtures.reconciler import found, reconcile_now
from tests.integration.test_reconciler import bought_number, reconcile, with_setting
from tests.integration.test_twilio_numbers import update

pytestmark = pytest.mark.usefixtures("twilio_layer")

ELSEWHERE = "https://voice.elsewhere.example.test/inbound"
OWN_CALLBACK = CALL_STATUS_URL + "/{id}"


def at_twilio(emulator: TwilioEmulator, sid: str) -> tuple[str, str, str]:
    """What Twilio holds of number `sid`: its FriendlyName, VoiceUrl and StatusCallback."""
    [number] = [number for number in emulator.every_incoming_number() if number["sid"] == sid]
    return number["friendly_name"], number["voice_url"], number["status_callback"]


def implied(record: numbers.TwilioNumberRecord) -> tuple[str, str, str]:
    """What the record says Twilio should hold."""
    return tagged(record.id, record.friendly_name), record.voice_url, OWN_CALLBACK.format(id=record.id)


def test_a_number_changed_at_twilio_behind_its_records_back_is_set_back_to_the_record(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number whose voice URL, callback and name were changed at Twilio (an update that died after
    # Twilio's change, or the console)
    record = bought_number(org)
    gateway.update_number(
        account_of(org),
        record.phone_number_sid,
        friendly_name="hijacked",
        voice_url=ELSEWHERE,
        status_callback=ELSEWHERE,
    )
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then Twilio holds the record's settings again, and the drift is counted
    assert found(findings) == {"number_drift_set_right": 1}
    assert at_twilio(twilio_layer, record.phone_number_sid) == implied(record)
    assert_state_consistent(twilio_layer)


def test_a_number_set_right_is_not_touched_by_the_next_run(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a drifted number, set right by a run
    record = bought_number(org)
    gateway.update_number(account_of(org), record.phone_number_sid, voice_url=ELSEWHERE)
    reconcile_now(monkeypatch)
    # When the reconciler runs again
    findings = reconcile_now(monkeypatch)
    # Then it finds nothing to do
    assert found(findings) == {}


def test_a_number_on_the_callback_path_without_its_id_is_moved_to_its_own(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a number bought before callbacks named their record (its StatusCallback is the path without an id)
    record = bought_number(org)
    gateway.update_number(account_of(org), record.phone_number_sid, status_callback=CALL_STATUS_URL)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then its StatusCallback names its record, as a purchase now sets it
    assert found(findings) == {"number_drift_set_right": 1}
    assert at_twilio(twilio_layer, record.phone_number_sid)[2] == OWN_CALLBACK.format(id=record.id)


def test_a_dry_run_counts_drift_and_changes_nothing(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a drifted number, and the reconciler in dry run
    record = bought_number(org)
    gateway.update_number(account_of(org), record.phone_number_sid, voice_url=ELSEWHERE)
    with_setting(monkeypatch, "RECONCILE_DRY_RUN", "true")
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then the drift is counted, and Twilio keeps what it holds
    assert found(findings) == {"number_drift_set_right": 1}
    assert at_twilio(twilio_layer, record.phone_number_sid)[1] == ELSEWHERE


def test_a_run_between_an_updates_twilio_change_and_its_record_never_undoes_the_update(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an update whose change is at Twilio but not yet in its record when a reconciler run (on time: the
    # update's hold is not stale) sees the number
    record = bought_number(org)
    change = {"friendlyName": "Sales", "voiceUrl": "https://voice.robotappel.com/twilio/sales"}
    real_update = gateway.update_number
    runs: list[dict[str, int]] = []

    def run_meanwhile(*args: Any, **kwargs: Any) -> Any:
        changed = real_update(*args, **kwargs)
        if kwargs.get("voice_url") == change["voiceUrl"] and not runs:
            monkeypatch.setattr(gateway, "update_number", real_update)
            runs.append(reconcile())
        return changed

    monkeypatch.setattr(gateway, "update_number", run_meanwhile)
    # When the update then records its change
    result = update(record.id, change, org=org)
    # Then the run saw drift and set it back, and the update, not undone, applied itself again on top of it:
    # Twilio and the record both hold the update
    assert runs == [{"number_drift_set_right": 1}]
    assert result.status == 200, result.body
    assert at_twilio(twilio_layer, record.phone_number_sid)[:2] == (tagged(record.id, "Sales"), change["voiceUrl"])
    assert (result.body["friendlyName"], result.body["voiceUrl"]) == ("Sales", change["voiceUrl"])
    assert_state_consistent(twilio_layer)
