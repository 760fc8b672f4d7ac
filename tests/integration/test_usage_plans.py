"""Per-org quotas (SPEC): each org's API Gateway API key, in one of the stage's usage plans (moto's API Gateway)."""

from typing import Any

import boto3
import pytest

from local import template
from local.lambda_runtime import REGION
from robotappel.dal import api_keys, apigateway, ledger
from robotappel.errors import NotFound, ServiceUnavailable
from robotappel.tenants import orgs, usage_plans
from tests.fixtures.aws import issue_key, open_operator_org, open_org
from tests.fixtures.lambdas import api_event, call, run_handler

STAGE = template.parameter_defaults()["Stage"]


def plan_values(plan: str) -> set[str]:
    """The values of the API keys in the stage's plan `plan` (default, large), as API Gateway matches them."""
    client: Any = boto3.client("apigateway", region_name=REGION)
    name = usage_plans.plan_prefix(STAGE) + plan
    [plan_id] = [found["id"] for found in client.get_usage_plans()["items"] if found["name"] == name]
    return {key["value"] for key in client.get_usage_plan_keys(usagePlanId=plan_id)["items"]}


def api_key_count() -> int:
    return len(boto3.client("apigateway", region_name=REGION).get_api_keys()["items"])


def test_creating_an_org_puts_its_api_key_in_the_default_plan(aws: dict[str, str]) -> None:
    # Given the operators' org and its admin key
    open_org("org-admin", 0, operator=True)
    issue_key("org-admin", "admin-key", role="admin")
    [admin_key] = api_keys.list_for_org("org-admin")
    # When an admin creates org-new (POST /admin/orgs)
    result = call("create_org", org="org-admin", role="admin", key_id=admin_key.key_id, body={"orgId": "org-new"})
    # Then org-new's API key, of the value the authorizer names for it, is in the default plan, and in no other
    assert result.status == 201, result.body
    assert apigateway.usage_identifier(STAGE, "org-new") in plan_values("default")
    assert apigateway.usage_identifier(STAGE, "org-new") not in plan_values("large")


def test_the_authorizer_names_the_api_key_its_orgs_usage_plan_holds(org: str) -> None:
    # Given org-a, onboarded, and its key / When the authorizer sees the key
    policy = run_handler("authorizer", api_event("authorizer", headers={"Authorization": "Bearer key-a"}))
    # Then API Gateway is told the value of org-a's API key in the default plan (its quotas)
    assert policy["usageIdentifierKey"] in plan_values("default")
    assert policy["usageIdentifierKey"] == apigateway.usage_identifier(STAGE, org)


def test_enrolling_an_org_again_changes_nothing(org: str) -> None:
    # Given org-a, in the default plan
    keys = api_key_count()
    # When it is enrolled again (onboarding retried, a backfill)
    assert usage_plans.enrol(org).plan == "default"
    # Then it has the same one key, in the same plan
    assert api_key_count() == keys
    assert usage_plans.plan_of(org) == "default"


def plan_id(plan: str) -> str:
    return usage_plans.stage_plans()[plan].plan_id


def org_key_id(org_id: str) -> str:
    key_id = apigateway.find_api_key(apigateway.api_key_name(STAGE, org_id))
    assert key_id is not None
    return key_id


@pytest.mark.parametrize("plan", ["default", "large"])
def test_the_local_api_gateway_refuses_a_key_a_plan_of_its_stage_holds_already(org: str, plan: str) -> None:
    # Given org-a's API key, in the stage's default plan
    # When it is added to that plan again, or to the stage's other plan, as API Gateway is asked directly
    client: Any = boto3.client("apigateway", region_name=REGION)
    with pytest.raises(client.exceptions.ConflictException):
        client.create_usage_plan_key(usagePlanId=plan_id(plan), keyId=org_key_id(org), keyType="API_KEY")
    # Then API Gateway refuses it (409), as AWS does (moto alone would add it again), and the key stays where it was
    assert usage_plans.plan_of(org) == "default"


def test_an_enrolment_that_a_concurrent_one_overtook_enrols_the_org_once(
    org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given org-a, whose key a concurrent onboarding put in the default plan after this one looked (it saw no plan)
    looked = usage_plans._plans_of
    monkeypatch.setattr(usage_plans, "_plans_of", lambda key_id, plans: [])
    # When this onboarding adds the key to the default plan (API Gateway answers 409: it is there already)
    enrolled = usage_plans.enrol(org)
    # Then it succeeds, not 503: the org is in the default plan, once
    monkeypatch.setattr(usage_plans, "_plans_of", looked)
    assert enrolled.plan == "default"
    assert usage_plans.plan_of(org) == "default"
    assert plan_values("default") == {apigateway.usage_identifier(STAGE, org)}


def test_adding_a_key_that_another_plan_of_the_stage_holds_stays_refused(org: str) -> None:
    # Given org-a's key, in the default plan
    # When the layer adds it to the large plan without leaving the default one
    with pytest.raises(ServiceUnavailable):
        apigateway.add_to_plan(plan_id("large"), org_key_id(org))
    # Then it is refused (a key meets one set of quotas per stage), and the org stays in the default plan
    assert usage_plans.plan_of(org) == "default"


def test_the_backfill_gives_an_org_made_before_plans_its_key_in_the_default_plan(org: str) -> None:
    # Given org-old, whose account was made before orgs had a usage plan (no API Gateway key)
    ledger.open_account("org-old", "2026-01-01T00:00:00Z", None)
    assert usage_plans.plan_of("org-old") is None
    # When the operators' backfill runs over every org
    enrolled = usage_plans.enrol_every_org()
    # Then org-old is in the default plan, and org-a stays where it was
    assert {(plan.orgId, plan.plan) for plan in enrolled} == {("org-old", "default"), (org, "default")}
    assert usage_plans.plan_of("org-old") == "default"


def test_moving_an_org_changes_its_plan(org: str) -> None:
    # Given org-a, in the default plan
    # When an operator moves it to the large plan
    moved = orgs.change_plan(org, "large")
    # Then its key is in the large plan only (API Gateway allows one plan per key and stage)
    assert (moved.orgId, moved.plan) == (org, "large")
    assert usage_plans.plan_of(org) == "large"
    assert apigateway.usage_identifier(STAGE, org) in plan_values("large")
    assert apigateway.usage_identifier(STAGE, org) not in plan_values("default")


def test_an_admin_moves_an_org_to_another_plan_over_http(org: str) -> None:
    # Given the operators' org and its admin key, and org-a in the default plan
    admin_key = open_operator_org("org-admin", 0)
    # When an admin moves org-a to the large plan (PUT /admin/orgs/org-a/usagePlan)
    body = {"plan": "large"}
    moved = call(
        "change_usage_plan", org="org-admin", role="admin", key_id=admin_key, path_params={"orgId": org}, body=body
    )
    # Then org-a's key is in the large plan; an unknown plan or org is 404
    assert (moved.status, moved.body) == (200, {"orgId": org, "plan": "large"})
    assert usage_plans.plan_of(org) == "large"
    for org_id, plan, code in ((org, "unlimited", "plan_not_found"), ("org-ghost", "large", "org_not_found")):
        refused = call(
            "change_usage_plan",
            org="org-admin",
            role="admin",
            key_id=admin_key,
            path_params={"orgId": org_id},
            body={"plan": plan},
        )
        assert (refused.status, refused.body["error"]) == (404, code)
    assert usage_plans.plan_of(org) == "large"


def test_an_org_made_before_plans_that_an_admin_moves_gets_its_api_key_in_that_plan(aws: dict[str, str]) -> None:
    # Given org-old, made before orgs had a usage plan (no API Gateway key)
    admin_key = open_operator_org("org-admin", 0)
    ledger.open_account("org-old", "2026-01-01T00:00:00Z", None)
    # When an admin moves it to the large plan
    body = {"plan": "large"}
    moved = call(
        "change_usage_plan",
        org="org-admin",
        role="admin",
        key_id=admin_key,
        path_params={"orgId": "org-old"},
        body=body,
    )
    # Then it has its key, in the large plan
    assert moved.status == 200, moved.body
    assert apigateway.usage_identifier(STAGE, "org-old") in plan_values("large")


def test_moving_an_org_to_a_plan_the_stage_does_not_have_is_refused(org: str) -> None:
    with pytest.raises(NotFound) as refused:
        orgs.change_plan(org, "unlimited")
    assert refused.value.error_code == "plan_not_found"
    assert usage_plans.plan_of(org) == "default"


def test_moving_an_org_that_does_not_exist_is_refused(aws: dict[str, str]) -> None:
    with pytest.raises(NotFound) as refused:
        orgs.change_plan("org-nobody", "large")
    assert refused.value.error_code == "org_not_found"
    assert api_key_count() == 0


def test_an_org_whose_move_fails_stays_in_its_plan(org: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given API Gateway failing to add any key to the large plan
    large = usage_plans.stage_plans()["large"].plan_id
    add_to_plan = apigateway.add_to_plan

    def fails_for_large(plan_id: str, key_id: str) -> None:
        if plan_id == large:
            raise ServiceUnavailable("API Gateway failed")
        add_to_plan(plan_id, key_id)

    monkeypatch.setattr(apigateway, "add_to_plan", fails_for_large)
    # When an operator moves org-a there
    with pytest.raises(ServiceUnavailable):
        orgs.change_plan(org, "large")
    # Then org-a is back in its plan: never left without one (API Gateway would refuse its requests)
    assert usage_plans.plan_of(org) == "default"


def test_the_stages_plans_are_the_templates_with_their_limits(aws: dict[str, str]) -> None:
    # Given the template's plans as the stage has them / Then each is listed with its throttle and quota
    defaults = template.parameter_defaults()
    plans = {plan.plan: plan for plan in usage_plans.list_plans()}
    assert set(plans) == {"default", "large"}
    assert plans["default"].rateLimit == float(defaults["DefaultPlanRateLimit"])
    assert plans["default"].burstLimit == int(defaults["DefaultPlanBurstLimit"])
    assert plans["default"].quotaLimit == int(defaults["DefaultPlanDailyQuota"])
    assert plans["default"].quotaPeriod == "DAY"
