"""Faults at every step of the routes that act at Twilio: whatever fails, once the reconciler has run, the
invariants hold.

- the caller gets the spec's JSON error with the right status;
- no token is charged for the failed call, except a purchase Twilio made though its answer was lost, which the
  reconciler records and charges as the purchase would have been; an add's hold is kept by the client phone
  written ahead of Twilio when Twilio may have acted (the callback or the reconciler settles it);
- no Twilio number is left bought but unrecorded, and no record points to a number Twilio no longer has.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import dynamodb, ledger, numbers
from robotappel.tokens.costs import cost_of
from robotappel.twilio import client as twilio_client
from robotappel.twilio import gateway
from tests.fixtures.aws import ledger_entries
from tests.fixtures.dynamodb_faults import DynamoDBFaults, transaction_conflict, writes_table
from tests.fixtures.invariants import assert_state_consistent
from tests.fixtures.lambdas import HttpResult, call
from tests.fixtures.reconciler import reconcile_now

US_NUMBER = {"countryCode": "US", "areaCode": "415"}
USUAL_TIMEOUT_SECONDS = twilio_client.REQUEST_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Operation:
    name: str
    twilio_method: str
    twilio_path: str  # regex of the Twilio request that does the work
    run: Callable[[dict[str, Any]], HttpResult]
    needs_number: bool = False


OPERATIONS = {
    "addClientPhone": Operation(
        "addClientPhone",
        "POST",
        r"OutgoingCallerIds\.json$",
        lambda _: call("add_client_phone", org="org-a", body={"phoneNumber": "+33612345678"}),
    ),
    "buy": Operation(
        "buy",
        "POST",
        r"IncomingPhoneNumbers\.json$",
        lambda _: call("buy_twilio_number", org="org-a", body=US_NUMBER),
    ),
    "update": Operation(
        "update",
        "POST",
        r"IncomingPhoneNumbers/PN\w+\.json$",
        lambda number: call(
            "update_phone_number", org="org-a", path_params={"id": number["id"]}, body={"friendlyName": "Renamed"}
        ),
        needs_number=True,
    ),
    "delete": Operation(
        "delete",
        "DELETE",
        r"IncomingPhoneNumbers/PN\w+\.json$",
        lambda number: call("delete_phone_number", org="org-a", path_params={"id": number["id"]}),
        needs_number=True,
    ),
}


# ------------------------------------------------------------------ the faults
def twilio_500(emulator: TwilioEmulator, operation: Operation, _: pytest.MonkeyPatch) -> None:
    emulator.inject_fault(method=operation.twilio_method, path_pattern=operation.twilio_path, status=500, code=20500)


def twilio_timeout(emulator: TwilioEmulator, operation: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
    # Twilio hangs past our timeout (and then fails, so nothing happened there).
    monkeypatch.setattr(twilio_client, "REQUEST_TIMEOUT_SECONDS", 0.3)
    twilio_client.get_twilio_client.cache_clear()
    emulator.inject_fault(
        method=operation.twilio_method, path_pattern=operation.twilio_path, status=504, code=20504, delay=0.6
    )


def twilio_answer_lost(emulator: TwilioEmulator, operation: Operation, _: pytest.MonkeyPatch) -> None:
    # Twilio does what it is asked, then the connection drops before its answer arrives.
    emulator.inject_fault(method=operation.twilio_method, path_pattern=operation.twilio_path, processed=True)


def twilio_429_storm(emulator: TwilioEmulator, operation: Operation, _: pytest.MonkeyPatch) -> None:
    emulator.inject_fault(
        method=operation.twilio_method, path_pattern=operation.twilio_path, status=429, code=20429, times=20
    )


def twilio_connection_refused(emulator: TwilioEmulator, operation: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    get_settings.cache_clear()
    twilio_client.get_twilio_client.cache_clear()


def failing_final_transaction(code: str) -> Callable[[TwilioEmulator, Operation, pytest.MonkeyPatch], None]:
    """The transaction that records the change (it writes the numbers table) fails once with `code`."""

    def inject(_: TwilioEmulator, __: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
        real_client = dynamodb.client()
        failures = [code]

        class FailingFinalTransaction:
            def __getattr__(self, name: str) -> Any:
                return getattr(real_client, name)

            def transact_write_items(self, **kwargs: Any) -> Any:
                tables = {next(iter(item.values()))["TableName"] for item in kwargs["TransactItems"]}
                if failures and get_settings().numbers_table in tables:
                    error = {"Error": {"Code": failures.pop(), "Message": "injected"}}
                    raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
                return real_client.transact_write_items(**kwargs)

        monkeypatch.setattr(dynamodb, "client", functools.cache(FailingFinalTransaction))

    return inject


def conflicting_final_transaction(_: TwilioEmulator, __: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transaction that records the change loses a race with another write (TransactionConflict)."""
    faults = DynamoDBFaults.install(monkeypatch)
    faults.arm("transact_write_items", transaction_conflict(), when=writes_table(get_settings().numbers_table))


class Killed(BaseException):
    """The function's process dies (timeout, out of memory): no except clause runs, nobody answers."""


def killed_after_twilio(emulator: TwilioEmulator, operation: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function dies at its first DynamoDB transaction after Twilio did the work: nothing it would do after
    (commit, compensation, refund) happens."""
    real_client = dynamodb.client()
    pattern, seen = re.compile(operation.twilio_path), len(emulator.requests_log)

    def twilio_acted() -> bool:
        return any(r.method == operation.twilio_method and pattern.search(r.path) for r in emulator.requests_log[seen:])

    class DyingAfterTwilio:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_client, name)

        def transact_write_items(self, **kwargs: Any) -> Any:
            if twilio_acted():
                raise Killed
            return real_client.transact_write_items(**kwargs)

    monkeypatch.setattr(dynamodb, "client", functools.cache(DyingAfterTwilio))


def killed_before_twilio(_: TwilioEmulator, __: Operation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function dies after its hold (and any write-ahead record), at its first call to Twilio."""

    def dies(*_: object, **__: object) -> None:
        raise Killed

    monkeypatch.setattr(gateway, "_call", dies)


# fault -> (how to inject it, the caller's status and error code; None: the caller gets no answer at all)
FAULTS: dict[str, tuple[Callable[[TwilioEmulator, Operation, pytest.MonkeyPatch], None], int | None, str]] = {
    "twilio 500": (twilio_500, 502, "twilio_error"),
    "twilio timeout": (twilio_timeout, 502, "twilio_error"),
    "twilio processed, answer lost": (twilio_answer_lost, 502, "twilio_error"),
    "twilio 429 storm": (twilio_429_storm, 429, "rate_limited"),
    "twilio connection refused": (twilio_connection_refused, 502, "twilio_error"),
    "dynamodb fails on the final transaction": (
        failing_final_transaction("InternalServerError"),
        503,
        "service_unavailable",
    ),
    "dynamodb throttles the final transaction": (
        failing_final_transaction("ThrottlingException"),
        503,
        "service_unavailable",
    ),
    "dynamodb transaction conflict on the final transaction": (
        conflicting_final_transaction,
        503,
        "service_unavailable",
    ),
    "function killed after its hold": (killed_before_twilio, None, ""),
    "function killed after twilio acted": (killed_after_twilio, None, ""),
}


# ------------------------------------------------------------------ the invariants
def charged_entries() -> int:
    return sum(1 for entry in ledger_entries("org-a") if entry["status"] == "charged")


TWILIO_ACTED = ("twilio processed, answer lost", "function killed after twilio acted")
# A release (DELETE by SID) is sent again after these (not after a timeout: no time for it): the second answer
# (404 if the first was applied) tells what happened, and the delete succeeds.
SENT_AGAIN_BY_A_DELETE = ("twilio 500", "twilio processed, answer lost")
DELETE_ROUTE = "DELETE /phoneNumber/deletePhoneNumber/{id}"


def held_by_client_phones() -> int:
    return sum(phone.hold.tokens for phone in numbers.list_client_phones("org-a").records if phone.hold)


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("operation_name", list(OPERATIONS))
def test_a_fault_leaves_no_charge_and_no_inconsistency(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch, operation_name: str, fault_name: str
) -> None:
    operation = OPERATIONS[operation_name]
    inject, status, error = FAULTS[fault_name]
    deleted_anyway = operation_name == "delete" and fault_name in SENT_AGAIN_BY_A_DELETE
    # Given (for update and delete) a bought number, beside another the org keeps (a Twilio account that lists no
    # number at all is no proof that one is gone: the reconciler then destroys nothing), and the fault armed
    number = {}
    if operation.needs_number:
        call("buy_twilio_number", org="org-a", body=US_NUMBER)
        number = call("buy_twilio_number", org="org-a", body=US_NUMBER).body
    balance, charges = ledger.get_balance("org-a"), charged_entries()
    database, twilio_call = dynamodb.client, gateway._call
    inject(twilio_layer, operation, monkeypatch)
    # When the route runs into it
    if status is None:
        with pytest.raises(Killed):
            operation.run(number)
    elif deleted_anyway:
        # Then the delete is done
        assert operation.run(number).status == 200
    else:
        result = operation.run(number)
        # Then the caller gets the spec's error
        assert (result.status, result.body["error"]) == (status, error), result.body
        assert isinstance(result.body["message"], str)
        if status in (429, 503):
            assert int(result.headers["Retry-After"]) > 0
    # And once Twilio and DynamoDB are back and the reconciler has run, Twilio and the table agree, and nothing is
    # charged but a purchase Twilio made (an add's hold stays with its pending phone until the callback or window)
    restore_twilio(monkeypatch, twilio_layer)
    monkeypatch.setattr(dynamodb, "client", database)
    monkeypatch.setattr(gateway, "_call", twilio_call)
    reconcile_now(monkeypatch)
    bought_anyway = operation_name == "buy" and fault_name in TWILIO_ACTED
    spent = 40 if bought_anyway else cost_of(DELETE_ROUTE) if deleted_anyway else 0
    assert ledger.get_balance("org-a") + held_by_client_phones() == balance - spent
    assert charged_entries() == charges + (1 if bought_anyway or deleted_anyway else 0)
    assert_state_consistent(twilio_layer)


def restore_twilio(monkeypatch: pytest.MonkeyPatch, emulator: TwilioEmulator) -> None:
    """Twilio reachable again with the client's usual timeout (twilio_timeout and twilio_connection_refused
    changed them), the rest of the test's set-up kept."""
    monkeypatch.setenv("TWILIO_API_BASE_URL", emulator.base_url)
    monkeypatch.setattr(twilio_client, "REQUEST_TIMEOUT_SECONDS", USUAL_TIMEOUT_SECONDS)
    get_settings.cache_clear()
    twilio_client.get_twilio_client.cache_clear()
