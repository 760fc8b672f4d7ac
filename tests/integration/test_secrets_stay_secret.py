"""The Twilio auth token and API keys never appear in a log line or a response, whatever the route does."""

import logging

import pytest

from local.twilio_emulator import TwilioEmulator
from tests.fixtures.aws import CALL_STATUS_URL, issue_key, open_org
from tests.fixtures.lambdas import api_event, call, call_webhook, run_handler
from tests.fixtures.twilio import org_account

API_KEY = "ra_live_7c1f0e9b2d4a6c8e"  # distinctive, so a leak cannot hide behind a common word


def exercise_every_route(emulator: TwilioEmulator) -> list[str]:
    """Runs the API once through success and failure paths; returns every response body as text."""
    authorizer_event = api_event("authorizer", headers={"Authorization": f"Bearer {API_KEY}"})
    run_handler("authorizer", authorizer_event)
    bad_key_event = api_event("authorizer", headers={"Authorization": f"Bearer {API_KEY}-wrong"})
    run_handler("authorizer", bad_key_event)
    results = [
        call("add_client_phone", body={"phoneNumber": "+33612345678"}),
        call("buy_twilio_number", body={"countryCode": "US"}),
        call("buy_twilio_number", body={"phoneNumber": "+15005550000"}),
        call("get_all_client_phone_numbers"),
        call("get_org_phone_number_list", path_params={"orgId": "org-a"}),
    ]
    emulator.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=401, code=20003)
    results.append(call("add_client_phone", body={"phoneNumber": "+33612345679"}))
    account = org_account(emulator, "org-a")
    params = {"AccountSid": account["sid"], "CallSid": "CA" + "1" * 32, "CallStatus": "completed", "To": "+14155550100"}
    results.append(call_webhook("call_status_webhook", CALL_STATUS_URL, account["auth_token"], params))
    results.append(call_webhook("call_status_webhook", CALL_STATUS_URL, account["auth_token"], params, "forged"))
    return [str(result.body) + str(result.headers) for result in results]


def test_no_secret_in_any_log_line_or_response(
    aws: dict[str, str],
    twilio_layer: TwilioEmulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an org whose API key is known to the authorizer, and Twilio credentials in Secrets Manager
    open_org("org-a", 1000)
    issue_key("org-a", API_KEY)
    # INFO is what production logs at (template: POWERTOOLS_LOG_LEVEL). botocore at DEBUG prints raw response
    # bodies, Secrets Manager's included: never turn botocore's logger to DEBUG in a deployed stage.
    caplog.set_level(logging.INFO)
    # When every route runs, through successes and failures
    responses = exercise_every_route(twilio_layer)
    # Then neither the auth tokens (the parent's, the org's subaccount's) nor the API key was ever written or answered
    captured = capsys.readouterr()
    text = "\n".join([captured.out, captured.err, caplog.text, *responses])
    assert "TokensCharged" in text, "the capture saw nothing: this test would prove nothing"
    for secret in (twilio_layer.auth_token, org_account(twilio_layer, "org-a")["auth_token"], API_KEY):
        assert secret not in text
