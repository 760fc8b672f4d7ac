"""The shared ledger check (tests/fixtures/ledger.py) catches a balance its ledger does not explain."""

from datetime import UTC, datetime, timedelta
from typing import Any

from robotappel.ids import iso
from robotappel.reconcile.holds import HOLD_EXPIRY
from tests.fixtures.ledger import ledger_imbalances


def account(org_id: str, balance: int, **holds: int) -> dict[str, Any]:
    return {"orgId": org_id, "sk": "account", "balance": balance, **{f"hold#{e}": t for e, t in holds.items()}}


def entry(org_id: str, entry_id: str, status: str, tokens: int, age: timedelta = timedelta()) -> dict[str, Any]:
    created_at = iso(datetime.now(UTC) - age)
    return {"orgId": org_id, "sk": f"ledger#{created_at}#{entry_id}", "entryId": entry_id, "status": status,
            "tokens": tokens, "createdAt": created_at}  # fmt: skip


def test_credits_less_charges_less_open_holds_explain_the_balance() -> None:
    # Given 100 credited, 5 charged, 10 refunded (back on the balance) and 40 still held
    items = [
        account("org-a", 55, le_3=40),
        entry("org-a", "le_0", "credited", 100),
        entry("org-a", "le_1", "charged", 5),
        entry("org-a", "le_2", "refunded", 10),
        entry("org-a", "le_3", "held", 40),
    ]
    # Then nothing is out of balance
    assert ledger_imbalances(items) == {}


def test_a_balance_the_ledger_does_not_explain_is_reported() -> None:
    # Given a balance of 100 with no credit behind it (a hand-written account)
    items = [account("org-a", 100)]
    # Then the org is reported
    assert list(ledger_imbalances(items)) == ["org-a"]


def test_a_hold_missing_from_the_account_is_reported() -> None:
    # Given a ledger entry still held whose hold the account no longer has (and a balance that adds up)
    items = [account("org-a", 60), entry("org-a", "le_0", "credited", 100), entry("org-a", "le_1", "held", 40)]
    # Then the org is reported
    assert "le_1" in ledger_imbalances(items, now=datetime.now(UTC))["org-a"]


def test_entries_without_an_account_are_reported() -> None:
    # Given a charge of an org that has no account
    items = [entry("org-x", "le_0", "charged", 5)]
    # Then that org is reported
    assert list(ledger_imbalances(items)) == ["org-x"]


def test_a_hold_older_than_the_reconciler_allows_is_reported() -> None:
    # Given a balance its ledger explains, but with a hold older than HOLD_EXPIRY still open
    items = [
        account("org-a", 60, le_1=40),
        entry("org-a", "le_0", "credited", 100),
        entry("org-a", "le_1", "held", 40, age=HOLD_EXPIRY + timedelta(minutes=1)),
    ]
    # Then the org is reported: the reconciler should have refunded it
    assert "le_1" in ledger_imbalances(items, now=datetime.now(UTC))["org-a"]
