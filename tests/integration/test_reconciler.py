"""The reconciler's run (functions/reconciler): holds nobody will close, given back; one run at a time.

A function that dies between its hold and its commit is played by opening a hold the way TokenMeter.hold does,
dated back as the invocation that made it, and never closing it.
"""

from datetime import UTC, datetime, timedelta

from robotappel.dal import lease, ledger
from robotappel.ids import new_id
from robotappel.reconcile.holds import HOLD_EXPIRY
from robotappel.reconcile.run import JOB
from tests.fixtures.aws import ledger_entries
from tests.fixtures.lambdas import run_handler


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_hold(org_id: str, age: timedelta, tokens: int = 40) -> ledger.LedgerEntry:
    """A hold of `tokens` opened `age` ago by an invocation that never closed it."""
    entry = ledger.LedgerEntry(
        org_id=org_id,
        entry_id=new_id("le"),
        route="POST /phoneNumber/buyTwilioNumberAndActivate",
        tokens=tokens,
        request_id="died-after-the-hold",
        created_at=_iso(datetime.now(UTC) - age),
    )
    ledger.debit(entry, ledger.HELD)
    ledger_entries(org_id)  # the ledger catches up: the hold is known to be open
    return entry


def reconcile() -> dict[str, int]:
    findings: dict[str, int] = run_handler("reconciler", {})
    return findings


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
    assert findings == {"stale_hold_refunded": 0}
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
    assert again == after_catching_up == {"stale_hold_refunded": 0}
    assert ledger.get_balance(org) == 100


def test_a_run_while_another_holds_the_lease_does_nothing(org: str) -> None:
    # Given a stale hold, and another run holding the reconciler's lease
    open_hold(org, HOLD_EXPIRY * 2)
    now = datetime.now(UTC)
    assert lease.take(JOB, "other-run", _iso(now), _iso(now + timedelta(minutes=2)))
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
    assert lease.take(JOB, "dead-run", _iso(now - timedelta(minutes=5)), _iso(now - timedelta(minutes=3)))
    # When the reconciler runs
    findings = reconcile()
    # Then it takes the lease over and does the work
    assert findings == {"stale_hold_refunded": 1}
    assert ledger.get_balance(org) == 100
