"""The reconciler on a large account (#22 item 5): each step resumes from its cursor, has its share of the run's
time, and a pass spans runs; what is out of time is published; the pass over live numbers reads nothing else.

An account of a few hundred numbers, listed by Twilio in pages of 25, stands for one of 100,000 in pages of 1000.
Time is a clock that ticks once each time it is read, so that a run's budget is a number of reads (the steps read
it before each item): runs cut short at the same places every time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.reconciler_scale import seed_account
from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import cursors, dynamodb, ledger, numbers
from robotappel.errors import ServiceUnavailable
from robotappel.ids import new_id
from robotappel.observability import metrics
from robotappel.reconcile import holds
from robotappel.reconcile.holds import HOLD_EXPIRY, sweep_stale_holds
from robotappel.reconcile.isolation import Isolation
from robotappel.reconcile.purchases import reconcile_purchases
from robotappel.reconcile.run import WEIGHTS, metric_name, out_of_time_kind, run
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from tests.fixtures.aws import ledger_entries
from tests.fixtures.lambdas import call, run_handler
from tests.iam.calls import made_by
from tests.integration.test_observability import metric_documents
from tests.integration.test_reconciler import open_hold

pytestmark = pytest.mark.usefixtures("twilio_layer")

ACCOUNT = 300
PAGE = 25
LIST_NUMBERS, LIST_CALLER_IDS = "IncomingPhoneNumbers.json", "OutgoingCallerIds.json"


class Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def large_account(org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> TwilioEmulator:
    """ACCOUNT numbers and caller IDs of org-scale in its subaccount, each with its record made an hour ago, beside
    org-a; Twilio pages of PAGE."""
    seed_account(twilio_layer, ACCOUNT, org_id="org-scale", age=timedelta(hours=1))
    monkeypatch.setattr(gateway, "PAGE_SIZE", PAGE)
    return twilio_layer


def reconcile(budget: float) -> dict[str, int]:
    """One run of the reconciler, as its function runs it, with `budget` reads of its clock."""
    with made_by("reconciler"):
        return run(budget, clock=Ticks())


def pages_listed(emulator: TwilioEmulator, since: int = 0, path: str = LIST_NUMBERS) -> list[int]:
    """The pages of Twilio's list at `path` (its numbers unless told) listed since the `since`-th request, 0 the
    first."""
    return [
        int(request.query.get("Page", 0))
        for request in emulator.requests_log[since:]
        if request.method == "GET" and request.path.endswith(path)
    ]


def gone_at_twilio(emulator: TwilioEmulator, count: int) -> list[str]:
    """`count` of the account's numbers released at Twilio behind our back; their SIDs."""
    with emulator.api.lock:
        gone = list(emulator.api.incoming)[:count]
        for sid in gone:
            del emulator.api.incoming[sid]
    return gone


def live_sids() -> set[str]:
    return {live.sid for live in numbers.live_sids("number")}


def test_a_large_account_completes_its_pass_across_runs(large_account: TwilioEmulator) -> None:
    # Given a large account three of whose numbers Twilio no longer has, and runs too short for a whole pass
    gone = gone_at_twilio(large_account, 3)
    # When the reconciler runs, again and again
    runs = [reconcile(budget=300) for _ in range(10)]
    # Then the first runs run out of time before the end of Twilio's list, and judge no record gone meanwhile
    listing = [found[out_of_time_kind("numbers")] for found in runs]
    assert listing[:2] == [1, 1]
    assert runs[0]["gone_number_marked_released"] == 0
    # And once the list was read to its end, across runs, the three records are marked released, and only they
    assert 0 in listing
    assert sum(found["gone_number_marked_released"] for found in runs) == 3
    assert live_sids().isdisjoint(gone)
    assert len(live_sids()) == ACCOUNT - 3


def test_the_pass_over_twilios_numbers_resumes_at_the_page_it_stopped_at(large_account: TwilioEmulator) -> None:
    # Given a run out of time in the middle of Twilio's list
    reconcile(budget=300)
    first = pages_listed(large_account)
    assert "numbers" in cursors.positions()
    # When the next run comes
    before = len(large_account.requests_log)
    reconcile(budget=300)
    # Then it lists from the page the first one stopped at, not from the first page
    assert pages_listed(large_account, before)[0] == first[-1]
    assert first[-1] > 0


def test_the_pass_over_twilios_caller_ids_resumes_at_the_page_it_stopped_at(large_account: TwilioEmulator) -> None:
    # Given a run out of time in the middle of Twilio's caller IDs
    reconcile(budget=300)
    first = pages_listed(large_account, path=LIST_CALLER_IDS)
    assert "caller_ids" in cursors.positions()
    # When the next run comes
    before = len(large_account.requests_log)
    reconcile(budget=300)
    # Then it lists from the page the first one stopped at
    assert pages_listed(large_account, before, path=LIST_CALLER_IDS)[0] == first[-1] > 0


# ------------------------------------------------------------------ a walk across the orgs' subaccounts (#28)
ORGS, PER_ORG = ("org-scale-a", "org-scale-b", "org-scale-c"), 60


@pytest.fixture
def three_subaccounts(aws: object, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """PER_ORG numbers and caller IDs in each of three orgs' subaccounts, their records made an hour ago; Twilio
    pages of PAGE. The subaccounts' SIDs, in the order the walk reads them."""
    for org_id in ORGS:
        seed_account(twilio_layer, PER_ORG, org_id=org_id, age=timedelta(hours=1))
    monkeypatch.setattr(gateway, "PAGE_SIZE", PAGE)
    return sorted(account_of(org_id) for org_id in ORGS)


def listed(emulator: TwilioEmulator, since: int = 0) -> list[tuple[str, int]]:
    """The (subaccount, page) of each page of numbers listed since the `since`-th request."""
    return [
        (request.path.split("/")[3], int(request.query.get("Page", 0)))
        for request in emulator.requests_log[since:]
        if request.method == "GET" and request.path.endswith(LIST_NUMBERS)
    ]


def test_the_walk_over_the_subaccounts_resumes_at_the_subaccount_and_page_it_stopped_at(
    twilio_layer: TwilioEmulator, three_subaccounts: list[str]
) -> None:
    # Given three orgs' subaccounts, and a run out of time in the middle of the walk
    assert reconcile(budget=300)[out_of_time_kind("numbers")] == 1
    stopped_at = listed(twilio_layer)[-1]
    assert stopped_at not in ((three_subaccounts[0], 0), (three_subaccounts[-1], PER_ORG // PAGE))
    # When the next run comes
    before = len(twilio_layer.requests_log)
    reconcile(budget=300)
    # Then it lists from the subaccount and the page the first one stopped at
    assert listed(twilio_layer, before)[0] == stopped_at


def test_a_walk_across_runs_reads_every_page_of_every_subaccount_then_judges_the_records(
    twilio_layer: TwilioEmulator, three_subaccounts: list[str]
) -> None:
    # Given one number of each org gone at Twilio, and runs too short for a whole walk
    gone = set()
    with twilio_layer.api.lock:
        for account in three_subaccounts:
            sid = next(sid for sid, n in twilio_layer.api.incoming.items() if n["account_sid"] == account)
            del twilio_layer.api.incoming[sid]
            gone.add(sid)
    # When the reconciler runs, again and again
    runs = [reconcile(budget=300) for _ in range(8)]
    # Then every page of every subaccount was listed, and only the three gone numbers' records are marked released
    pages = {(account, page) for account in three_subaccounts for page in range(-(-(PER_ORG - 1) // PAGE))}
    assert pages <= set(listed(twilio_layer))
    assert runs[0]["gone_number_marked_released"] == 0
    assert sum(found["gone_number_marked_released"] for found in runs) == 3
    assert live_sids().isdisjoint(gone)
    assert len(live_sids()) == len(ORGS) * PER_ORG - 3


def test_cursors_kept_for_another_twilio_account_are_not_followed(large_account: TwilioEmulator) -> None:
    # Given cursors kept while the credentials opened another Twilio account
    reconcile(budget=300)
    elsewhere = {**cursors.positions(), "account": "AC" + "0" * 32}
    cursors.save_positions(elsewhere)
    # When the next run comes
    before = len(large_account.requests_log)
    reconcile(budget=300)
    # Then it lists this account's numbers from the first page
    assert pages_listed(large_account, before)[0] == 0


def test_a_step_out_of_time_does_not_starve_the_steps_after_it(
    large_account: TwilioEmulator, org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a large account, and a hold an invocation that died long ago left open
    entry = open_hold(org, HOLD_EXPIRY * 2)
    # When one run too short for Twilio's whole list runs
    findings = reconcile(budget=300)
    # Then the listing runs out of its share, and the sweep after it still refunds the hold
    assert findings[out_of_time_kind("numbers")] == 1
    assert findings["stale_hold_refunded"] == 1
    assert [e["status"] for e in ledger_entries(org) if e["entryId"] == entry.entry_id] == ["refunded"]


def test_a_run_that_cannot_read_the_twilio_account_still_sweeps_the_holds(
    org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stale hold, and Twilio's credentials unreadable
    open_hold(org, HOLD_EXPIRY * 2)

    def unreadable() -> str:
        raise ServiceUnavailable("Twilio's credentials could not be read.")

    monkeypatch.setattr(gateway, "parent_account_sid", unreadable)
    # When the reconciler runs
    findings = run_handler("reconciler", {})
    # Then the account check fails alone, and the hold is refunded all the same
    assert findings["step_failed"] >= 1
    assert findings["stale_hold_refunded"] == 1


def test_the_hold_sweep_resumes_after_the_last_hold_it_looked_at(org: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given four holds open work still owns, opened before four stale ones, and sweeps with time for three holds
    owned = {open_hold(org, HOLD_EXPIRY * 3, tokens=5).entry_id for _ in range(4)}
    stale = [open_hold(org, HOLD_EXPIRY * 2, tokens=5) for _ in range(4)]
    monkeypatch.setattr(holds, "PAGE", 2)
    positions: dict[str, str] = {}
    # When the sweep runs four times
    refunded = [sweep_stale_holds(time_for(3), owned, Isolation(), positions) for _ in range(4)]
    # Then each sweep goes on after the holds the one before looked at: every stale hold is refunded
    assert sum(found["stale_hold_refunded"] for found in refunded) == len(stale)
    assert {e["entryId"] for e in ledger_entries(org) if e["status"] == "refunded"} == {e.entry_id for e in stale}
    sweep_stale_holds(lambda: False, set(), Isolation(), {})  # their open work's end, so the ledger check holds


def test_the_purchase_step_resumes_after_the_last_intent_it_looked_at(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three malformed intents that fail every time, older than a purchase whose answer Twilio lost
    for index in range(3):
        put_item(
            {"orgId": org, "sk": f"intent#tn_bad{index}", "openWork": "purchase", "createdAt": f"2000-01-0{index + 1}"}
        )
    twilio_layer.inject_fault("POST", r"/IncomingPhoneNumbers\.json$", processed=True)
    call("buy_twilio_number", org=org, body={"countryCode": "US", "areaCode": "415"})
    monkeypatch.setattr(holds, "HOLD_EXPIRY", timedelta(0))
    positions: dict[str, str] = {}
    # When the step runs twice, each time with time for two intents
    runs = [reconcile_purchases(time_for(2), Isolation(), positions) for _ in range(2)]
    # Then the second goes on after the intents the first looked at, and records the lost purchase
    assert [found["purchase_recorded_late"] for found in runs] == [0, 1]


def test_whether_each_step_ran_out_of_time_is_published_every_run(org: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given nothing to reconcile
    metrics.clear_metrics()
    capsys.readouterr()
    # When the reconciler's function runs
    run_handler("reconciler", {})
    # Then each step's out-of-time metric is published, at 0
    output = capsys.readouterr().out
    for step in WEIGHTS:
        name = metric_name(out_of_time_kind(step))
        [document] = metric_documents(output, name)
        assert document[name] == [0.0]


def test_the_live_pass_reads_neither_call_markers_nor_released_numbers(large_account: TwilioEmulator, org: str) -> None:
    # Given the account's live numbers, a thousand call markers and a hundred released numbers beside them
    seed_beside(org, calls=1000, released=100)
    # When the live numbers are read as the reconciler reads them
    with items_read() as read:
        listed = live_sids()
    # Then only the live numbers were read
    assert len(listed) == ACCOUNT
    assert read == [ACCOUNT]


def test_a_malformed_client_phone_is_skipped_and_the_others_are_worked_on(org: str) -> None:
    # Given a pending phone past its window that Twilio does not have, beside a malformed one older than it
    put_item({"orgId": org, "sk": "number#cp_bad", "openWork": "verification", "createdAt": "2000-01-01"})
    expired = pending_phone(org, created=datetime.now(UTC) - timedelta(days=2))
    # When the reconciler runs
    findings = run_handler("reconciler", {})
    # Then the malformed one fails alone, and the other is expired
    assert findings["item_failed"] == 1
    assert findings["expired"] == 1
    after = numbers.get_number(org, expired.id)
    assert isinstance(after, numbers.ClientPhoneRecord)
    assert after.status == "failed"


def test_a_malformed_hold_is_skipped_and_the_others_are_refunded(org: str) -> None:
    # Given a stale hold, behind a malformed open hold older than it
    open_hold(org, HOLD_EXPIRY * 2)
    malformed = {"orgId": org, "sk": "ledger#bad"}
    put_ledger_item({**malformed, "openHold": ledger.HELD, "createdAt": "2000-01-01"})
    # When the reconciler runs
    findings = run_handler("reconciler", {})
    # Then the malformed one fails alone, and the stale one is refunded
    assert findings["item_failed"] == 1
    assert findings["stale_hold_refunded"] == 1
    dynamodb.client().delete_item(TableName=get_settings().tokens_table, Key=dynamodb.to_ddb(malformed))


# ------------------------------------------------------------------ helpers
def time_for(items: int) -> Any:
    """An out_of_time that lets `items` items be worked on."""
    asked = iter(range(items + 1))
    return lambda: next(asked, items) >= items


def pending_phone(org_id: str, created: datetime) -> numbers.ClientPhoneRecord:
    record = numbers.ClientPhoneRecord(
        id=new_id(numbers.CLIENT_PHONE),
        org_id=org_id,
        phone_number="+33699999999",
        friendly_name="Desk",
        status="pending",
        open_work="verification",
        created_at=created.isoformat(),
    )
    dynamodb.transact(numbers.put_client_phone(record))
    return record


def put_item(item: dict[str, Any]) -> None:
    dynamodb.client().put_item(TableName=get_settings().numbers_table, Item=dynamodb.to_ddb(item))


def put_ledger_item(item: dict[str, Any]) -> None:
    dynamodb.client().put_item(TableName=get_settings().tokens_table, Item=dynamodb.to_ddb(item))


def seed_beside(org_id: str, calls: int, released: int) -> None:
    for index in range(calls):
        put_item({"orgId": org_id, "sk": f"call#CA{index:032d}"})
    for index in range(released):
        number_id = new_id(numbers.TWILIO_NUMBER)
        record = numbers.TwilioNumberRecord(
            id=number_id,
            org_id=org_id,
            phone_number=f"+3363{index:07d}",
            phone_number_sid=f"PN{index:032d}",
            friendly_name="gone",
            country_code="FR",
            number_type="mobile",
            voice_url="https://voice.example.test/in",
            created_at="2020-01-01T00:00:00+00:00",
        )
        dynamodb.transact(numbers.release_twilio_number(record, "2020-02-01T00:00:00+00:00")[1:])


@contextmanager
def items_read() -> Iterator[list[int]]:
    """The items DynamoDB read (ScannedCount) for each Query and Scan made inside."""
    read: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        read.append(int(parsed.get("ScannedCount", 0)))

    events = dynamodb.client().meta.events
    for operation in ("Query", "Scan"):
        events.register(f"after-call.dynamodb.{operation}", count)
    try:
        yield read
    finally:
        for operation in ("Query", "Scan"):
            events.unregister(f"after-call.dynamodb.{operation}", count)
