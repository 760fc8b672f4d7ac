"""API wiring shared by every route: resolver factory, call context, error mapping, token charging."""

from robotappel.api.context import call_context, twilio_callback
from robotappel.api.resolver import create_app, lambda_handler

__all__ = ["call_context", "create_app", "lambda_handler", "twilio_callback"]
