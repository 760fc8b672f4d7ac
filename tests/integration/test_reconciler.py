"""The reconciler's run (functions/reconciler): holds nobody will close, given back; numbers at Twilio and in the
table made to agree; one run at a time.

A function that dies between its hold and its commit is played by opening a hold the way TokenMeter.hold does,
dated back as the invocation that made it, and never closing it.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import lease, ledger, numbers
from robotappel.dal.dynamodb import transact
from robotappel.dal.first_seen import first_seen
from robotappel.ids import iso, new_id, now_iso
from robotappel.reconcile.holds import HOLD_EXPIRY
from robotappel.reconcile.isolation import ITEM_FAILED, ITEM_PARKED, PARK_AFTER
from robotappel.reconcile.run import JOB, TWILIO_ACCOUNT
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.tags import tagged
from tests.fixtures.aws import CALL_STATUS_URL, ledger_entries, open_org
from tests.fixtures.invariants import assert_state_consistent
from tests.fixtures.lambdas import call, run_handler
from tests.fixtures.reconciler import found, reconcile_now
from tests.fixtures.twilio import verified_caller_id_sid
from tests.iam.calls import made_by_the_test
from tests.integration.test_twilio_numbers import CLIENT_PHONE, add_client_phone

pytestmark = pytest.mark.usefixtures("twilio_layer")


def open_hold(org_id: str, age: timedelta, tokens: int = 40) -> ledger.LedgerEntry:
    """A hold of `tokens` opened `age` ago by an invocation that never closed it."""
    entry = ledger.LedgerEntry(
        org_id=org_id,
        entry_id=new_id("le"),
        route="POST /phoneNumber/buyTwilioNumberAndActivate",
        tokens=tokens,
        request_id="died-after-the-hold",
        created_at=iso(datetime.now(UTC) - age),
    )
    ledger.debit(entry, ledger.HELD)
    ledger_entries(org_id)  # the ledger catches up: the hold is known to be open
    return entry


def with_setting(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """What follows runs with the setting of `variable` at `value`, as a deployment would."""
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()


def in_stage(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """What follows runs as the deployment of `stage` would."""
    with_setting(monkeypatch, "STAGE", stage)


def reconcile() -> dict[str, int]:
    return found(run_handler("reconciler", {}))


def test_a_hold_older_than_any_invocation_is_refunded(org: str) -> None:
    # Given a hold opened by an invocation that died longer ago than any function may run
    entry = open_hold(org, HOLD_EXPIRY + timedelta(minutes=1))
    assert ledger.get_balance(org) == 60
    # When the reconciler runs
    findings = reconcile()
    # Then the tokens are given back and the ledger says so
    assert findings == {"stale_hold_refunded": 1}
    assert ledger.get_balance(org) == 100
    assert [e["status"] for e in ledger_entries(org) if e["entryId"] == entry.entry_id] == ["refunded"]


def test_a_hold_of_an_invocation_that_may_still_run_is_left_alone(org: str) -> None:
    # Given a hold opened a moment ago (its function may still commit or refund it)
    open_hold(org, timedelta(seconds=5))
    # When the reconciler runs
    findings = reconcile()
    # Then nothing is refunded
    assert findings == {}
    assert ledger.get_balance(org) == 60


def test_a_second_run_finds_nothing_left_to_do(org: str) -> None:
    # Given a stale hold, refunded by a first run
    open_hold(org, HOLD_EXPIRY * 2)
    reconcile()
    # When the reconciler runs again, the ledger not caught up yet or caught up
    again = reconcile()
    ledger_entries(org)
    after_catching_up = reconcile()
    # Then it refunds nothing more
    assert again == after_catching_up == {}
    assert ledger.get_balance(org) == 100


def test_a_run_while_another_holds_the_lease_does_nothing(org: str) -> None:
    # Given a stale hold, and another run holding the reconciler's lease
    open_hold(org, HOLD_EXPIRY * 2)
    now = datetime.now(UTC)
    assert lease.take(JOB, "other-run", iso(now), iso(now + timedelta(minutes=2)))
    # When the reconciler runs
    findings = reconcile()
    # Then it does nothing: the other run does the work
    assert findings == {}
    assert ledger.get_balance(org) == 60
    lease.give_back(JOB, "other-run")
    reconcile()  # what the other run would have done, so the ledger check after the test holds


def test_a_lease_whose_holder_ran_out_of_time_is_taken_over(org: str) -> None:
    # Given a stale hold, and the lease of a run that died (its time is up)
    open_hold(org, HOLD_EXPIRY * 2)
    now = datetime.now(UTC)
    assert lease.take(JOB, "dead-run", iso(now - timedelta(minutes=5)), iso(now - timedelta(minutes=3)))
    # When the reconciler runs
    findings = reconcile()
    # Then it takes the lease over and does the work
    assert findings == {"stale_hold_refunded": 1}
    assert ledger.get_balance(org) == 100


# ------------------------------------------------------------------ numbers at Twilio and in the table
def buy_at_twilio(emulator: TwilioEmulator, friendly_name: str, account: str) -> str:
    """A number bought at Twilio in subaccount `account` behind the table's back (its SID)."""
    [candidate] = gateway.search_available_numbers(account, "US", "local", area_code="415", limit=1)
    bought = gateway.buy_number(account, candidate, "https://voice.example.test", CALL_STATUS_URL, friendly_name)
    assert bought.sid in at_twilio(emulator, account)
    return bought.sid


def bought_number(org: str) -> numbers.TwilioNumberRecord:
    number = call("buy_twilio_number", org=org, body={"countryCode": "US", "areaCode": "415"}).body
    record = numbers.get_number(org, number["id"])
    assert isinstance(record, numbers.TwilioNumberRecord)
    return record


def orphans(emulator: TwilioEmulator, count: int, org: str) -> set[str]:
    """`count` numbers in the org's subaccount tagged as ours, with neither record nor purchase under way."""
    return {
        buy_at_twilio(emulator, tagged(new_id(numbers.TWILIO_NUMBER), "lost"), account_of(org)) for _ in range(count)
    }


def at_twilio(emulator: TwilioEmulator, account: str) -> set[str]:
    """The SIDs of the numbers in subaccount `account`."""
    return {number["sid"] for number in emulator.incoming_numbers(account)}


def test_a_number_of_ours_that_no_record_knows_is_released(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a number at Twilio tagged as ours, with neither record nor purchase under way (its purchase is over)
    [orphan] = orphans(twilio_layer, 1, org)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it is released: nobody pays for it, nobody can use it
    assert found(findings) == {"orphan_number_released": 1}
    assert orphan not in {number["sid"] for number in twilio_layer.every_incoming_number()}


def test_a_number_that_is_not_ours_is_kept_and_counted(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a number in the org's subaccount bought by something else (no tag)
    foreign = buy_at_twilio(twilio_layer, "Bought by hand in the console", account_of(org))
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it is left alone, and counted for an operator (metric and alarm)
    assert found(findings) == {"unknown_number_kept": 1}
    assert foreign in at_twilio(twilio_layer, account_of(org))


def test_a_record_whose_number_is_gone_at_twilio_is_marked_released(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number that Twilio no longer has (released in the console, or a release whose answer was lost)
    kept = bought_number(org)
    gone = bought_number(org)
    gateway.release_number(account_of(org), gone.phone_number_sid)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then the record is released too: no live record points to a number Twilio does not have
    assert found(findings) == {"gone_number_marked_released": 1}
    assert numbers.list_twilio_numbers(org).records == [kept]
    assert_state_consistent(twilio_layer)


def test_a_purchase_still_running_is_left_alone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a purchase that was answered a moment ago and is about to be recorded (its intent is open)
    twilio_layer.inject_fault("POST", r"/IncomingPhoneNumbers\.json$", processed=True)
    call("buy_twilio_number", org=org, body={"countryCode": "US", "areaCode": "415"})
    # When the reconciler runs (HOLD_EXPIRY not yet passed)
    findings = reconcile()
    # Then it neither records nor releases the number, nor refunds the hold: that is the purchase's to do
    assert findings == {}
    assert len(twilio_layer.incoming_numbers(account_of(org))) == 1
    assert ledger.get_balance(org) == 60


def test_a_purchase_recorded_late_is_not_linked_to_a_client_phone_deleted_meanwhile(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase linked to a client phone, bought at Twilio but its answer lost
    phone_id = add_client_phone(org, CLIENT_PHONE)
    twilio_layer.inject_fault("POST", r"/IncomingPhoneNumbers\.json$", processed=True)
    body = {"countryCode": "US", "areaCode": "415", "clientPhoneNumber": CLIENT_PHONE}
    assert call("buy_twilio_number", org=org, body=body).status == 502
    # And the client phone deleted since
    assert call("delete_phone_number", org=org, path_params={"id": phone_id}).status == 200
    # When the reconciler records the purchase
    findings = reconcile_now(monkeypatch)
    # Then the number is recorded, linked to no client phone
    assert found(findings) == {"purchase_recorded_late": 1}
    [number] = numbers.list_twilio_numbers(org).records
    assert number.client_phone_number is None


def test_another_stages_numbers_and_caller_ids_are_never_touched(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a parent account shared by mistake with another stage: a number and a caller ID of that stage in the
    # org's subaccount, and more of them in the other stage's own subaccount for the org
    ours = account_of(org)
    in_stage(monkeypatch, "prod")
    their_subaccount = twilio_layer.create_subaccount("ra:prod:org org-a")["sid"]
    theirs = {
        account: buy_at_twilio(twilio_layer, tagged(new_id(numbers.TWILIO_NUMBER), "theirs"), account)
        for account in (ours, their_subaccount)
    }
    for account in (ours, their_subaccount):
        gateway.request_caller_id_validation(
            account, CLIENT_PHONE, tagged(new_id(numbers.CLIENT_PHONE), "theirs"), CALL_STATUS_URL
        )
    their_caller_ids = {account: verified_caller_id_sid(twilio_layer, CLIENT_PHONE, account) for account in theirs}
    in_stage(monkeypatch, "dev")
    before = len(twilio_layer.requests_log)
    # When this stage's reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it keeps those in the org's subaccount and counts them for an operator (a metric and an alarm each), and
    # never reads the other stage's subaccount, which is no org's of this stage
    assert found(findings) == {"unknown_number_kept": 1, "unknown_caller_id_kept": 1}
    for account, number_sid in theirs.items():
        assert number_sid in at_twilio(twilio_layer, account)
        assert their_caller_ids[account] in {caller_id["sid"] for caller_id in twilio_layer.caller_ids(account)}
    assert not [request for request in twilio_layer.requests_log[before:] if their_subaccount in request.path]


# ------------------------------------------------------------------ destroy only on proof, within the brake (#22)
def test_past_the_brake_a_run_destroys_nothing_more_and_says_so(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three numbers of ours that no record knows, and a brake of one destructive action a run
    three = orphans(twilio_layer, 3, org)
    with_setting(monkeypatch, "RECONCILE_MAX_DESTRUCTIVE", "1")
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it releases one, refuses the others, and counts the refusals (metric and alarm)
    assert found(findings) == {"orphan_number_released": 1, "destruction_braked": 2}
    assert len(three & at_twilio(twilio_layer, account_of(org))) == 2


def test_credentials_of_another_account_destroy_nothing_and_alarm(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack that first saw another Twilio account (its credentials rotated to the wrong one)
    first_seen(TWILIO_ACCOUNT, "AC" + "0" * 32)
    [orphan] = orphans(twilio_layer, 1, org)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it destroys nothing, and says why
    assert found(findings) == {"twilio_account_changed": 1, "destruction_braked": 1}
    assert orphan in at_twilio(twilio_layer, account_of(org))


def test_twilio_listing_nothing_while_we_hold_live_numbers_marks_nothing_released(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a live number, and Twilio listing no number at all (a failed listing, an emptied account)
    number = bought_number(org)
    gateway.release_number(account_of(org), number.phone_number_sid)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then the record stays live, and the run alarms
    assert found(findings) == {"twilio_listed_nothing": 1, "destruction_braked": 1}
    assert numbers.list_twilio_numbers(org).records == [number]


def test_a_dry_run_reports_what_it_would_destroy_and_destroys_nothing(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two numbers of ours that no record knows, and the reconciler in dry run
    two = orphans(twilio_layer, 2, org)
    with_setting(monkeypatch, "RECONCILE_DRY_RUN", "true")
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then it reports both, and releases neither
    assert found(findings) == {"dry_run_would_destroy": 2}
    assert two <= at_twilio(twilio_layer, account_of(org))


def test_a_number_recorded_after_the_listing_is_not_released(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a number of ours that no record knows when Twilio's list is read, and whose record appears just after
    [orphan] = orphans(twilio_layer, 1, org)
    fetch = gateway.fetch_number

    def recorded_meanwhile(account: str, sid: str) -> gateway.IncomingNumber | None:
        fetched = fetch(account, sid)
        assert fetched is not None
        recorded = numbers.TwilioNumberRecord(
            id=new_id(numbers.TWILIO_NUMBER),
            org_id=org,
            phone_number=fetched.phone_number,
            phone_number_sid=sid,
            friendly_name="recorded meanwhile",
            country_code="US",
            number_type="local",
            voice_url=fetched.voice_url,
            created_at=now_iso(),
        )
        with made_by_the_test():
            transact([numbers.put_twilio_number(recorded)])
        return fetched

    monkeypatch.setattr(gateway, "fetch_number", recorded_meanwhile)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then the proof read just before releasing finds its record: it is kept
    assert found(findings) == {}
    assert orphan in at_twilio(twilio_layer, account_of(org))


def test_a_number_whose_record_the_index_still_shows_after_its_release_is_released(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a number of ours whose record was released (its release at Twilio lost), the index not caught up
    record = bought_number(org)
    transact(numbers.release_twilio_number(record, now_iso()))
    monkeypatch.setattr(numbers, "find_by_phone_number", lambda phone: [record] if phone == record.phone_number else [])
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then its owner, read again consistently, is gone: the number is released
    assert found(findings) == {"orphan_number_released": 1}
    assert record.phone_number_sid not in at_twilio(twilio_layer, account_of(org))


# ------------------------------------------------------------------ one bad item never stops a run (#22)
def test_a_malformed_intent_is_skipped_then_parked_and_never_blocks_the_rest(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase intent left malformed (no hold), and a hold nobody will close
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().numbers_table)
    old = iso(datetime.now(UTC) - HOLD_EXPIRY * 2)
    table.put_item(Item={"orgId": org, "sk": "intent#tn_malformed", "openWork": "purchase", "createdAt": old})
    open_hold(org, HOLD_EXPIRY * 2)
    # When the reconciler runs PARK_AFTER times, then once more
    runs = [found(reconcile_now(monkeypatch)) for _ in range(PARK_AFTER + 1)]
    # Then the intent fails alone each time, the rest of the work is done, and it is parked after PARK_AFTER runs
    assert runs[0] == {ITEM_FAILED: 1, "stale_hold_refunded": 1}
    assert runs[1:PARK_AFTER] == [{ITEM_FAILED: 1}] * (PARK_AFTER - 1)
    assert runs[PARK_AFTER] == {ITEM_PARKED: 1}
    assert ledger.get_balance(org) == 100


# ------------------------------------------------------------------ each org's subaccount judged on its own (#28)
def test_each_orgs_number_is_judged_by_its_own_records_in_its_own_subaccount(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given org-a and org-b, each with a number in its own subaccount that the other org has no record of
    open_org("org-b", 100)
    of_a, of_b = bought_number(org), bought_number("org-b")
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then neither is released for the other org's records, and both records stay live
    assert found(findings) == {}
    assert at_twilio(twilio_layer, account_of(org)) == {of_a.phone_number_sid}
    assert at_twilio(twilio_layer, account_of("org-b")) == {of_b.phone_number_sid}
    assert (numbers.list_twilio_numbers(org).records, numbers.list_twilio_numbers("org-b").records) == ([of_a], [of_b])
    assert_state_consistent(twilio_layer)


def test_a_record_is_not_marked_released_because_another_orgs_subaccount_lacks_its_number(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given org-a's number, which the listing of its subaccount misses this pass, and org-b's subaccount without it
    open_org("org-b", 100)
    of_a, of_b = bought_number(org), bought_number("org-b")
    listed = gateway.number_pages

    def missing_org_as_number(account: str, start: str | None = None) -> Iterator[gateway.Page[gateway.IncomingNumber]]:
        for page in listed(account, start):
            kept = [number for number in page.items if number.sid != of_a.phone_number_sid]
            yield gateway.Page(kept, page.url, page.next_url)

    monkeypatch.setattr(gateway, "number_pages", missing_org_as_number)
    # When the reconciler runs
    findings = reconcile_now(monkeypatch)
    # Then the proof is fetched in org-a's subaccount, where the number is: the record stays live
    assert "gone_number_marked_released" not in found(findings)
    assert numbers.list_twilio_numbers(org).records == [of_a]
    assert of_a.phone_number_sid in at_twilio(twilio_layer, account_of(org))
    assert numbers.list_twilio_numbers("org-b").records == [of_b]
