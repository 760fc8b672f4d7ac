"""API keys of an organisation: issued (the key is shown once, only its SHA-256 is stored), listed by a 4-character
hint, revoked (the authorizer refuses a revoked key; the stage's authorizer cache flushed after it)."""

import secrets

from aws_lambda_powertools.metrics import MetricUnit

from robotappel.dal import api_keys, apigateway, ledger
from robotappel.dal.api_keys import ApiKeyRecord
from robotappel.dal.apigateway import ApiStage
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from robotappel.ids import new_id, now_iso
from robotappel.models.tenants import ApiKeyInfo, ApiKeyIssued, ApiKeyRevoked, IssueApiKeyDto
from robotappel.observability import logger, metrics
from robotappel.tenants.existence import require_org, unknown_org

KEY_PREFIX = "rak_"  # says what a leaked string is (secret scanners match on it)
HINT_LENGTH = 4


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def issue_api_key(
    org_id: str, dto: IssueApiKeyDto, api_key: str | None = None, by_key_id: str | None = None
) -> ApiKeyIssued:
    """A new key for an existing org: a random one, or `api_key` when given (the local seed's fixed keys), issued by
    the admin key `by_key_id` (None: the operators' tool)."""
    key = api_key or new_api_key()
    record = ApiKeyRecord(
        key_id=new_id("key"),
        org_id=org_id,
        role=dto.role,
        created_at=now_iso(),
        hint=key[-HINT_LENGTH:],
        issued_by_key_id=by_key_id,
    )
    try:
        api_keys.put(key, record)
    except ConditionFailed as failure:
        if failure.failed(ledger.ACCOUNT) and not failure.old_item(ledger.ACCOUNT):
            raise unknown_org(org_id) from failure
        if failure.failed(ledger.ACCOUNT):
            raise role_not_allowed(org_id) from failure
        if failure.failed(api_keys.KEY):
            raise Conflict("This API key is issued already.", code="api_key_exists") from failure
        raise
    logger.info(
        "API key issued",
        extra={"keyId": record.key_id, "keyOrgId": org_id, "keyRole": dto.role, "byKeyId": by_key_id},
    )
    return ApiKeyIssued(keyId=record.key_id, apiKey=key, orgId=org_id, role=dto.role, createdAt=record.created_at)


def role_not_allowed(org_id: str) -> InvalidInput:
    return InvalidInput("role", f"Only operator orgs hold admin keys; {org_id} is not one.", code="role_not_allowed")


def list_api_keys(org_id: str) -> list[ApiKeyInfo]:
    """The org's keys, oldest first, revoked ones included (with revokedAt)."""
    require_org(org_id)
    return [_info(record) for record in api_keys.list_for_org(org_id)]


def revoke_api_key(key_id: str, by_key_id: str | None = None) -> ApiKeyRevoked:
    """Revoke a key, by the admin key `by_key_id` (None: the operators' tool)."""
    record = api_keys.revoke(key_id, now_iso(), by_key_id)
    if record is None or record.revoked_at is None:
        raise NotFound(f"No API key {key_id}.", code="api_key_not_found")
    logger.info("API key revoked", extra={"keyId": key_id, "keyOrgId": record.org_id, "byKeyId": by_key_id})
    return ApiKeyRevoked(keyId=record.key_id, revokedAt=record.revoked_at)


def flush_authorizer_cache(stage: ApiStage) -> bool:
    """Flush the stage's authorizer cache after a revocation, so that API Gateway asks the authorizer again about
    every key (it would otherwise allow a revoked one from its cache for up to ReauthorizeEvery, 300 s). Whether it
    was flushed: the revocation stands either way (admin routes re-check their key at every call, and a member
    key's cached answer expires); the metric says a flush failed (a missing permission would, always)."""
    try:
        apigateway.flush_authorizer_cache(stage)
    except ServiceUnavailable as failure:
        logger.warning("authorizer cache not flushed", extra={"errorType": type(failure.__cause__).__name__})
        metrics.add_metric(name="AuthorizerCacheNotFlushed", unit=MetricUnit.Count, value=1)
        return False
    return True


def _info(record: ApiKeyRecord) -> ApiKeyInfo:
    return ApiKeyInfo(
        keyId=record.key_id,
        orgId=record.org_id,
        role=record.role,
        createdAt=record.created_at,
        revokedAt=record.revoked_at,
        hint=record.hint,
    )
