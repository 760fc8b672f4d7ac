"""The Lambda REQUEST authorizer: `Authorization: Bearer <api key>` -> org and role, or 401.

API Gateway caches the returned policy per Authorization header (ReauthorizeEvery), so the policy allows every
route of the stage: what an org may touch is decided by the routes from the context (orgId, role), not here.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from robotappel.dal import api_keys
from robotappel.errors import Unauthenticated

# API Gateway answers 401 only when the authorizer fails with exactly this message.
UNAUTHORIZED = "Unauthorized"


def bearer_token(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    header = event.headers.get("Authorization") or ""  # Powertools' headers are case-insensitive
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authorize(raw_event: dict[str, Any]) -> dict[str, Any]:
    event = APIGatewayAuthorizerRequestEvent(raw_event)
    token = bearer_token(event)
    record = api_keys.find(token) if token else None
    if record is None or record.revoked_at is not None:
        raise Unauthenticated(UNAUTHORIZED)
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=record.org_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"orgId": record.org_id, "role": record.role},
    )
    policy.allow_all_routes()
    return policy.asdict()
