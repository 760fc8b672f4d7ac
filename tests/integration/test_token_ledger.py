"""token_ledger: the TokensTable stream's account changes become ledger entries, exactly once, in order."""

import copy
import json
from typing import Any

import pytest

from robotappel.dal import ledger
from robotappel.errors import ServiceUnavailable
from robotappel.tokens.meter import TokenMeter
from tests.fixtures.aws import consume_with_token_ledger, ledger_entries, open_org, token_ledger_stream, top_up
from tests.fixtures.lambdas import ROOT

STREAM_EVENT: dict[str, Any] = json.loads((ROOT / "events" / "token_ledger.json").read_text())


def stream_event(*statuses: str) -> dict[str, Any]:
    """events/token_ledger.json's account change, once per status, in that order (same entry)."""
    [record] = STREAM_EVENT["Records"]
    records = []
    for sequence, status in enumerate(statuses, start=1):
        changed = copy.deepcopy(record)
        changed["dynamodb"]["NewImage"]["lastEntry"]["M"]["status"] = {"S": status}
        changed["dynamodb"]["SequenceNumber"] = str(sequence)
        records.append(changed)
    return {"Records": records}


@pytest.mark.ledger_written_by_hand
def test_an_account_change_becomes_its_ledger_entry(aws: dict[str, str]) -> None:
    # Given the stream record of a 5-token charge of org-a (events/token_ledger.json)
    # When token_ledger consumes it
    result = consume_with_token_ledger(STREAM_EVENT)
    # Then nothing failed and org-a's ledger has the charge
    assert result == {"batchItemFailures": []}
    [entry] = ledger_entries("org-a")
    assert (entry["entryId"], entry["tokens"], entry["status"]) == ("le_01JFX8Q6N1V3M2K7T4R5B9C0DE", 5, "charged")


@pytest.mark.ledger_written_by_hand
def test_a_replayed_record_writes_nothing_twice(aws: dict[str, str]) -> None:
    # Given a charge already in the ledger
    consume_with_token_ledger(STREAM_EVENT)
    # When Lambda delivers its record again (a retried batch)
    consume_with_token_ledger(STREAM_EVENT)
    # Then the ledger still has one entry
    assert len(ledger_entries("org-a")) == 1


@pytest.mark.ledger_written_by_hand
def test_a_settled_entry_never_goes_back_to_held(aws: dict[str, str]) -> None:
    # Given a hold that was refunded, then the hold's record replayed after the refund's
    consume_with_token_ledger(stream_event("held", "refunded", "held"))
    # Then the entry stays refunded
    assert [entry["status"] for entry in ledger_entries("org-a")] == ["refunded"]


def test_every_top_up_is_a_credited_entry_the_opening_balance_included(aws: dict[str, str]) -> None:
    # Given an org created with 10 tokens, then topped up with 5
    open_org("org-b", 10)
    top_up("org-b", 5)
    # Then its ledger has both credits, with their reasons, and explains its balance of 15
    entries = sorted(ledger_entries("org-b", credits=True), key=lambda entry: entry["sk"])
    assert [(entry["route"], entry["tokens"], entry["status"], entry["reason"]) for entry in entries] == [
        ("credit", 10, "credited", "opening balance"),
        ("credit", 5, "credited", "test top-up"),
    ]
    assert ledger.get_balance("org-b") == 15


def test_an_org_opened_without_tokens_has_an_empty_ledger(aws: dict[str, str]) -> None:
    # Given an org created with no tokens
    open_org("org-b", 0)
    # Then it exists, with a balance of 0 and no ledger entry (tokens are a positive count)
    assert ledger.account_exists("org-b")
    assert ledger.get_balance("org-b") == 0
    assert ledger_entries("org-b", credits=True) == []


@pytest.mark.ledger_written_by_hand
def test_a_record_that_cannot_be_written_is_reported_for_retry(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a ledger that cannot take refunds right now (throttled past botocore's retries)
    write = ledger.write_ledger_entry

    def refunds_throttled(entry: ledger.LedgerEntry, status: str, at: str) -> None:
        if status == "refunded":
            raise ServiceUnavailable("throttled")
        write(entry, status, at)

    monkeypatch.setattr(ledger, "write_ledger_entry", refunds_throttled)
    # When token_ledger consumes a hold's record (sequence 1) and its refund's (sequence 2)
    result = consume_with_token_ledger(stream_event("held", "refunded"))
    # Then the refund's record is reported failed, so Lambda delivers it again; the hold is written
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert [entry["status"] for entry in ledger_entries("org-a")] == ["held"]


def test_a_hold_then_its_charge_leave_one_charged_entry(org: str) -> None:
    # Given a route that held 10 tokens, then committed its state change
    meter = TokenMeter(org, "POST /phoneNumber/addClientPhone", 10, "request-1")
    meter.hold()
    meter.commit([])
    # Then the ledger, once the stream is consumed, has one charged entry of 10 tokens
    [entry] = ledger_entries(org)
    assert (entry["tokens"], entry["status"], entry["requestId"]) == (10, "charged", "request-1")


def test_records_a_failed_batch_left_are_delivered_again_in_order(org: str) -> None:
    # Given two charges, and a consumer that fails its first invocation
    for request in ("request-1", "request-2"):
        TokenMeter(org, "GET /phoneNumber/getAllClientPhoneNumbers", 5, request).charge()
    invocations: list[int] = []

    def flaky(event: dict[str, Any]) -> Any:
        invocations.append(len(event["Records"]))
        if len(invocations) == 1:
            raise RuntimeError("function timed out")
        return consume_with_token_ledger(event)

    delivery = token_ledger_stream(flaky)
    # When the stream is delivered twice
    delivery.deliver()
    delivery.deliver()
    # Then the second delivery carried the same records again and both charges are in the ledger
    assert invocations[1] == invocations[0]
    assert sorted(entry["requestId"] for entry in ledger_entries(org)) == ["request-1", "request-2"]
