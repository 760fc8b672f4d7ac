"""Onboarding a customer on `make run` as the README tells an operator to: the operators' tool (`--local`) creates
the org and its key, the customer calls the API with that key, the tool tops it up and revokes keys."""

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from local.aws import FAKE_CREDENTIALS
from local.lambda_runtime import REGION
from robotappel.dal.apigateway import api_key_name
from tests.fixtures.server import ROOT, LocalServer, subaccount_of

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]
TIMEOUT = 30
LEDGER_DELAY_SECONDS = 2  # on AWS the TokensTable stream reaches the ledger within about a second


def admin_tool(server: LocalServer, *arguments: str) -> Any:
    """`python -m robotappel_admin --local ...` against this server; its JSON answer."""
    completed = subprocess.run(
        [sys.executable, "-m", "robotappel_admin", "--local", *arguments],
        cwd=ROOT,
        env={**os.environ, "LOCAL_STAGE_FILE": str(server.stage_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def balance(server: LocalServer, api_key: str) -> requests.Response:
    return requests.get(f"{server.url}/tokens/balance", headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT)


def test_an_operator_onboards_a_customer_who_then_calls_the_api(local_server: LocalServer) -> None:
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    # When the operator onboards it with 100 tokens
    onboarded = admin_tool(local_server, "onboard", org_id, "--tokens", "100")
    # Then the customer's key works at once, with 100 tokens
    answer = balance(local_server, onboarded["apiKey"]["apiKey"])
    assert (answer.status_code, answer.json()) == (200, {"orgId": org_id, "balance": 100})

    # When the operator tops it up, then the customer sees the new balance and the credit in its ledger
    admin_tool(local_server, "credit", org_id, "50", "--reason", "Invoice 42")
    assert balance(local_server, onboarded["apiKey"]["apiKey"]).json()["balance"] == 150

    # When the operator issues a second key and revokes it before it is ever used
    second = admin_tool(local_server, "keys", "issue", org_id)
    admin_tool(local_server, "keys", "revoke", second["keyId"])
    # Then that key is refused, the first still works, and the list shows both by their hint
    assert balance(local_server, second["apiKey"]).status_code == 401
    assert balance(local_server, onboarded["apiKey"]["apiKey"]).status_code == 200
    listed = admin_tool(local_server, "keys", "list", org_id)
    assert [(key["hint"], key["revokedAt"] is not None) for key in listed] == [
        (onboarded["apiKey"]["apiKey"][-4:], False),
        (second["apiKey"][-4:], True),
    ]


def test_an_org_the_operator_onboards_gets_its_own_twilio_subaccount(local_server: LocalServer) -> None:
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    # When the operator onboards it
    admin_tool(local_server, "onboard", org_id, "--tokens", "100")
    # Then its subaccount is recorded, and is one the emulator made under the parent account, named after the org
    account = local_server.twilio.account(subaccount_of(local_server.moto_url, org_id))
    assert account["owner_account_sid"] == local_server.twilio.account_sid != account["sid"]
    assert org_id in account["friendly_name"]


def test_the_tool_refuses_an_org_that_exists(local_server: LocalServer) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "robotappel_admin", "--local", "orgs", "create", "org-demo"],
        cwd=ROOT,
        env={**os.environ, "LOCAL_STAGE_FILE": str(local_server.stage_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.strip() == "Error: org_exists: Organisation org-demo exists already."


def test_a_credit_made_outside_a_request_reaches_the_ledger_without_another_request(local_server: LocalServer) -> None:
    # Given a customer onboarded by the operators' tool, whose opening credit is in its ledger by now
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    api_key = admin_tool(local_server, "onboard", org_id, "--tokens", "100")["apiKey"]["apiKey"]
    # When the tool credits it, and nobody calls the API for a moment
    admin_tool(local_server, "credit", org_id, "50", "--reason", "Invoice 42")
    time.sleep(LEDGER_DELAY_SECONDS)
    # Then the first request after that sees the credit in the ledger, newest first
    ledger = requests.get(
        f"{local_server.url}/tokens/ledger", headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT
    )
    assert ledger.status_code == 200
    assert [(entry["status"], entry["tokens"]) for entry in ledger.json()["entries"]] == [
        ("credited", 50),
        ("credited", 100),
    ]


def test_a_key_the_tool_revokes_is_refused_at_once_though_its_allow_was_cached(local_server: LocalServer) -> None:
    # Given a customer's second key, already used (its Allow in the gateway's authorizer cache)
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    admin_tool(local_server, "onboard", org_id)
    second = admin_tool(local_server, "keys", "issue", org_id)
    assert balance(local_server, second["apiKey"]).status_code == 200
    # When the operator revokes it with the tool
    admin_tool(local_server, "keys", "revoke", second["keyId"])
    # Then its next call is refused: the tool flushed the stage's authorizer cache, as the admin route does
    assert balance(local_server, second["apiKey"]).status_code == 401


def test_an_org_is_served_through_the_plan_the_tool_moves_it_to_and_refused_in_none(local_server: LocalServer) -> None:
    # Given a customer onboarded (its API key in the default plan), whose requests are served
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    key = admin_tool(local_server, "onboard", org_id)["apiKey"]["apiKey"]
    assert [plan["plan"] for plan in admin_tool(local_server, "plans", "list")] == ["default", "large"]
    assert balance(local_server, key).status_code == 200
    # When the operator moves it to the large plan / Then it is served through that plan
    assert admin_tool(local_server, "plans", "move", org_id, "large") == {"orgId": org_id, "plan": "large"}
    assert balance(local_server, key).status_code == 200
    # When its API key leaves that plan (API Gateway's management API, the dev server's)
    management: Any = boto3.client(
        "apigateway",
        endpoint_url=local_server.url,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    [api_key] = management.get_api_keys(nameQuery=api_key_name("dev", org_id))["items"]
    [large] = management.get_usage_plans(keyId=api_key["id"])["items"]
    management.delete_usage_plan_key(usagePlanId=large["id"], keyId=api_key["id"])
    # Then its requests are refused as API Gateway refuses a key in no plan; the backfill puts it back
    refused = balance(local_server, key)
    assert (refused.status_code, refused.json()["error"]) == (403, "no_usage_plan")
    assert {"orgId": org_id, "plan": "default"} in admin_tool(local_server, "plans", "backfill")
    assert balance(local_server, key).status_code == 200
