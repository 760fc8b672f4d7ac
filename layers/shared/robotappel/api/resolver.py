"""The resolver every route function uses, and its Lambda entry point (logging, metrics, token charging)."""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from robotappel.api.bodies import read_bodies_as_json
from robotappel.api.context import METER_KEY, caller_of, public_base_path
from robotappel.api.errors import register_error_handlers
from robotappel.observability import logger, metrics
from robotappel.tokens.costs import cost_of, route_costs
from robotappel.tokens.meter import TokenMeter


def charge_tokens(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Charge the route's cost to the caller's org exactly once, and only if the route succeeded."""
    event = app.current_event
    route_key = f"{event.http_method} {event.resource}"
    caller = caller_of(app)
    logger.append_keys(orgId=caller.org_id, route=route_key)
    meter = TokenMeter(caller.org_id, route_key, cost_of(route_key), event.request_context.request_id)
    app.context[METER_KEY] = meter
    try:
        response = next_middleware(app)
    except Exception:
        meter.refund()
        raise
    if response.status_code >= 400:
        meter.refund()
        return response
    meter.charge()
    if not meter.tokens:
        return response
    metrics.add_metric(name="TokensCharged", unit="Count", value=meter.charged)
    response.headers["X-Tokens-Charged"] = str(meter.charged)
    response.headers["X-Tokens-Remaining"] = str(meter.remaining())
    return response


def _parse_json_body(text: str) -> Any:
    """json.loads failing only with JSONDecodeError, the one error Powertools answers as an invalid body (422): a
    number longer than Python converts (sys.get_int_max_str_digits) is otherwise a plain ValueError, and JSON nested
    deeper than the interpreter recurses a RecursionError, hence a 500."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(str(error), text, 0) from error


def create_app(*, charged: bool = True, admin_only: bool = False) -> APIGatewayRestResolver:
    """A REST resolver validating input/output with pydantic; `charged=False` for webhooks (no caller, no cost),
    `admin_only=True` for the operators' routes (/admin: an admin key, else 403).

    Runs at init: a misconfigured function fails there, naming the variable (ConfigurationError)."""
    route_costs()
    # Behind a custom domain with a base path, the request's path starts with it: routes are matched without it.
    base_path = public_base_path()
    app = APIGatewayRestResolver(
        enable_validation=True,
        json_body_deserializer=_parse_json_body,
        strip_prefixes=[base_path] if base_path else None,
    )
    read_bodies_as_json(app)
    register_error_handlers(app)
    if admin_only:
        # Imported here: the other routes never load the admin gate at cold start.
        from robotappel.api.admin import require_admin

        app.use(middlewares=[require_admin])
    if charged:
        app.use(middlewares=[charge_tokens])
    return app


def lambda_handler(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler
