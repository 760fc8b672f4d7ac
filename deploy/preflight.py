"""`make preflight STAGE=dev`: what an AWS account and region need before the stack's first deploy, each checked;
what is missing is printed with what to do (README, Deploy). Read-only: it changes nothing.

Settings from the environment, as the deploy workflow passes them per stage: AWS_REGION, TWILIO_SECRET_ARN,
RESERVED_CONCURRENCY (on|off, template parameter ReservedConcurrency); TWILIO_API_BASE_URL points the credential
check elsewhere than Twilio (the tests' emulator).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from botocore.exceptions import ClientError

from local import template

TWILIO_API_URL = "https://api.twilio.com"
# Lambda keeps this much of an account's concurrency unreserved: a reservation that would leave less is refused,
# and the stack's creation fails (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
MIN_UNRESERVED_CONCURRENCY = 100
# Twilio's answer to a valid pair of test credentials on a resource they cannot use: they authenticated.
TWILIO_TEST_CREDENTIALS_REFUSED = 20008


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok     ' if self.ok else 'MISSING'} {self.check}: {self.detail}"


def api_gateway_logging_role(apigateway: Any) -> Finding:
    """The stage's access logs (Api AccessLogSetting) need the account's CloudWatch Logs role, once per region."""
    role = apigateway.get_account().get("cloudwatchRoleArn")
    if role:
        return Finding("API Gateway logging role", True, role)
    return Finding(
        "API Gateway logging role",
        False,
        "this region's API Gateway has no CloudWatch Logs role (the access logs would fail the stack): "
        "create one with AmazonAPIGatewayPushToCloudWatchLogs and set it (README, Deploy: once per account)",
    )


def reserved_concurrency() -> int:
    """What the template reserves, summed over its functions (ReservedConcurrency=on)."""
    total = 0
    for resource in template.resources("AWS::Serverless::Function").values():
        reserved = resource["Properties"].get("ReservedConcurrentExecutions")
        if isinstance(reserved, dict):  # !If [ReservesConcurrency, N, !Ref AWS::NoValue]
            reserved = reserved["Fn::If"][1]
        total += int(reserved or 0)
    return total


def lambda_concurrency(lambda_client: Any, reserved: int) -> Finding:
    limits = lambda_client.get_account_settings()["AccountLimit"]
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    detail = f"{reserved} to reserve, {unreserved} unreserved of {limits['ConcurrentExecutions']}"
    if reserved == 0 or unreserved - reserved >= MIN_UNRESERVED_CONCURRENCY:
        return Finding("Lambda concurrency", True, detail)
    return Finding(
        "Lambda concurrency",
        False,
        f"{detail}: Lambda keeps {MIN_UNRESERVED_CONCURRENCY} unreserved, so the stack would fail. Ask for more "
        "(Service Quotas: Lambda, Concurrent executions, L-B99A9384) or deploy this stage with "
        "RESERVED_CONCURRENCY=off",
    )


def secret_arn_pattern() -> str:
    return str(template.load()["Parameters"]["TwilioSecretArn"]["AllowedPattern"])


def twilio_secret(secretsmanager: Any, secret_arn: str) -> tuple[Finding, dict[str, Any] | None]:
    check = "Twilio secret"
    if not re.fullmatch(secret_arn_pattern(), secret_arn):
        return Finding(
            check,
            False,
            f"TWILIO_SECRET_ARN={secret_arn!r} is not a secret's full ARN (with its 6-character suffix): "
            "aws secretsmanager describe-secret --secret-id <name> --query ARN",
        ), None
    try:
        secret = json.loads(secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"])
    except ClientError as error:
        return Finding(check, False, f"{secret_arn} cannot be read: {error.response['Error']['Code']}"), None
    except ValueError:
        return Finding(check, False, f"{secret_arn} is not JSON"), None
    missing = [name for name in ("accountSid", "authToken") if not secret.get(name)]
    if missing:
        return Finding(check, False, f"{secret_arn} lacks {', '.join(missing)}"), None
    return Finding(check, True, secret_arn), secret


def twilio_credentials(secret: dict[str, Any], base_url: str = TWILIO_API_URL) -> Finding:
    """One authenticated read of the account (no purchase, nothing written)."""
    account_sid = secret["accountSid"]
    auth = (
        (secret["apiKeySid"], secret["apiKeySecret"])
        if secret.get("apiKeySid") and secret.get("apiKeySecret")
        else (account_sid, secret["authToken"])
    )
    url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json"
    response = requests.get(url, params={"PageSize": 1}, auth=auth, timeout=10)
    if response.ok:
        return Finding("Twilio credentials", True, f"account {account_sid}")
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    if is_json and response.json().get("code") == TWILIO_TEST_CREDENTIALS_REFUSED:
        return Finding("Twilio credentials", True, f"account {account_sid}: test credentials")
    return Finding("Twilio credentials", False, f"Twilio refused them for {account_sid}: HTTP {response.status_code}")


def preflight(
    session: Any, secret_arn: str, reserves_concurrency: bool, twilio_base_url: str = TWILIO_API_URL
) -> list[Finding]:
    findings = [
        api_gateway_logging_role(session.client("apigateway")),
        lambda_concurrency(session.client("lambda"), reserved_concurrency() if reserves_concurrency else 0),
    ]
    secret_finding, secret = twilio_secret(session.client("secretsmanager"), secret_arn)
    findings.append(secret_finding)
    if secret is not None:
        findings.append(twilio_credentials(secret, twilio_base_url))
    return findings


def main(argv: list[str] | None = None, session_factory: Callable[..., Any] = boto3.Session) -> int:
    parser = argparse.ArgumentParser(prog="make preflight", description=__doc__)
    parser.add_argument("--stage", required=True, choices=template.load()["Parameters"]["Stage"]["AllowedValues"])
    args = parser.parse_args(argv)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    findings = preflight(
        session_factory(region_name=region),
        secret_arn=os.environ.get("TWILIO_SECRET_ARN", ""),
        reserves_concurrency=os.environ.get("RESERVED_CONCURRENCY", "on") == "on",
        twilio_base_url=os.environ.get("TWILIO_API_BASE_URL") or TWILIO_API_URL,
    )
    print(f"Before deploying stage {args.stage} in {region}:")
    for finding in findings:
        print(f"  {finding}")
    return 0 if all(finding.ok for finding in findings) else 1


if __name__ == "__main__":
    sys.exit(main())
