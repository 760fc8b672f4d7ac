"""The operators' tool (`python -m robotappel_admin`) on a deployed stage: a CloudFormation stack whose outputs
name the tables, as template.yaml's do (moto's CloudFormation and DynamoDB)."""

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from robotappel.config import Settings
from robotappel.dal import api_keys, apigateway, ledger, subaccounts
from robotappel.dal.apigateway import ApiStage
from robotappel_admin.cli import cli
from robotappel_admin.stage import deployed
from tests.fixtures.aws import TWILIO_SECRET_ID, ledger_entries

STACK = "robotappel-phone-numbers-dev"
API_ID = "a1b2c3d4e5"


@pytest.fixture
def stack(aws: dict[str, str]) -> str:
    """A stack with the outputs of template.yaml that name the tables (the aws fixture's tables)."""
    template = {
        "Parameters": {"TwilioSecretArn": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},  # a stack needs a resource; any will do
        "Outputs": {
            output: {"Value": aws[logical_id]}
            for output, logical_id in (
                ("NumbersTableName", "NumbersTable"),
                ("TokensTableName", "TokensTable"),
                ("ApiKeysTableName", "ApiKeysTable"),
                ("IdempotencyTableName", "IdempotencyTable"),
            )
        }
        | {"ApiUrl": {"Value": f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/dev"}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "TwilioSecretArn", "ParameterValue": TWILIO_SECRET_ID}],
    )
    return STACK


def run(*arguments: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(arguments))


def admin(*arguments: str) -> Result:
    return run("--stack", STACK, "--region", REGION, *arguments)


def answer(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class TestOnADeployedStack:
    def test_onboard_creates_the_org_with_its_balance_and_a_first_key_that_works(self, stack: str) -> None:
        # When an operator onboards org-acme, an operator org, with 500 tokens (its first key: an admin key)
        onboarded = answer(admin("onboard", "org-acme", "--tokens", "500", "--operator"))
        # Then the org has 500 tokens, credited to its ledger, and the key shown authenticates as its admin
        assert onboarded["org"] == {"orgId": "org-acme", "balance": 500}
        assert ledger.get_balance("org-acme") == 500
        assert [entry["status"] for entry in ledger_entries("org-acme", credits=True)] == ["credited"]
        record = api_keys.find(onboarded["apiKey"]["apiKey"])
        assert record is not None
        assert (record.org_id, record.role, record.key_id) == ("org-acme", "admin", onboarded["apiKey"]["keyId"])

    def test_keys_are_issued_listed_by_hint_and_revoked(self, stack: str) -> None:
        # Given org-acme
        answer(admin("orgs", "create", "org-acme"))
        # When a key is issued, then revoked
        issued = answer(admin("keys", "issue", "org-acme"))
        revoked = answer(admin("keys", "revoke", issued["keyId"]))
        # Then the list shows it by its hint, revoked, and the key no longer authenticates
        [listed] = answer(admin("keys", "list", "org-acme"))
        assert listed == {
            "keyId": issued["keyId"],
            "orgId": "org-acme",
            "role": "member",
            "createdAt": issued["createdAt"],
            "revokedAt": revoked["revokedAt"],
            "hint": issued["apiKey"][-4:],
        }
        record = api_keys.find(issued["apiKey"])
        assert record is not None
        assert record.revoked_at == revoked["revokedAt"]

    def test_revoking_a_key_flushes_the_stacks_authorizer_cache(
        self, stack: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a key of org-acme, and API Gateway's flushes recorded
        answer(admin("orgs", "create", "org-acme"))
        issued = answer(admin("keys", "issue", "org-acme"))
        flushed: list[ApiStage] = []
        monkeypatch.setattr(apigateway, "flush_authorizer_cache", flushed.append)
        # When an operator revokes it with the tool
        result = admin("keys", "revoke", issued["keyId"])
        # Then the stack's API stage (its ApiUrl) had its authorizer cache flushed, as the admin route does
        assert result.exit_code == 0, result.output
        assert flushed == [ApiStage(API_ID, "dev")]
        assert result.stderr == ""

    def test_a_revocation_whose_flush_fails_stands_and_says_so(self, stack: str) -> None:
        # Given a key of org-acme, and API Gateway failing to flush (moto has no authorizer cache)
        answer(admin("orgs", "create", "org-acme"))
        issued = answer(admin("keys", "issue", "org-acme"))
        # When an operator revokes it
        result = admin("keys", "revoke", issued["keyId"])
        # Then it is revoked, with a warning that it may work a while longer
        assert answer(result)["keyId"] == issued["keyId"]
        assert result.stderr.startswith("warning: authorizer cache not flushed")
        record = api_keys.find(issued["apiKey"])
        assert record is not None
        assert record.revoked_at is not None

    def test_an_org_is_moved_to_another_plan_and_the_backfill_enrols_the_orgs_made_before_plans(
        self, stack: str
    ) -> None:
        # Given org-acme (in the default plan) and org-old, made before orgs had a usage plan
        answer(admin("orgs", "create", "org-acme"))
        ledger.open_account("org-old", "2026-01-01T00:00:00Z", None)
        # When an operator lists the plans, moves org-acme to the large one and runs the backfill
        assert [plan["plan"] for plan in answer(admin("plans", "list"))] == ["default", "large"]
        assert answer(admin("plans", "move", "org-acme", "large")) == {"orgId": "org-acme", "plan": "large"}
        enrolled = answer(admin("plans", "backfill"))
        # Then org-acme stays in the large plan, and org-old is in the default one
        assert sorted(enrolled, key=lambda plan: plan["orgId"]) == [
            {"orgId": "org-acme", "plan": "large"},
            {"orgId": "org-old", "plan": "default"},
        ]

    def test_an_org_is_suspended_and_reactivated_here_and_at_twilio(
        self, stack: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given org-acme with its Twilio subaccount, and API Gateway's flushes recorded
        answer(admin("orgs", "create", "org-acme"))
        account_sid = subaccounts.of_org("org-acme")
        assert account_sid is not None
        flushed: list[ApiStage] = []
        monkeypatch.setattr(apigateway, "flush_authorizer_cache", flushed.append)
        # When an operator suspends it with the tool
        suspended = answer(admin("orgs", "suspend", "org-acme"))
        # Then the org and its subaccount are suspended, and the stage's authorizer cache was flushed
        assert suspended["status"] == "suspended"
        assert ledger.suspended_since("org-acme") == suspended["suspendedAt"]
        assert twilio_layer.account(account_sid)["status"] == "suspended"
        assert flushed == [ApiStage(API_ID, "dev")]
        # And reactivating restores both
        assert answer(admin("orgs", "reactivate", "org-acme"))["status"] == "active"
        assert ledger.suspended_since("org-acme") is None
        assert twilio_layer.account(account_sid)["status"] == "active"

    def test_suspending_an_operator_org_without_the_operator_flag_is_refused(
        self, stack: str, twilio_layer: TwilioEmulator
    ) -> None:
        # Given operator org org-ops
        answer(admin("orgs", "create", "org-ops", "--operator"))
        # When an operator suspends it without --operator
        result = admin("orgs", "suspend", "org-ops")
        # Then it is refused, and org-ops stays active
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: operator_org: ")
        assert ledger.suspended_since("org-ops") is None

    def test_the_operator_flag_suspends_an_operator_org(self, stack: str, twilio_layer: TwilioEmulator) -> None:
        # Given operator org org-ops
        answer(admin("orgs", "create", "org-ops", "--operator"))
        # When an operator suspends it with --operator
        suspended = answer(admin("orgs", "suspend", "org-ops", "--operator"))
        # Then it is suspended
        assert suspended["status"] == "suspended"
        assert ledger.suspended_since("org-ops") == suspended["suspendedAt"]

    def test_a_credit_is_a_ledger_entry_with_its_reason(self, stack: str) -> None:
        answer(admin("orgs", "create", "org-acme", "--tokens", "10"))
        credited = answer(admin("credit", "org-acme", "90", "--reason", "Invoice 42"))
        assert (credited["orgId"], credited["balance"]) == ("org-acme", 100)
        reasons = {entry["entryId"]: entry["reason"] for entry in ledger_entries("org-acme", credits=True)}
        assert reasons[credited["entryId"]] == "Invoice 42"

    def test_a_refusal_is_one_line_on_stderr_and_exit_status_1(self, stack: str) -> None:
        # When an operator credits an org that does not exist
        result = admin("credit", "org-ghost", "5", "--reason", "gift")
        # Then it says so, and nothing is created
        assert result.exit_code == 1
        assert result.stderr.strip() == "Error: org_not_found: No organisation org-ghost."
        assert not ledger.account_exists("org-ghost")

    def test_onboarding_a_customer_with_an_admin_key_is_refused_before_anything_is_written(self, stack: str) -> None:
        # When an operator onboards org-acme (a customer: not --operator) with an admin key
        result = admin("onboard", "org-acme", "--role", "admin")
        # Then it is refused, role_not_allowed, and neither the org nor a key exists
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: role_not_allowed: ")
        assert not ledger.account_exists("org-acme")

    def test_an_admin_key_for_a_customer_org_is_refused(self, stack: str) -> None:
        answer(admin("orgs", "create", "org-acme"))
        result = admin("keys", "issue", "org-acme", "--role", "admin")
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: role_not_allowed: ")
        assert api_keys.list_for_org("org-acme") == []

    def test_an_org_made_an_operator_may_then_hold_admin_keys(self, stack: str) -> None:
        # Given org-staff, created before orgs said whether they are operators
        answer(admin("orgs", "create", "org-staff"))
        # When an operator makes it an operator org
        assert answer(admin("orgs", "make-operator", "org-staff")) == {"orgId": "org-staff", "operator": True}
        # Then it may be issued an admin key
        assert answer(admin("keys", "issue", "org-staff", "--role", "admin"))["role"] == "admin"

    def test_an_invalid_org_id_is_refused_before_anything_is_written(self, stack: str) -> None:
        result = admin("onboard", "org acme")
        assert result.exit_code == 1
        assert "orgId" in result.stderr
        assert not ledger.account_exists("org acme")

    def test_an_unknown_stack_is_refused_with_its_name(self, stack: str) -> None:
        result = run("--stack", "nope", "--region", REGION, "orgs", "create", "org-acme")
        assert result.exit_code == 1
        assert "nope" in result.stderr


def test_a_stage_must_be_named() -> None:
    result = run("orgs", "create", "org-acme")
    assert result.exit_code == 2
    assert "--stack" in result.stderr


def test_a_deployed_stage_gives_the_layer_every_setting_it_requires(stack: str) -> None:
    # Given a deployed stack
    # When the tool reads its stage from it
    environment = deployed(stack, REGION).environment
    # Then every setting the layer requires is set, not only the tables the tool writes (the layer validates all)
    required = {name.upper() for name, field in Settings.model_fields.items() if field.is_required()}
    assert required <= set(environment)
