"""API Gateway's management API, the only code that calls it: the stage's authorizer cache, the API keys that name
each org in the stage's usage plans, and those plans (template.yaml's AWS::ApiGateway::UsagePlan resources).

An org's API Gateway API key is not a credential: the API takes it from the authorizer (ApiKeySourceType
AUTHORIZER), never from a client's header. It only tells API Gateway which usage plan throttles the org's requests.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from robotappel.errors import ServiceUnavailable
from robotappel.snapstart import after_restore


@dataclass(frozen=True)
class ApiStage:
    """A deployed stage of the REST API (FlushStageAuthorizersCache's restApiId and stageName)."""

    api_id: str
    stage: str


@dataclass(frozen=True)
class UsagePlan:
    plan_id: str
    name: str
    rate_limit: float | None  # requests a second (the bucket's refill); None: not throttled
    burst_limit: int | None
    quota_limit: int | None  # requests a `quota_period` (DAY, WEEK, MONTH); None: no quota
    quota_period: str | None

    @classmethod
    def of(cls, plan: dict[str, Any]) -> "UsagePlan":
        throttle, quota = plan.get("throttle") or {}, plan.get("quota") or {}
        return cls(
            plan_id=plan["id"],
            name=plan["name"],
            rate_limit=throttle.get("rateLimit"),
            burst_limit=throttle.get("burstLimit"),
            quota_limit=quota.get("limit"),
            quota_period=quota.get("period"),
        )


def usage_identifier(stage: str, org_id: str) -> str:
    """The value of the org's API key on a stage, which the authorizer names (usageIdentifierKey) for every key of
    the org. Derived, not stored: the authorizer needs no read for it, and onboarding finds it again. A digest, as
    API Gateway takes an alphanumeric value of 20 to 128 characters, unique in the account and region."""
    return hashlib.sha256(f"robotappel:{stage}:org:{org_id}".encode()).hexdigest()


def api_key_name(stage: str, org_id: str) -> str:
    return f"robotappel-phone-numbers-{stage}-org-{org_id}"


@cache
def _client() -> Any:  # the API Gateway management API (the stubs this project installs are DynamoDB's)
    return boto3.client("apigateway", config=Config(retries={"mode": "standard", "max_attempts": 3}))


after_restore(_client.cache_clear)


@contextmanager
def _unavailable() -> Iterator[None]:
    """ClientError and BotoCoreError as ServiceUnavailable (503): API Gateway's management API failed."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise ServiceUnavailable("API Gateway's management API failed; retry later.") from error


def _code(error: BaseException | None) -> str:
    return str(error.response["Error"]["Code"]) if isinstance(error, ClientError) else ""


def flush_authorizer_cache(stage: ApiStage) -> None:
    with _unavailable():
        _client().flush_stage_authorizers_cache(restApiId=stage.api_id, stageName=stage.stage)


def find_api_key(name: str) -> str | None:
    """The id of the API key named `name` (API Gateway's nameQuery matches a prefix: the exact name is kept)."""
    with _unavailable():
        pages = _client().get_paginator("get_api_keys").paginate(nameQuery=name)
        return next((key["id"] for page in pages for key in page.get("items", []) if key.get("name") == name), None)


def create_api_key(name: str, value: str) -> str:
    """A new enabled API key, or the one a concurrent call just made (values are unique); its id. The value is
    never logged (nor is it a secret: see the module's docstring)."""
    try:
        with _unavailable():
            return str(_client().create_api_key(name=name, value=value, enabled=True)["id"])
    except ServiceUnavailable as failure:
        made = find_api_key(name) if _code(failure.__cause__) == "ConflictException" else None
        if made is None:
            raise
        return made


def usage_plans(key_id: str | None = None) -> Iterator[UsagePlan]:
    """Every usage plan of the account and region, or those the API key `key_id` is in."""
    arguments = {"keyId": key_id} if key_id else {}
    with _unavailable():
        for page in _client().get_paginator("get_usage_plans").paginate(**arguments):
            yield from (UsagePlan.of(plan) for plan in page.get("items", []))


def add_to_plan(plan_id: str, key_id: str) -> None:
    """Idempotent: API Gateway refuses (409) a key the plan holds already, which a concurrent call (two creates of
    one org) may have added since the caller looked; a key held by another plan of the stage stays refused."""
    try:
        with _unavailable():
            _client().create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    except ServiceUnavailable as failure:
        held = _code(failure.__cause__) == "ConflictException" and plan_id in {p.plan_id for p in usage_plans(key_id)}
        if not held:
            raise


def remove_from_plan(plan_id: str, key_id: str) -> None:
    with _unavailable():
        _client().delete_usage_plan_key(usagePlanId=plan_id, keyId=key_id)
