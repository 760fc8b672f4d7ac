"""`make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json`: one function on one event, offline.

It starts the dev server's stack (moto, Twilio emulator, runner), so it runs with the other local servers'
tests (xdist group "local_server"), never beside them."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from robotappel.dal.ledger import CREDIT_ROUTE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Invoked:
    result: Any  # the Lambda result printed on stdout
    stderr: str


def make_invoke(function: str, event: str) -> Invoked:
    """`make invoke FUNCTION=... EVENT=...` with no AWS, docker nor Twilio account."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "TWILIO_"))}
    completed = subprocess.run(
        ["make", "--silent", "invoke", f"FUNCTION={function}", f"EVENT={event}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return Invoked(json.loads(completed.stdout), completed.stderr)


@pytest.fixture(scope="module")
def added() -> Invoked:
    """AddClientPhoneFunction on its event (org-demo, whose key the seed holds)."""
    return make_invoke("AddClientPhoneFunction", "events/add_client_phone.json")


def test_make_invoke_prints_the_lambda_result_of_a_function_on_its_event(added: Invoked) -> None:
    # Then it prints the function's API Gateway response: the phone registered (Twilio emulator called), charged
    assert added.result["statusCode"] == 201, added.result
    assert json.loads(added.result["body"])["phoneNumber"] == "+33612345678"
    assert added.result["multiValueHeaders"]["X-Tokens-Charged"] == ["10"]


def test_make_invoke_prints_what_the_function_logs_and_nothing_of_the_seed_or_the_stopped_server(
    added: Invoked,
) -> None:
    # Then stderr has the function's own lines only: no onboarding of the seed, no callback that found the server
    # stopped (the verification an add triggers comes after make invoke has stopped it)
    assert "organisation created" not in added.stderr
    assert "API key issued" not in added.stderr
    assert "callback" not in added.stderr


def test_make_invoke_sees_the_ledger_of_the_seed() -> None:
    # Given the seed, which onboards org-demo with an opening credit
    # When `make invoke` runs GetTokenLedgerFunction on its event (org-demo's)
    invoked = make_invoke("GetTokenLedgerFunction", "events/get_token_ledger.json")
    # Then the ledger has that credit: the stream reached the ledger before the function ran
    entries = json.loads(invoked.result["body"])["entries"]
    assert [(entry["status"], entry["route"]) for entry in entries] == [("credited", CREDIT_ROUTE)]
