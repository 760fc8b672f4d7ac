"""API wiring shared by every route: resolver factory, call context, error mapping, token charging.

The exports load on first use (PEP 562): the authorizer imports only `robotappel.api.authorizer`, and must not pay
for the REST resolver and its validation stack at cold start.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robotappel.api.context import call_context, twilio_callback
    from robotappel.api.resolver import create_app, lambda_handler

__all__ = ["call_context", "create_app", "lambda_handler", "twilio_callback"]

_HOME = {
    "call_context": "robotappel.api.context",
    "twilio_callback": "robotappel.api.context",
    "create_app": "robotappel.api.resolver",
    "lambda_handler": "robotappel.api.resolver",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
