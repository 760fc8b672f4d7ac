"""What operators see: EMF metrics and structured logs (correlation id, org id)."""

import json
import logging
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from tests.fixtures.aws import open_org
from tests.fixtures.lambdas import api_event, call, invoke


def emitted(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def metric_documents(output: str, name: str) -> list[dict[str, Any]]:
    return [doc for doc in emitted(output) if name in doc and "_aws" in doc]


def test_a_short_balance_emits_the_insufficient_tokens_metric(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    open_org("org-poor", 1)
    assert call("get_all_client_phone_numbers", org="org-poor").status == 402
    assert metric_documents(capsys.readouterr().out, "InsufficientTokens")


def test_a_charge_emits_tokens_charged(org: str, capsys: pytest.CaptureFixture[str]) -> None:
    call("get_all_client_phone_numbers", org=org)
    [document] = metric_documents(capsys.readouterr().out, "TokensCharged")
    assert document["TokensCharged"] in (5, [5.0], 5.0)


def test_a_twilio_error_is_counted_by_its_code(
    org: str, twilio_layer: TwilioEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    assert call("add_client_phone", org=org, body={"phoneNumber": "+33612345678"}).status == 502
    [document] = metric_documents(capsys.readouterr().out, "TwilioErrors")
    assert document["TwilioCode"] == "20500"


def test_log_lines_carry_the_request_id_as_correlation_id_and_the_org(
    org: str, twilio_layer: TwilioEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a request that logs (a Twilio failure is logged as a dependency failure)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    event = api_event("add_client_phone", org=org, body={"phoneNumber": "+33612345678"})
    invoke("add_client_phone", event)
    # Then its log line is JSON with API Gateway's request id and the caller's org
    [record] = [record for record in caplog.records if record.getMessage() == "dependency failure"]
    [powertools_handler] = logging.getLogger("phone-numbers").handlers
    line = json.loads(powertools_handler.format(record))  # the JSON line Powertools writes for it
    assert line["correlation_id"] == event["requestContext"]["requestId"]
    assert line["orgId"] == org
