"""`make preflight`: an AWS account (moto) and Twilio credentials (the emulator) checked before a first deploy."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from deploy import preflight
from local.aws import FAKE_CREDENTIALS
from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator

LOGGING_ROLE = "arn:aws:iam::123456789012:role/apigateway-cloudwatch-logs"


class Account:
    """A moto account whose Lambda concurrency is set (moto has no GetAccountSettings: stubbed)."""

    def __init__(self, concurrency: int, unreserved: int) -> None:
        self.session = boto3.Session(region_name=REGION)
        self.lambda_client = self.session.client("lambda")
        stubber = Stubber(self.lambda_client)
        settings = {"ConcurrentExecutions": concurrency, "UnreservedConcurrentExecutions": unreserved}
        stubber.add_response("get_account_settings", {"AccountLimit": settings})
        stubber.activate()

    def client(self, service: str) -> Any:
        session: Any = self.session  # any service by name, as preflight asks
        return self.lambda_client if service == "lambda" else session.client(service)

    def set_logging_role(self) -> None:
        self.session.client("apigateway").update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": LOGGING_ROLE}]
        )

    def create_secret(self, secret: dict[str, str]) -> str:
        created = self.session.client("secretsmanager").create_secret(
            Name="robotappel/twilio-dev", SecretString=json.dumps(secret)
        )
        return str(created["ARN"])


@pytest.fixture
def fresh_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def findings(account: Account, secret_arn: str, emulator: TwilioEmulator, reserves: bool = True) -> dict[str, bool]:
    found = preflight.preflight(account, secret_arn, reserves_concurrency=reserves, twilio_base_url=emulator.base_url)
    return {finding.check: finding.ok for finding in found}


def credentials(emulator: TwilioEmulator) -> dict[str, str]:
    return {"accountSid": emulator.account_sid, "authToken": emulator.auth_token}


def test_a_ready_account_passes_every_check(fresh_account: None, twilio_emulator: TwilioEmulator) -> None:
    # Given an account with the logging role, room to reserve, and the stage's Twilio secret
    account = Account(concurrency=1000, unreserved=1000)
    account.set_logging_role()
    secret_arn = account.create_secret(credentials(twilio_emulator))
    # Then nothing is missing
    assert findings(account, secret_arn, twilio_emulator) == {
        "API Gateway logging role": True,
        "Lambda concurrency": True,
        "Twilio secret": True,
        "Twilio credentials": True,
    }


def test_a_fresh_account_is_told_what_it_lacks(fresh_account: None, twilio_emulator: TwilioEmulator) -> None:
    # Given a new account: no API Gateway logging role, the concurrency quota of new accounts (10)
    account = Account(concurrency=10, unreserved=10)
    secret_arn = account.create_secret(credentials(twilio_emulator))
    found = {
        f.check: f for f in preflight.preflight(account, secret_arn, True, twilio_base_url=twilio_emulator.base_url)
    }
    # Then the logging role and the concurrency are missing, each with what to do
    assert not found["API Gateway logging role"].ok
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in found["API Gateway logging role"].detail
    assert not found["Lambda concurrency"].ok
    assert "RESERVED_CONCURRENCY=off" in found["Lambda concurrency"].detail


def test_an_account_without_room_to_reserve_passes_when_the_stage_reserves_nothing(
    fresh_account: None, twilio_emulator: TwilioEmulator
) -> None:
    account = Account(concurrency=10, unreserved=10)
    secret_arn = account.create_secret(credentials(twilio_emulator))
    assert findings(account, secret_arn, twilio_emulator, reserves=False)["Lambda concurrency"]


def test_the_concurrency_check_counts_what_the_template_reserves() -> None:
    # Given the template's reservations (buy 5, reconciler 1)
    assert preflight.reserved_concurrency() == 6


@pytest.mark.parametrize(
    "secret_arn",
    [
        "robotappel/twilio-dev",  # a name
        "arn:aws:secretsmanager:eu-west-3:123456789012:secret:robotappel/twilio-dev",  # no random suffix
    ],
)
def test_a_secret_given_other_than_by_its_full_arn_is_missing(
    fresh_account: None, twilio_emulator: TwilioEmulator, secret_arn: str
) -> None:
    account = Account(concurrency=1000, unreserved=1000)
    account.create_secret(credentials(twilio_emulator))
    assert findings(account, secret_arn, twilio_emulator)["Twilio secret"] is False


def test_a_secret_that_does_not_exist_is_missing(fresh_account: None, twilio_emulator: TwilioEmulator) -> None:
    account = Account(concurrency=1000, unreserved=1000)
    absent = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:robotappel/twilio-dev-AbCdEf"
    assert findings(account, absent, twilio_emulator) == {
        "API Gateway logging role": False,
        "Lambda concurrency": True,
        "Twilio secret": False,
    }


def test_credentials_twilio_refuses_are_missing(fresh_account: None, twilio_emulator: TwilioEmulator) -> None:
    # Given a secret whose auth token is not the account's
    account = Account(concurrency=1000, unreserved=1000)
    secret_arn = account.create_secret({"accountSid": twilio_emulator.account_sid, "authToken": "0" * 32})
    # Then Twilio's refusal is reported
    assert findings(account, secret_arn, twilio_emulator)["Twilio credentials"] is False
