"""The caller-ID step of the reconciler (robotappel.reconcile.caller_ids), run as its runner runs it, against moto
and the Twilio emulator: what a failure between us and Twilio left behind is found and set right, once."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from local.twilio_emulator import TwilioEmulator, resources
from robotappel.dal import cursors, dynamodb, ledger, numbers
from robotappel.dal.dynamodb import Write, transact
from robotappel.numbers.verification import VERIFICATION_WINDOW
from robotappel.reconcile import caller_ids, run
from robotappel.reconcile.caller_ids import ADD_GRACE, reconcile_caller_ids
from robotappel.reconcile.isolation import ITEM_FAILED
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.gateway import ValidationRequest
from robotappel.twilio.tags import tagged
from tests.fixtures.aws import VALIDATION_STATUS_URL, ledger_entries, open_org
from tests.fixtures.lambdas import HttpResult, call, call_webhook, run_handler
from tests.fixtures.reconciler import found
from tests.fixtures.twilio import org_account, verified_caller_id_sid
from tests.iam.calls import made_by_the_test

PHONE = "+33612345678"
NEVER_VERIFIED = "+33612340000"  # the emulator's verification call fails for numbers ending in 0000
VALIDATION_REQUEST = r"OutgoingCallerIds\.json$"


def in_time() -> bool:
    return False


def add(phone: str = PHONE) -> HttpResult:
    return call("add_client_phone", org="org-a", body={"phoneNumber": phone})


def the_phone() -> numbers.ClientPhoneRecord:
    [phone] = numbers.list_client_phones("org-a").records
    return phone


def aged(by: timedelta) -> numbers.ClientPhoneRecord:
    """The org's phone, as if added `by` ago."""
    phone = the_phone()
    older = phone.model_copy(update={"created_at": (datetime.now(UTC) - by).isoformat()})
    transact([numbers.save_number(phone, older)])
    return older


def add_whose_answer_is_lost(emulator: TwilioEmulator, phone: str = PHONE) -> HttpResult:
    """An add Twilio carried out, whose answer never reached us."""
    emulator.inject_fault(method="POST", path_pattern=VALIDATION_REQUEST, processed=True)
    return add(phone)


def account() -> str:
    """org-a's subaccount, where its caller IDs live."""
    return account_of("org-a")


def callback(emulator: TwilioEmulator, status: str, phone: str = PHONE) -> None:
    """Twilio's callback for the org's phone from its subaccount (the emulator's own cannot reach the test URL)."""
    subaccount = org_account(emulator, "org-a")
    params = {
        "AccountSid": subaccount["sid"],
        "CallSid": the_phone().validation_call_sid or "CA" + "1" * 32,  # the CallSid of an answer lost is unknown
        "To": phone,
        "VerificationStatus": status,
    }
    if status == "success":
        params["OutgoingCallerIdSid"] = verified_caller_id_sid(emulator, phone, subaccount["sid"])
    url = f"{VALIDATION_STATUS_URL}/{the_phone().id}"  # the URL Twilio was given names the record
    assert call_webhook("validation_status_webhook", url, subaccount["auth_token"], params).status == 200


def test_a_pending_phone_twilio_verified_is_verified_and_leaves_the_open_work(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a pending phone Twilio verified, whose callback was lost
    add()
    caller_id_sid = verified_caller_id_sid(twilio_layer, PHONE, account())
    # When the reconciler runs
    findings = reconcile_caller_ids(in_time)
    # Then the phone is verified with its caller ID, and no longer open work
    assert findings == {"verified_late": 1}
    phone = the_phone()
    assert (phone.status, phone.caller_id_sid, phone.open_work) == ("verified", caller_id_sid, None)
    assert phone.verified_at


def test_a_second_run_finds_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a run that set a verified phone right
    add()
    verified_caller_id_sid(twilio_layer, PHONE, account())
    reconcile_caller_ids(in_time)
    # When the reconciler runs again
    # Then there is nothing left to find
    assert reconcile_caller_ids(in_time) == {}


def test_an_add_whose_answer_was_lost_is_verified_and_charged_once_twilio_verified_it(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given an add Twilio carried out but whose answer was lost: pending, the add's hold open (a 502 to the client)
    assert add_whose_answer_is_lost(twilio_layer).status == 502
    verified_caller_id_sid(twilio_layer, PHONE, account())
    aged(by=ADD_GRACE * 2)
    assert [entry["status"] for entry in ledger_entries(org)] == ["held"]
    # When the reconciler runs
    assert reconcile_caller_ids(in_time) == {"verified_late": 1}
    # Then the phone is verified, and the add charged as it would have been: Twilio did the work
    phone = the_phone()
    assert (phone.status, phone.hold, phone.open_work) == ("verified", None, None)
    assert [entry["status"] for entry in ledger_entries(org)] == ["charged"]
    assert ledger.get_balance(org) == 90


def test_a_hold_its_add_may_still_settle_is_left_alone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given an add Twilio carried out, its hold younger than any add runs
    add_whose_answer_is_lost(twilio_layer)
    verified_caller_id_sid(twilio_layer, PHONE, account())
    # When the reconciler runs
    # Then it leaves the phone to its add
    assert reconcile_caller_ids(in_time) == {}
    assert the_phone().status == "pending"
    assert the_phone().hold is not None


def test_a_pending_phone_past_the_window_that_twilio_does_not_have_fails_and_its_hold_is_refunded(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given an add whose validation request Twilio may or may not have had (a 500), pending past the window
    twilio_layer.inject_fault(method="POST", path_pattern=VALIDATION_REQUEST, status=500, code=20500)
    add()
    aged(by=VERIFICATION_WINDOW + timedelta(minutes=1))
    # When the reconciler runs
    assert reconcile_caller_ids(in_time) == {"expired": 1}
    # Then the phone failed, leaves the open work, and the add's hold is refunded
    phone = the_phone()
    assert (phone.status, phone.hold, phone.open_work) == ("failed", None, None)
    assert [entry["status"] for entry in ledger_entries(org)] == ["refunded"]
    assert ledger.get_balance(org) == 100


def test_a_pending_phone_within_the_window_is_left_pending(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a phone Twilio is still calling
    add(NEVER_VERIFIED)
    aged(by=VERIFICATION_WINDOW - timedelta(minutes=1))
    # When the reconciler runs
    # Then it waits
    assert reconcile_caller_ids(in_time) == {}
    assert the_phone().status == "pending"


@pytest.mark.parametrize(
    ("phone", "outcome", "kind", "status", "balance"),
    [
        (PHONE, "success", "hold_charged", "charged", 90),
        (NEVER_VERIFIED, "failed", "hold_refunded", "refunded", 100),
    ],
)
def test_a_phone_its_callback_settled_before_its_add_got_twilios_answer_has_its_hold_closed(
    org: str, twilio_layer: TwilioEmulator, phone: str, outcome: str, kind: str, status: str, balance: int
) -> None:
    # Given an add whose answer was lost, and Twilio's callback received
    add_whose_answer_is_lost(twilio_layer, phone)
    callback(twilio_layer, outcome, phone)
    assert the_phone().hold is not None
    aged(by=ADD_GRACE * 2)
    # When the reconciler runs
    assert reconcile_caller_ids(in_time) == {kind: 1}
    # Then the add's hold is charged if the phone was verified, refunded if not (the person never got the code)
    assert [entry["status"] for entry in ledger_entries(org)] == [status]
    assert ledger.get_balance(org) == balance
    assert (the_phone().hold, the_phone().open_work) == (None, None)


def test_a_caller_id_of_ours_that_no_client_phone_knows_is_deleted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a caller ID tagged as ours whose client phone is gone (deleted while Twilio called it)
    gateway.request_caller_id_validation(account(), PHONE, tagged("cp_gone", "Front desk"), VALIDATION_STATUS_URL)
    caller_id_sid = verified_caller_id_sid(twilio_layer, PHONE, account())
    # When the reconciler runs
    assert reconcile_caller_ids(in_time) == {"unknown_caller_id_deleted": 1}
    # Then nobody can call with it any more
    assert caller_id_sid not in [caller_id["sid"] for caller_id in twilio_layer.caller_ids(account())]


def test_a_caller_id_we_did_not_make_is_kept(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a caller ID added by hand in Twilio's console (no tag of ours)
    gateway.request_caller_id_validation(account(), PHONE, "Added by hand", VALIDATION_STATUS_URL)
    caller_id_sid = verified_caller_id_sid(twilio_layer, PHONE, account())
    # When the reconciler runs
    # Then it is counted, and left as it is
    assert reconcile_caller_ids(in_time) == {"unknown_caller_id_kept": 1}
    assert caller_id_sid in [caller_id["sid"] for caller_id in twilio_layer.caller_ids(account())]


def test_a_verified_phones_caller_id_is_left_alone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a phone verified by its callback
    add()
    callback(twilio_layer, "success")
    # When the reconciler runs
    # Then its caller ID is known: nothing to do
    assert reconcile_caller_ids(in_time) == {}
    assert len(twilio_layer.caller_ids(account())) == 1


def test_a_run_out_of_time_stops_before_changing_anything(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a pending phone Twilio verified
    add()
    verified_caller_id_sid(twilio_layer, PHONE, account())
    # When the reconciler runs with no time left
    findings = reconcile_caller_ids(lambda: True)
    # Then it stops at once, and the next run does the work
    assert findings == {}
    assert the_phone().status == "pending"
    assert reconcile_caller_ids(in_time) == {"verified_late": 1}


def test_a_phone_its_callback_verified_while_its_add_was_committing_leaves_the_open_work(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a phone whose callback came between Twilio's answer and its add's commit: verified, still marked open
    real_request = gateway.request_caller_id_validation

    def answered_after_the_callback(
        account: str, phone: str, friendly_name: str, status_callback: str
    ) -> ValidationRequest:
        validation = real_request(account, phone, friendly_name, status_callback)
        with made_by_the_test():  # the test reads the record to sign the callback; the add does not
            callback(twilio_layer, "success")
        return validation

    monkeypatch.setattr(gateway, "request_caller_id_validation", answered_after_the_callback)
    add()
    assert (the_phone().status, the_phone().open_work) == ("verified", "verification")
    # When the reconciler runs
    assert reconcile_caller_ids(in_time) == {"closed": 1}
    # Then the phone leaves the open work, as it was
    assert (the_phone().status, the_phone().open_work) == ("verified", None)


# ------------------------------------------------------------------ Twilio did it, but its answer was lost
def every_caller_id_belongs_to_a_client_phone(emulator: TwilioEmulator) -> bool:
    phones = {phone.phone_number: phone for phone in numbers.list_client_phones("org-a").records}
    return all(
        caller_id["phone_number"] in phones and phones[caller_id["phone_number"]].status in ("pending", "verified")
        for caller_id in emulator.every_caller_id()
    )


@pytest.mark.parametrize("then", ["callback", "no callback"])
def test_after_an_add_whose_answer_was_lost_one_run_leaves_every_caller_id_to_a_client_phone(
    org: str, twilio_layer: TwilioEmulator, then: str
) -> None:
    # Given an add Twilio carried out whose answer was lost: the phone pending with the add's hold
    add_whose_answer_is_lost(twilio_layer)
    phone = the_phone()
    assert (phone.status, phone.hold is not None) == ("pending", True)
    # And Twilio verified it, its callback received or lost
    if then == "callback":
        callback(twilio_layer, "success")
    else:
        verified_caller_id_sid(twilio_layer, PHONE, account())
    aged(by=ADD_GRACE * 2)
    # When the reconciler runs once
    reconcile_caller_ids(in_time)
    # Then every caller ID at Twilio is a client phone's, the add is charged once (the ledger check after each test
    # explains every balance), and nothing is left open
    assert every_caller_id_belongs_to_a_client_phone(twilio_layer)
    assert [entry["status"] for entry in ledger_entries(org)] == ["charged"]
    assert reconcile_caller_ids(in_time) == {}


def test_a_caller_id_deleted_by_the_reconciler_whose_answer_was_lost_is_gone_after_that_run(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a caller ID of ours no client phone knows, and Twilio's answer to its deletion lost
    gateway.request_caller_id_validation(account(), PHONE, tagged("cp_gone", "Front desk"), VALIDATION_STATUS_URL)
    verified_caller_id_sid(twilio_layer, PHONE, account())
    twilio_layer.inject_fault(method="DELETE", path_pattern=r"OutgoingCallerIds/\w+\.json$", processed=True)
    # When the reconciler runs, then again
    first = reconcile_caller_ids(in_time)
    # Then the deletion, sent again, finds the caller ID gone: no item failed, and the next run finds nothing
    assert ITEM_FAILED not in first
    assert twilio_layer.caller_ids(account()) == []
    assert reconcile_caller_ids(in_time) == {}


# ------------------------------------------------------------------ a run racing the client and Twilio (#21)
def test_a_phone_added_again_after_the_run_read_it_is_not_failed_by_the_run(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a phone pending past the window, read by a run, then added again by the client (same id, a new call)
    add(NEVER_VERIFIED)
    aged(by=VERIFICATION_WINDOW + timedelta(minutes=1))
    read_by_the_run = numbers.open_verification_items

    def read_then_added_again() -> Iterator[dynamodb.Item]:
        phones = list(read_by_the_run())
        assert add(NEVER_VERIFIED).status == 201
        yield from phones

    monkeypatch.setattr(numbers, "open_verification_items", read_then_added_again)
    # When the run writes what it read
    findings = reconcile_caller_ids(in_time)
    added_again = the_phone()
    # Then the new verification is left pending: the run's write was for the phone as it read it
    assert findings == {}
    assert added_again.status == "pending"
    assert datetime.fromisoformat(added_again.created_at) > datetime.now(UTC) - VERIFICATION_WINDOW


def test_a_callback_racing_the_expiry_of_its_phone_leaves_nothing_open(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a phone pending past the window with its add's hold (Twilio's answer was a 500)
    twilio_layer.inject_fault(method="POST", path_pattern=VALIDATION_REQUEST, status=500, code=20500)
    add()
    aged(by=VERIFICATION_WINDOW + timedelta(minutes=1))
    # And Twilio's success callback arriving while the run expires the phone
    write = dynamodb.transact
    url = f"{VALIDATION_STATUS_URL}/{the_phone().id}"  # the URL Twilio was given names the record

    def callback_first(writes: list[Write]) -> None:
        monkeypatch.setattr(caller_ids, "transact", write)
        subaccount = org_account(twilio_layer, "org-a")
        params = {"AccountSid": subaccount["sid"], "CallSid": "CA" + "1" * 32, "To": PHONE}
        result = call_webhook(
            "validation_status_webhook",
            url,
            subaccount["auth_token"],
            {**params, "VerificationStatus": "success"},
        )
        assert result.status == 200
        write(writes)

    monkeypatch.setattr(caller_ids, "transact", callback_first)
    # When the reconciler runs, then again
    reconcile_caller_ids(in_time)
    reconcile_caller_ids(in_time)
    # Then the phone is verified, its add charged once, and nothing is left open
    phone = the_phone()
    assert (phone.status, phone.hold, phone.open_work) == ("verified", None, None)
    assert [entry["status"] for entry in ledger_entries(org)] == ["charged"]
    assert reconcile_caller_ids(in_time) == {}


# ------------------------------------------------------------------ each org's subaccount on its own (#28)
def org_b_phone(emulator: TwilioEmulator, status: str) -> str:
    """org-b's client phone, `status` (pending: Twilio still calling; verified: its caller ID in org-b's subaccount)."""
    open_org("org-b", 100)
    phone = NEVER_VERIFIED if status == "pending" else PHONE
    assert call("add_client_phone", org="org-b", body={"phoneNumber": phone}).status == 201
    if status == "verified":
        verified_caller_id_sid(emulator, phone, account_of("org-b"))
        assert reconcile_caller_ids(in_time) == {"verified_late": 1}
    [record] = numbers.list_client_phones("org-b").records
    assert record.status == status
    return phone


@pytest.mark.parametrize("status", ["pending", "verified"])
def test_a_caller_id_of_ours_in_one_orgs_subaccount_is_deleted_though_another_org_has_its_phone(
    org: str, twilio_layer: TwilioEmulator, status: str
) -> None:
    # Given org-b's client phone, pending or verified, and a caller ID of the same number tagged as ours in org-a's
    # subaccount whose client phone is gone (before #28, org-b's phone kept it: all orgs shared one account)
    phone = org_b_phone(twilio_layer, status)
    of_org_b = [caller_id["sid"] for caller_id in twilio_layer.caller_ids(account_of("org-b"))]
    orphan = resources.caller_id(account(), phone, tagged("cp_gone", "Front desk"))
    twilio_layer.api.caller_ids[orphan["sid"]] = orphan
    # When the reconciler runs
    findings = reconcile_caller_ids(in_time)
    # Then org-a's orphan is deleted, and org-b's phone and caller ID are as they were
    assert findings == {"unknown_caller_id_deleted": 1}
    assert twilio_layer.caller_ids(account()) == []
    assert [caller_id["sid"] for caller_id in twilio_layer.caller_ids(account_of("org-b"))] == of_org_b
    assert [record.status for record in numbers.list_client_phones("org-b").records] == [status]


# ------------------------------------------------------------------ the cursor kept before subaccounts
OLD_PAGE_TOKEN = "PAkeptbeforesubaccounts"


def keep_the_cursor_of_before_subaccounts() -> None:
    """The caller-ID step's cursor as the runs before subaccounts kept it: a bare page URL of the parent account,
    beside the account the cursors are of (else every step starts over anyway)."""
    parent = gateway.parent_account_sid()
    page_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{parent}/OutgoingCallerIds.json"
        f"?PageSize=50&Page=1&PageToken={OLD_PAGE_TOKEN}"
    )
    cursors.save_positions({run.ACCOUNT: parent, caller_ids.STEP: page_url})


def test_a_cursor_of_before_subaccounts_starts_a_fresh_pass_that_the_run_completes(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a caller ID of ours that no client phone knows, and the step's cursor of before subaccounts
    gateway.request_caller_id_validation(account(), PHONE, tagged("cp_gone", "Front desk"), VALIDATION_STATUS_URL)
    verified_caller_id_sid(twilio_layer, PHONE, account())
    keep_the_cursor_of_before_subaccounts()
    # When the reconciler runs
    findings = found(run_handler("reconciler", {}))
    # Then the step did not fail: it found what a fresh pass finds, and ended its pass (no cursor left to resume)
    assert findings == {"unknown_caller_id_deleted": 1}
    assert caller_ids.STEP not in cursors.positions()


def test_a_cursor_of_before_subaccounts_is_one_warning_naming_the_step_and_not_the_cursor(
    org: str, twilio_layer: TwilioEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the step's cursor of before subaccounts, and the logs captured at production's level
    keep_the_cursor_of_before_subaccounts()
    caplog.set_level(logging.INFO)
    # When the reconciler runs
    run_handler("reconciler", {})
    # Then one warning names the step, nothing is logged as an error, and no line carries the page URL
    [line] = [record for record in caplog.records if "cursor of an old format" in record.getMessage()]
    assert (line.levelno, line.__dict__["step"]) == (logging.WARNING, caller_ids.STEP)
    assert all(record.levelno < logging.ERROR for record in caplog.records)
    assert not [record for record in caplog.records if OLD_PAGE_TOKEN in str(record.__dict__)]
