"""Charging through a real route (getAllClientPhoneNumbers, 5 tokens) against moto."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

import pytest
from moto.dynamodb.models import DynamoDBBackend

from local.aws import isolated_dynamodb_writes
from robotappel.dal import dynamodb, ledger
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.errors import InsufficientTokens
from robotappel.ids import now_iso
from robotappel.tokens.meter import TokenMeter
from tests.fixtures.aws import ledger_entries, open_operator_org, open_org
from tests.fixtures.dynamodb_faults import DynamoDBFaults, applied_answer_lost_then_retried, mentions
from tests.fixtures.lambdas import call


def test_successful_call_is_charged_its_cost_once_with_a_ledger_entry(org: str) -> None:
    # Given org-a with 100 tokens
    # When it lists its client phones (5 tokens)
    result = call("get_all_client_phone_numbers", org=org)
    # Then it gets the list, 5 tokens are gone, the headers say so, and the ledger has one charge
    assert result.status == 200
    assert result.body == []
    assert ledger.get_balance(org) == 95
    assert result.headers["X-Tokens-Charged"] == "5"
    assert result.headers["X-Tokens-Remaining"] == "95"
    [entry] = ledger_entries(org)
    assert (entry["route"], entry["tokens"], entry["status"]) == (
        "GET /phoneNumber/getAllClientPhoneNumbers",
        5,
        "charged",
    )


def test_short_balance_is_402_with_required_and_balance_and_nothing_charged(aws: dict[str, str]) -> None:
    # Given an org with 3 tokens
    open_org("org-poor", 3)
    # When it calls a 5-token route
    result = call("get_all_client_phone_numbers", org="org-poor")
    # Then 402 with the spec's body, and the balance and ledger are untouched
    assert result.status == 402
    assert result.body == {
        "error": "insufficient_tokens",
        "message": "This call costs 5 tokens and the balance is 3.",
        "required": 5,
        "balance": 3,
    }
    assert ledger.get_balance("org-poor") == 3
    assert ledger_entries("org-poor") == []


def test_failed_call_is_not_charged(org: str) -> None:
    # Given a member asking for another org's phones (403)
    result = call("get_all_client_phone_numbers", org=org, query={"id": "org-b"})
    # Then nothing is charged
    assert result.status == 403
    assert result.body["error"] == "forbidden"
    assert ledger.get_balance(org) == 100
    assert ledger_entries(org) == []


def test_admin_may_read_another_org_and_pays_for_it_itself(aws: dict[str, str]) -> None:
    admin_key = open_operator_org("org-admin", 10)
    open_org("org-b", 0)
    result = call(
        "get_all_client_phone_numbers", org="org-admin", role="admin", key_id=admin_key, query={"id": "org-b"}
    )
    assert result.status == 200
    assert ledger.get_balance("org-admin") == 5
    assert ledger.get_balance("org-b") == 0


def charge_once(request_number: int) -> bool:
    meter = TokenMeter("org-c", "GET /phoneNumber/getAllClientPhoneNumbers", 5, f"request-{request_number}")
    try:
        meter.charge()
    except InsufficientTokens:
        return False
    return True


@pytest.fixture
def serializable_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write in isolation; moto's in-memory backend does not (threads interleave
    its condition checks and writes). Serialising moto's writes gives the test DynamoDB's guarantee, so what is
    tested is our conditional charge, not moto's lack of isolation."""
    for name, write in isolated_dynamodb_writes().items():
        monkeypatch.setattr(DynamoDBBackend, name, write)


@pytest.mark.usefixtures("serializable_moto_writes")
def test_concurrent_charges_never_overdraw_the_balance(aws: dict[str, str]) -> None:
    # Given a balance covering exactly 10 charges of 5 tokens
    open_org("org-c", 50)
    # When 50 charges race
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(charge_once, range(50)))
    # Then exactly 10 succeed, 40 are refused, and the balance is 0 with 10 ledger charges
    assert outcomes.count(True) == 10
    assert ledger.get_balance("org-c") == 0
    assert sum(entry["tokens"] for entry in ledger_entries("org-c")) == 50


def test_a_charged_read_is_three_round_trips_query_charge_and_balance(org: str) -> None:
    # Given every DynamoDB call of the layer is counted
    calls: list[str] = []
    dynamodb.client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    # When org-a lists its client phones (5 tokens)
    result = call("get_all_client_phone_numbers", org=org)
    # Then the route read once, charged once (a transaction with the charge's applied marker), and read the balance
    # the charge left for X-Tokens-Remaining
    assert result.headers["X-Tokens-Remaining"] == "95"
    assert calls == ["Query", "TransactWriteItems", "GetItem"]


def test_a_charge_retried_after_dynamodb_applied_it_is_not_applied_twice(org: str) -> None:
    # Given a charge DynamoDB applied but answered with a 500 (botocore then sends the same request again)
    entry = TokenMeter(org, "GET /tokens/balance", 5, "request-retried").entry
    first = ledger.debit(entry, ledger.CHARGED)
    # When the same request arrives again
    again = ledger.debit(entry, ledger.CHARGED)
    # Then it answers the balance the charge left, and the balance is charged once
    assert first == again == 95
    assert ledger.get_balance(org) == 95


def test_a_credit_retried_after_dynamodb_applied_it_is_not_applied_twice(org: str) -> None:
    # Given a credit DynamoDB applied but answered with a 500
    entry = ledger.LedgerEntry(org, "le_retried", ledger.CREDIT_ROUTE, 50, "request-retried", now_iso(), "top-up")
    first = ledger.credit(entry)
    # When the same request arrives again
    again = ledger.credit(entry)
    # Then the balance is credited once
    assert first == again == 150
    assert ledger.get_balance(org) == 150


def test_a_debit_retried_after_another_debit_was_applied_meanwhile_is_applied_once(
    org: str, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given debit A applied by DynamoDB whose answer is lost, debit B applied meanwhile, then botocore's retry of A
    debit_a = TokenMeter(org, "GET /tokens/balance", 5, "request-a").entry
    debit_b = TokenMeter(org, "GET /tokens/balance", 7, "request-b").entry
    between = applied_answer_lost_then_retried(between=lambda: ledger.debit(debit_b, ledger.CHARGED))
    dynamodb_faults.arm(None, between, when=mentions(debit_a.entry_id))
    # When A is debited
    ledger.debit(debit_a, ledger.CHARGED)
    # Then each debit was applied once (the ledger explaining the balance is checked after every test)
    assert ledger.get_balance(org) == 100 - 5 - 7


def test_a_credit_retried_after_another_credit_was_applied_meanwhile_is_applied_once(
    org: str, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given credit A applied by DynamoDB whose answer is lost, credit B applied meanwhile, then the retry of A
    credit_a = ledger.LedgerEntry(org, "le_credit_a", ledger.CREDIT_ROUTE, 50, "request-a", now_iso(), "top-up")
    credit_b = ledger.LedgerEntry(org, "le_credit_b", ledger.CREDIT_ROUTE, 20, "request-b", now_iso(), "top-up")
    between = applied_answer_lost_then_retried(between=lambda: ledger.credit(credit_b))
    dynamodb_faults.arm(None, between, when=mentions(credit_a.entry_id))
    # When A is credited
    ledger.credit(credit_a)
    # Then each credit was applied once
    assert ledger.get_balance(org) == 100 + 50 + 20


def test_a_refund_retried_after_another_debit_was_applied_meanwhile_is_applied_once(
    org: str, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given a hold A, refunded by DynamoDB whose answer is lost, debit B applied meanwhile, then the retry of A
    hold_a = TokenMeter(org, "POST /phoneNumber/addClientPhone", 20, "request-a").entry
    debit_b = TokenMeter(org, "GET /tokens/balance", 7, "request-b").entry
    ledger.debit(hold_a, ledger.HELD)
    between = applied_answer_lost_then_retried(between=lambda: ledger.debit(debit_b, ledger.CHARGED))
    dynamodb_faults.arm(None, between, when=mentions(hold_a.entry_id))
    # When A is refunded (its retry finds the hold closed: the refund was applied)
    with suppress(ConditionFailed):
        ledger.refund(hold_a)
    # Then the hold was given back once
    assert ledger.get_balance(org) == 100 - 7
