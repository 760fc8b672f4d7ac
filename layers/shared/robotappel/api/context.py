"""What a use case needs to know about the HTTP call: who calls, how it pays, where Twilio calls back."""

from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from robotappel.caller import Caller
from robotappel.config import get_settings
from robotappel.dal.apigateway import ApiStage
from robotappel.errors import Forbidden, Unauthenticated
from robotappel.numbers.context import CallContext
from robotappel.tokens.meter import TokenMeter

METER_KEY = "tokenMeter"


def caller_of(app: APIGatewayRestResolver) -> Caller:
    authorizer: dict[str, Any] = app.current_event.request_context.authorizer.raw_event or {}
    org_id, role = authorizer.get("orgId"), authorizer.get("role")
    if not org_id or role not in ("member", "admin"):
        # Only reachable if a route was deployed without the authorizer: fail closed.
        raise Unauthenticated("A valid API key is required: Authorization: Bearer <key>.")
    if authorizer.get("suspended") == "true":
        raise Forbidden("This organisation is suspended: ask the operators.", code="org_suspended")
    return Caller(org_id=org_id, role=role, key_id=authorizer.get("keyId") or "")


def request_id(app: APIGatewayRestResolver) -> str:
    """API Gateway's id of this request (the logs' correlation_id): what a ledger entry names its request by."""
    return app.current_event.request_context.request_id


def api_stage(app: APIGatewayRestResolver) -> ApiStage:
    """The API and stage this request came through (whose authorizer cache a revocation flushes)."""
    request_context = app.current_event.request_context
    return ApiStage(api_id=request_context.api_id, stage=request_context.stage)


def public_base_path() -> str:
    """The path of the configured public URL ("/numbers" for https://api.example.com/numbers): the base path of a
    custom domain, which API Gateway leaves at the start of each request's path."""
    return urlsplit(get_settings().public_base_url).path.rstrip("/")


def public_base_url(app: APIGatewayRestResolver) -> str:
    """The URL Twilio sees: the configured public URL, else this API stage's own execute-api URL."""
    configured = get_settings().public_base_url
    if configured:
        return configured.rstrip("/")
    request_context = app.current_event.request_context
    return f"https://{request_context.domain_name}/{request_context.stage}"


def call_context(app: APIGatewayRestResolver) -> CallContext:
    meter: TokenMeter = app.context[METER_KEY]
    return CallContext(
        caller=caller_of(app),
        meter=meter,
        public_base_url=public_base_url(app),
        lambda_context=app.lambda_context,
    )
