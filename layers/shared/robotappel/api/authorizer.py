"""The Lambda REQUEST authorizer: `Authorization: Bearer <api key>` -> org and role, or 401.

API Gateway caches the returned policy per Authorization header (ReauthorizeEvery), so the policy allows every
route of the stage: what an org may touch is decided by the routes from the context (orgId, role), not here.

The org's suspension (tenants.suspension) is passed on in the context, not denied here: a Deny reads as "no valid
key" (401), while a suspended org's routes answer 403 `org_suspended` (api.context.caller_of).

A key that is malformed, unknown or revoked gets a Deny policy, which the template's ACCESS_DENIED gateway
response answers as 401. Failing with "Unauthorized" would give the same 401 but count as a function error and
log an ERROR with a traceback for every stale key a client sends; errors are kept for real failures (DynamoDB).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from robotappel.dal import api_keys, ledger
from robotappel.dal.apigateway import usage_identifier
from robotappel.observability import logger

ANONYMOUS = "anonymous"


def bearer_token(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    header = event.headers.get("Authorization") or ""  # Powertools' headers are case-insensitive
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authorize(raw_event: dict[str, Any]) -> dict[str, Any]:
    event = APIGatewayAuthorizerRequestEvent(raw_event)
    token = bearer_token(event)
    record = api_keys.find(token) if token else None
    arn = event.parsed_arn
    if record is None or record.revoked_at is not None:
        logger.info("API key rejected", extra={"keyGiven": token is not None})
        denial = APIGatewayAuthorizerResponse(
            principal_id=ANONYMOUS,
            region=arn.region,
            aws_account_id=arn.aws_account_id,
            api_id=arn.api_id,
            stage=arn.stage,
        )
        denial.deny_all_routes()
        return denial.asdict()
    policy = APIGatewayAuthorizerResponse(
        principal_id=record.org_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        # keyId: what the admin routes re-check at every call (this answer is cached), and name as the actor;
        # suspended: the routes answer 403 org_suspended (tenants.suspension flushes this cache).
        context={
            "orgId": record.org_id,
            "role": record.role,
            "keyId": record.key_id,
            **({"suspended": "true"} if ledger.suspended_since(record.org_id) else {}),
        },
        # The org's API key in the stage's usage plans (tenants.usage_plans): its quotas, the same for its every key.
        usage_identifier_key=usage_identifier(arn.stage, record.org_id),
    )
    policy.allow_all_routes()
    return policy.asdict()
