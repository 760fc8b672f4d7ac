"""Per-org quotas (SPEC): each org's requests are throttled by the usage plan its API Gateway API key is in. The
authorizer names that key by its value (`apigateway.usage_identifier`) for every API key of the org; creating an org
creates its key in the default plan; an operator moves an org to another plan.

The plans are template.yaml's, found by name (robotappel-phone-numbers-<stage>-<plan>): their ids cannot reach the
functions' environment (the API names the functions, a plan names the API's stage: a circular dependency).
"""

from robotappel.config import get_settings
from robotappel.dal import apigateway, ledger
from robotappel.dal.apigateway import UsagePlan
from robotappel.errors import NotFound
from robotappel.models.tenants import OrgUsagePlan, UsagePlanInfo
from robotappel.observability import logger

DEFAULT_PLAN = "default"


def plan_prefix(stage: str) -> str:
    return f"robotappel-phone-numbers-{stage}-"


def stage_plans() -> dict[str, UsagePlan]:
    """This stage's plans by their short name (default, ...)."""
    prefix = plan_prefix(get_settings().stage)
    return {plan.name.removeprefix(prefix): plan for plan in apigateway.usage_plans() if plan.name.startswith(prefix)}


def list_plans() -> list[UsagePlanInfo]:
    return [_info(name, plan) for name, plan in sorted(stage_plans().items())]


def enrol(org_id: str) -> OrgUsagePlan:
    """The org's API key, created if it has none, in one of the stage's plans (the default one if in none).
    Idempotent: onboarding runs it, and the operators' tool for the orgs made before (`plans backfill`)."""
    key_id = _org_key(org_id)
    plans = stage_plans()
    current = _plans_of(key_id, plans)
    if current:
        return OrgUsagePlan(orgId=org_id, plan=current[0])
    apigateway.add_to_plan(_named(plans, DEFAULT_PLAN).plan_id, key_id)
    logger.info("organisation enrolled in a usage plan", extra={"planOrgId": org_id, "plan": DEFAULT_PLAN})
    return OrgUsagePlan(orgId=org_id, plan=DEFAULT_PLAN)


def enrol_every_org() -> list[OrgUsagePlan]:
    return [enrol(org_id) for org_id in ledger.org_ids()]


def move(org_id: str, plan: str) -> OrgUsagePlan:
    """The org's requests throttled by `plan` from now on. API Gateway allows an API key in one plan per stage: it
    leaves its plan, then joins the new one (back in the old one if that fails). The org must exist
    (`orgs.change_plan`)."""
    plans = stage_plans()
    target = _named(plans, plan)
    key_id = _org_key(org_id)
    previous = [name for name in _plans_of(key_id, plans) if name != plan]
    for name in previous:
        apigateway.remove_from_plan(plans[name].plan_id, key_id)
    try:
        if plan not in _plans_of(key_id, plans):
            apigateway.add_to_plan(target.plan_id, key_id)
    except Exception:
        for name in previous:
            apigateway.add_to_plan(plans[name].plan_id, key_id)
        raise
    logger.info("organisation moved to a usage plan", extra={"planOrgId": org_id, "plan": plan, "from": previous})
    return OrgUsagePlan(orgId=org_id, plan=plan)


def plan_of(org_id: str) -> str | None:
    """The name of the org's plan on this stage (None: it has no key, or its key is in no plan)."""
    key_id = apigateway.find_api_key(apigateway.api_key_name(get_settings().stage, org_id))
    found = _plans_of(key_id, stage_plans()) if key_id else []
    return found[0] if found else None


def _org_key(org_id: str) -> str:
    stage = get_settings().stage
    name = apigateway.api_key_name(stage, org_id)
    return apigateway.find_api_key(name) or apigateway.create_api_key(name, apigateway.usage_identifier(stage, org_id))


def _plans_of(key_id: str, plans: dict[str, UsagePlan]) -> list[str]:
    ids = {plan.plan_id for plan in apigateway.usage_plans(key_id)}
    return [name for name, plan in plans.items() if plan.plan_id in ids]


def _named(plans: dict[str, UsagePlan], name: str) -> UsagePlan:
    if name not in plans:
        known = ", ".join(sorted(plans)) or "none"
        raise NotFound(f"No usage plan {name} on this stage (its plans: {known}).", code="plan_not_found")
    return plans[name]


def _info(name: str, plan: UsagePlan) -> UsagePlanInfo:
    return UsagePlanInfo(
        plan=name,
        rateLimit=plan.rate_limit,
        burstLimit=plan.burst_limit,
        quotaLimit=plan.quota_limit,
        quotaPeriod=plan.quota_period,
    )
