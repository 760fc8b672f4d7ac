"""`make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json`: one function on one event, offline.

It starts the dev server's stack (moto, Twilio emulator, runner), so it runs with the other local servers'
tests (xdist group "local_server"), never beside them."""

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300


def test_make_invoke_prints_the_lambda_result_of_a_function_on_its_event() -> None:
    # Given the event of addClientPhone (org-demo, whose key the seed holds) and no AWS, docker nor Twilio account
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "TWILIO_"))}
    # When `make invoke` runs AddClientPhoneFunction on it
    completed = subprocess.run(
        ["make", "--silent", "invoke", "FUNCTION=AddClientPhoneFunction", "EVENT=events/add_client_phone.json"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    # Then it prints the function's API Gateway response: the phone registered (Twilio emulator called), charged
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["statusCode"] == 201, result
    assert json.loads(result["body"])["phoneNumber"] == "+33612345678"
    assert result["multiValueHeaders"]["X-Tokens-Charged"] == ["10"]
