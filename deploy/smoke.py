"""`make smoke STAGE=dev|prod`: a deployed stage checked from outside, as its client and its operator use it.

Its keys are issued by the stack's own onboarding path (the operators' tool, robotappel_admin, with the deploy
role's AWS credentials) to the org `smoke`, and revoked at the end; nothing is written by hand.

- dev (its Twilio secret holds Twilio's test credentials): a whole flow — tokens credited, +15005550006 bought
  (Twilio's test number that always buys), balance and ledger read (the stream's ledger entry included), the
  number deleted — and every other route called once, so that every function is initialised and answers;
- prod: read-only — the balance and the ledger of the smoke org;
- both: the reconciler's last scheduled run (its invocations and errors, CloudWatch) within the last runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import requests

from local import template

SMOKE_ORG = "smoke"
# Only operator orgs hold admin keys (#27): the smoke test's admin key is its own operator org's.
SMOKE_OPERATOR_ORG = "smoke-operator"
BUY = "+15005550006"  # Twilio's test-credential number that always buys
TIMEOUT = 30
# The reconciler runs every 5 minutes (template.yaml): its last run is at most this old, or it is not running.
RECONCILER_WITHIN = timedelta(minutes=11)
RECONCILER_PATIENCE_MINUTES = 7  # after a first deploy, before its first run (CloudWatch shows it a minute later)


class SmokeFailed(Exception):
    pass


@dataclass(frozen=True)
class Operator:
    """The operators' tool on this stage: `python -m robotappel_admin <where> ...`, its JSON answer."""

    where: list[str]
    environment: dict[str, str] = field(default_factory=dict)

    def __call__(self, *arguments: str, check: bool = True) -> Any:
        done = subprocess.run(  # noqa: S603  # this Python, the repository's own tool
            [sys.executable, "-m", "robotappel_admin", *self.where, *arguments],
            env={**os.environ, **self.environment},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode and check:
            raise SmokeFailed(f"robotappel_admin {' '.join(arguments)}: {done.stderr.strip()}")
        return json.loads(done.stdout) if done.returncode == 0 else None

    @contextmanager
    def key(self, role: str = "member") -> Iterator[str]:
        """A key of the smoke org, or for `admin` of the smoke operator org (each created on first use), revoked when
        the block ends."""
        org = SMOKE_OPERATOR_ORG if role == "admin" else SMOKE_ORG
        if self("keys", "list", org, check=False) is None:
            self("orgs", "create", org, *(["--operator"] if role == "admin" else []))
        issued = self("keys", "issue", org, "--role", role)
        try:
            yield str(issued["apiKey"])
        finally:
            self("keys", "revoke", issued["keyId"])


@dataclass
class Client:
    api_url: str
    key: str
    called: set[tuple[str, str]] = field(default_factory=set)  # (method, route path) of the template

    def call(self, method: str, route: str, body: Any = None, key: str | None = None, **params: str) -> Any:
        """One request to a route of the template, `params` filling its path; a 5xx (a function that failed, or
        did not initialise) fails the smoke test."""
        self.called.add((method, route))
        path = re.sub(r"\{(\w+)\}", lambda name: params[name[1]], route)
        response = requests.request(
            method,
            self.api_url.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {key or self.key}"},
            timeout=TIMEOUT,
        )
        if response.status_code >= 500:
            raise SmokeFailed(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def expect(self, status: int, method: str, route: str, **kwargs: Any) -> Any:
        response = self.call(method, route, **kwargs)
        if response.status_code != status:
            raise SmokeFailed(f"{method} {route}: {response.status_code}, not {status}: {response.text[:300]}")
        return response.json() if response.content else None


def read_only(client: Client) -> None:
    client.expect(200, "GET", "/tokens/balance")
    client.expect(200, "GET", "/tokens/ledger")


def whole_flow(client: Client, admin_key: str, wait: Callable[[float], None] = time.sleep) -> None:
    """Every route of the template, the buy-balance-ledger-delete flow among them."""
    admin, org = {"key": admin_key}, {"orgId": SMOKE_ORG}
    credit = {"tokens": 100, "reason": "smoke test"}
    client.expect(200, "POST", "/admin/orgs/{orgId}/credits", body=credit, **admin, **org)
    before = client.expect(200, "GET", "/tokens/balance")["balance"]
    to_buy = {"countryCode": "US", "phoneNumber": BUY}
    bought = {"id": client.expect(201, "POST", "/phoneNumber/buyTwilioNumberAndActivate", body=to_buy)["id"]}
    if client.expect(200, "GET", "/tokens/balance")["balance"] >= before:
        raise SmokeFailed("the purchase was not charged")
    for _ in range(30):  # the ledger trails the balance by the stream (about a second)
        entries = client.expect(200, "GET", "/tokens/ledger")["entries"]
        if any(entry["route"] == "POST /phoneNumber/buyTwilioNumberAndActivate" for entry in entries):
            break
        wait(1)
    else:
        raise SmokeFailed("the purchase's ledger entry never came (TokenLedgerFunction, the stream)")
    client.expect(200, "GET", "/phoneNumber/GetTwilioPhoneNumberByOrg")
    client.expect(200, "GET", "/phoneNumber/getOrgPhoneNumberList")
    client.expect(200, "GET", "/phoneNumber/getOrgPhoneNumberList/{orgId}", **org)
    client.expect(200, "GET", "/phoneNumber/getAllClientPhoneNumbers")
    client.expect(200, "GET", "/phoneNumber/regulatory")
    # Refused before Twilio is asked (test credentials reach none of those resources): each function answers.
    unknown_phone = {"clientPhoneNumber": "+15005550001"}
    client.expect(
        404, "GET", "/phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{clientPhoneNumber}", **unknown_phone
    )
    client.expect(422, "POST", "/phoneNumber/addClientPhone", body={"phoneNumber": "not a number"})
    client.expect(422, "PATCH", "/phoneNumber/updatePhoneNumber/{id}", body={"unknown": True}, **bought)
    client.expect(422, "PUT", "/phoneNumber/regulatory/{countryCode}", body={}, countryCode="FR")
    for callback in ("/phoneNumber/twilio/validationStatus", "/phoneNumber/twilio/callStatus"):
        client.expect(403, "POST", callback)  # unsigned: refused
        client.expect(403, "POST", callback + "/{id}", **bought)
    client.expect(409, "POST", "/admin/orgs", body=org, **admin)
    client.expect(200, "GET", "/admin/orgs/{orgId}/apiKeys", **admin, **org)
    issued = client.expect(201, "POST", "/admin/orgs/{orgId}/apiKeys", body={"role": "member"}, **admin, **org)
    client.expect(200, "DELETE", "/admin/apiKeys/{keyId}", keyId=issued["keyId"], **admin)
    client.expect(200, "PUT", "/admin/orgs/{orgId}/usagePlan", body={"plan": "default"}, **admin, **org)
    # Not suspended for real: its subaccount would be suspended at Twilio too (a status it does not know: 422).
    client.expect(422, "PUT", "/admin/orgs/{orgId}/status", body={"status": "closed"}, **admin, **org)
    client.expect(200, "DELETE", "/phoneNumber/deletePhoneNumber/{id}", **bought)
    read_only(client)


def untested_routes(client: Client) -> set[tuple[str, str]]:
    return {(route.method, route.path) for route in template.routes()} - client.called


def reconciler_last_run(cloudwatch: Any, function_name: str, now: datetime) -> str:
    """Its last run within RECONCILER_WITHIN, and no error since; what it found, else."""

    def total(metric: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": function_name}],
            StartTime=now - RECONCILER_WITHIN, EndTime=now, Period=60, Statistics=["Sum"],
        )["Datapoints"]  # fmt: skip
        return float(sum(point["Sum"] for point in points))

    runs, errors = total("Invocations"), total("Errors")
    if not runs:
        raise SmokeFailed(f"{function_name} has not run in the last {RECONCILER_WITHIN} (its schedule?)")
    if errors:
        raise SmokeFailed(f"{function_name} failed {errors:.0f} of its last {runs:.0f} runs")
    return f"{function_name}: {runs:.0f} runs in the last {RECONCILER_WITHIN}, no error"


def first_reconciler_run(look: Callable[[], str], wait: Callable[[float], None] = time.sleep) -> str:
    """A stage deployed for the first time has its first scheduled run within one period: wait for it."""
    for _ in range(RECONCILER_PATIENCE_MINUTES):
        try:
            return look()
        except SmokeFailed as failure:
            if "has not run" not in str(failure):
                raise
            wait(60)
    return look()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__)
    parser.add_argument("--stage", required=True, choices=template.load()["Parameters"]["Stage"]["AllowedValues"])
    args = parser.parse_args(argv)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    stack = f"robotappel-phone-numbers-{args.stage}"
    session = boto3.Session(region_name=region)
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    api_url = next(output["OutputValue"] for output in outputs if output["OutputKey"] == "ApiUrl")
    reconciler = session.client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId="ReconcilerFunction"
    )["StackResourceDetail"]["PhysicalResourceId"]
    operator = Operator(["--stack", stack, "--region", region])
    try:
        with operator.key() as member:
            client = Client(api_url, member)
            if args.stage == "prod":
                read_only(client)
            else:
                with operator.key("admin") as admin:
                    whole_flow(client, admin)
                if untested_routes(client):
                    raise SmokeFailed(f"routes never called: {sorted(untested_routes(client))}")
        print(
            first_reconciler_run(
                lambda: reconciler_last_run(session.client("cloudwatch"), reconciler, datetime.now(UTC))
            )
        )
    except SmokeFailed as failure:
        print(f"smoke test of {stack} failed: {failure}", file=sys.stderr)
        return 1
    print(f"smoke test of {stack} passed ({len(client.called)} routes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
