"""API wiring shared by every route: resolver factory, call context, error mapping, token charging.

The exports load on first use (PEP 562): the authorizer imports only `robotappel.api.authorizer`, and must not pay
for the REST resolver and its validation stack at cold start.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robotappel.api.context import api_stage, call_context, caller_of, request_id
    from robotappel.api.resolver import create_app, lambda_handler
    from robotappel.api.webhooks import signed_twilio_callback

__all__ = [
    "api_stage",
    "call_context",
    "caller_of",
    "create_app",
    "lambda_handler",
    "request_id",
    "signed_twilio_callback",
]

_HOME = {
    "api_stage": "robotappel.api.context",
    "call_context": "robotappel.api.context",
    "caller_of": "robotappel.api.context",
    "request_id": "robotappel.api.context",
    "signed_twilio_callback": "robotappel.api.webhooks",
    "create_app": "robotappel.api.resolver",
    "lambda_handler": "robotappel.api.resolver",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
