"""The /admin routes' gate. Its own module: only the admin functions load the API keys' use cases at init."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from robotappel.api.context import caller_of
from robotappel.tenants.access import require_live_admin_key


def require_admin(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """403 for a member key, 401 for an admin key that is no longer valid, before the route does anything."""
    caller = caller_of(app)
    caller.require_admin()
    require_live_admin_key(caller)
    return next_middleware(app)
