"""Twilio's callbacks are authenticated by X-Twilio-Signature and nothing else, as the authorizer authenticates
API keys: a callback reaches its use case only with a valid signature of the URL Twilio called, made with the auth
token of one of our orgs' subaccounts (the AccountSid it names), and only for that org."""

from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from robotappel.api.context import public_base_url
from robotappel.dal import subaccounts
from robotappel.errors import Forbidden, NotFound
from robotappel.numbers.webhooks import Callback
from robotappel.twilio.account_tokens import auth_token_of
from robotappel.twilio.signatures import is_valid_signature

_INVALID = "The X-Twilio-Signature of this request is not valid."


def signed_twilio_callback(app: APIGatewayRestResolver) -> Callback:
    """The callback's form parameters and the org whose subaccount sent it, when its signature is valid for public
    base URL + the route's path with that subaccount's auth token; else 403. An AccountSid that is none of our
    orgs' is refused before Twilio is asked anything."""
    event = app.current_event
    params = dict(parse_qsl(event.decoded_body or "", keep_blank_values=True))
    signature = event.headers.get("X-Twilio-Signature") or ""
    account_sid = params.get("AccountSid", "")
    org_id = subaccounts.org_of(account_sid) if signature and account_sid else None
    if org_id is None:
        raise Forbidden(_INVALID)
    try:
        auth_token = auth_token_of(account_sid)
    except NotFound as gone:
        raise Forbidden(_INVALID) from gone
    if not is_valid_signature(public_base_url(app) + _route_path(event), params, signature, auth_token):
        raise Forbidden(_INVALID)
    return Callback(params=params, org_id=org_id)


def _route_path(event: APIGatewayProxyEvent) -> str:
    """The path called, as the API declares its route, parameters filled in. Not `event.path`: behind a custom
    domain that also holds the domain's base path, which the public base URL already ends with."""
    path = event.resource
    for name, value in (event.path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    return path
