"""Twilio's callbacks are authenticated by X-Twilio-Signature and nothing else, as the authorizer authenticates
API keys: a callback reaches its use case only with a valid signature of the URL Twilio called."""

from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from robotappel.api.context import public_base_url
from robotappel.errors import Forbidden
from robotappel.twilio.signatures import is_valid_signature


def signed_twilio_params(app: APIGatewayRestResolver) -> dict[str, str]:
    """The form parameters of a Twilio callback whose signature is valid for public base URL + the route's path;
    else 403."""
    event = app.current_event
    params = dict(parse_qsl(event.decoded_body or "", keep_blank_values=True))
    signature = event.headers.get("X-Twilio-Signature") or ""
    url = public_base_url(app) + _route_path(event)
    if not signature or not is_valid_signature(url, params, signature):
        raise Forbidden("The X-Twilio-Signature of this request is not valid.")
    return params


def _route_path(event: APIGatewayProxyEvent) -> str:
    """The path called, as the API declares its route, parameters filled in. Not `event.path`: behind a custom
    domain that also holds the domain's base path, which the public base URL already ends with."""
    path = event.resource
    for name, value in (event.path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    return path
