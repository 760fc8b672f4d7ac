"""The reconciler's judgment of verified client phones against a whole pass over Twilio's caller IDs
(`reconcile_gone_caller_ids` in robotappel.reconcile.caller_ids), against moto and the Twilio emulator: a phone whose
caller ID Twilio no longer has (its delete's answer timed out after Twilio applied it) fails, and nothing else is
touched."""

from collections.abc import Iterator
from dataclasses import replace

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import dynamodb, numbers
from robotappel.dal.dynamodb import Write
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.reconcile import destroy
from robotappel.reconcile import run as reconciler
from robotappel.reconcile.caller_ids import CALLER_ID_GONE, reconcile_caller_ids, reconcile_gone_caller_ids
from robotappel.reconcile.destroy import WOULD_DESTROY, Brake
from robotappel.reconcile.isolation import Isolation
from robotappel.twilio import client as twilio_client
from robotappel.twilio import gateway
from robotappel.twilio.gateway import CallerId, Page
from tests.fixtures.aws import VALIDATION_STATUS_URL
from tests.fixtures.lambdas import HttpResult, call, call_webhook
from tests.fixtures.reconciler import found
from tests.fixtures.twilio import org_account, verified_caller_id_sid
from tests.iam.calls import made_by_the_test

ORG, PHONE, OTHER_PHONE = "org-a", "+33612345678", "+33612345679"
CALLER_ID_DELETE = r"OutgoingCallerIds/\w+\.json$"
USUAL_TIMEOUT_SECONDS = twilio_client.REQUEST_TIMEOUT_SECONDS
RUN_SECONDS = 60.0


def the_phone(number: str = PHONE) -> ClientPhoneRecord:
    [phone] = [phone for phone in numbers.list_client_phones(ORG).records if phone.phone_number == number]
    return phone


def verified_phone(emulator: TwilioEmulator, number: str = PHONE) -> ClientPhoneRecord:
    """The org's phone, added and verified: Twilio's callback (signed by the org's subaccount) delivered here, as
    the emulator's own cannot reach the test's handler."""
    assert call("add_client_phone", org=ORG, body={"phoneNumber": number}).status == 201
    account = org_account(emulator, ORG)
    params = {
        "AccountSid": account["sid"],
        "CallSid": str(the_phone(number).validation_call_sid),
        "To": number,
        "VerificationStatus": "success",
        "OutgoingCallerIdSid": verified_caller_id_sid(emulator, number, account["sid"]),
    }
    url = f"{VALIDATION_STATUS_URL}/{the_phone(number).id}"
    assert call_webhook("validation_status_webhook", url, account["auth_token"], params).status == 200
    phone = the_phone(number)
    assert phone.status == "verified"
    return phone


def delete_whose_answer_timed_out(emulator: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> HttpResult:
    """The org deletes its phone: Twilio deletes the caller ID, and its answer comes after the client's timeout (a
    read timeout: not sent again)."""
    monkeypatch.setattr(twilio_client, "REQUEST_TIMEOUT_SECONDS", 0.3)
    twilio_client.get_twilio_client.cache_clear()
    emulator.inject_fault(method="DELETE", path_pattern=CALLER_ID_DELETE, processed=True, delay=0.6)
    result = call("delete_phone_number", org=ORG, path_params={"id": the_phone().id})
    monkeypatch.setattr(twilio_client, "REQUEST_TIMEOUT_SECONDS", USUAL_TIMEOUT_SECONDS)
    twilio_client.get_twilio_client.cache_clear()
    return result


def verified_without_its_caller_id(emulator: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> ClientPhoneRecord:
    """A verified phone whose delete answered 502 after Twilio deleted its caller ID: the record still verified."""
    phone = verified_phone(emulator)
    assert delete_whose_answer_timed_out(emulator, monkeypatch).status == 502
    assert emulator.caller_ids(org_account(emulator, ORG)["sid"]) == []
    assert the_phone() == phone
    return phone


def fetched_by_sid(emulator: TwilioEmulator, sid: str) -> bool:
    return any(r.method == "GET" and r.path.endswith(f"/OutgoingCallerIds/{sid}.json") for r in emulator.requests_log)


def test_a_phone_whose_delete_timed_out_after_twilio_deleted_its_caller_id_fails_at_the_next_whole_pass(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone whose delete answered 502, Twilio having deleted its caller ID
    verified_without_its_caller_id(twilio_layer, monkeypatch)
    # When the reconciler runs (one run: a whole pass over the org's caller IDs, then its judgment)
    findings = reconciler.run(RUN_SECONDS)
    # Then the phone failed, as a failed verification leaves it: the org can no longer present it
    assert found(findings) == {CALLER_ID_GONE: 1}
    phone = the_phone()
    assert (phone.status, phone.caller_id_sid, phone.verified_at) == ("failed", None, None)


def test_a_phone_failed_for_its_caller_id_gone_is_verified_again_when_added_again(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a phone the reconciler failed, its caller ID gone with a delete whose answer timed out
    failed = verified_without_its_caller_id(twilio_layer, monkeypatch)
    reconciler.run(RUN_SECONDS)
    # When the org adds it again
    result = call("add_client_phone", org=ORG, body={"phoneNumber": PHONE})
    # Then its verification restarts on the same record: Twilio calls the phone again
    assert result.status == 201, result.body
    phone = the_phone()
    assert (phone.id, phone.status) == (failed.id, "pending")
    assert phone.validation_call_sid not in (None, failed.validation_call_sid)


def test_a_verified_phone_whose_caller_id_is_at_twilio_is_never_touched(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a verified phone, its caller ID at Twilio
    phone = verified_phone(twilio_layer)
    # When the reconciler runs
    findings = reconciler.run(RUN_SECONDS)
    # Then the phone is as it was
    assert CALLER_ID_GONE not in found(findings)
    assert the_phone() == phone


def test_a_caller_id_the_list_left_out_but_twilio_has_by_sid_is_never_touched(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone, and Twilio's list leaving out its caller ID (a list that lags, a page misread)
    phone = verified_phone(twilio_layer)
    listed = gateway.caller_id_pages

    def without_it(account: str, start: str | None = None) -> Iterator[Page[CallerId]]:
        for page in listed(account, start):
            yield replace(page, items=[item for item in page.items if item.sid != phone.caller_id_sid])

    monkeypatch.setattr(gateway, "caller_id_pages", without_it)
    # When the reconciler runs
    findings = reconciler.run(RUN_SECONDS)
    # Then the caller ID, fetched by SID, is at Twilio: the phone is as it was
    assert fetched_by_sid(twilio_layer, str(phone.caller_id_sid))
    assert CALLER_ID_GONE not in found(findings)
    assert the_phone() == phone


def test_a_phone_deleted_while_the_run_judges_it_is_not_written_again(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone without its caller ID, and the org's delete, sent again, committing after the run read
    # the phone and before it writes
    verified_without_its_caller_id(twilio_layer, monkeypatch)
    write = dynamodb.transact
    retried: list[int] = []

    def deleted_first(writes: list[Write]) -> None:
        monkeypatch.setattr(destroy, "transact", write)
        with made_by_the_test():
            phone_id = the_phone().id
        retried.append(call("delete_phone_number", org=ORG, path_params={"id": phone_id}).status)
        write(writes)

    monkeypatch.setattr(destroy, "transact", deleted_first)
    # When the reconciler runs
    findings = reconciler.run(RUN_SECONDS)
    # Then the delete stands: the run's write was for the phone as it read it
    assert retried == [200]
    assert CALLER_ID_GONE not in found(findings)
    assert numbers.list_client_phones(ORG).records == []


def test_a_dry_run_counts_the_phone_and_changes_nothing(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone without its caller ID
    phone = verified_without_its_caller_id(twilio_layer, monkeypatch)
    # When a dry run runs
    findings = reconciler.run(RUN_SECONDS, dry_run=True)
    # Then it says what it would do, and the phone is as it was
    assert found(findings) == {WOULD_DESTROY: 1}
    assert the_phone() == phone


def test_a_suspended_subaccount_proves_no_caller_id_gone(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone without its caller ID, in a subaccount suspended since (nothing of it can be read)
    phone = verified_without_its_caller_id(twilio_layer, monkeypatch)
    twilio_layer.update_account(org_account(twilio_layer, ORG)["sid"], status="suspended")
    # When the reconciler runs
    findings = reconciler.run(RUN_SECONDS)
    # Then nothing failed, and the phone is left as it is until its subaccount can be read
    assert found(findings) == {}
    assert the_phone() == phone


def test_a_phone_added_after_its_pass_started_is_not_judged_by_it(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a whole pass over the caller IDs made before the phone was added
    positions: dict[str, str] = {}
    reconcile_caller_ids(lambda: False, positions=positions)
    # And then the phone, verified, and left without its caller ID by a delete whose answer timed out
    phone = verified_without_its_caller_id(twilio_layer, monkeypatch)
    # When that pass judges the verified phones
    findings = reconcile_gone_caller_ids(lambda: False, Brake(), Isolation(), positions)
    # Then it leaves the phone to a pass that could have seen its caller ID
    assert findings == {CALLER_ID_GONE: 0}
    assert the_phone() == phone


def test_a_pass_cut_short_judges_nothing_and_the_run_that_ends_it_does(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a phone verified without its caller ID, and another whose caller ID Twilio lists
    gone = verified_without_its_caller_id(twilio_layer, monkeypatch)
    verified_phone(twilio_layer, OTHER_PHONE)
    # When a run's pass over the caller IDs runs out of time before the end of the list, then a run's pass ends it
    positions: dict[str, str] = {}
    reconcile_caller_ids(lambda: True, positions=positions)
    cut_short = reconcile_gone_caller_ids(lambda: False, Brake(), Isolation(), positions)
    reconcile_caller_ids(lambda: False, positions=positions)
    whole = reconcile_gone_caller_ids(lambda: False, Brake(), Isolation(), positions)
    # Then only the whole pass judges the phone: it fails then, the other phone is left verified
    assert (cut_short, whole) == ({CALLER_ID_GONE: 0}, {CALLER_ID_GONE: 1})
    assert (the_phone(gone.phone_number).status, the_phone(OTHER_PHONE).status) == ("failed", "verified")
