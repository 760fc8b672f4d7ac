"""A subaccount's auth token, read with the parent's credentials: what its callbacks are signed with, and what the
APIs a parent cannot reach its subaccounts through (Numbers v2) are called with.

One GET with the standard library rather than the REST client: the webhooks check a signature at every call and
must not pay for the SDK's client at cold start (tests/unit/test_function_imports.py). The token is kept in memory
for TOKEN_MAX_AGE_SECONDS, so that a rotated token takes effect as a rotated secret does, and is never logged.
"""

import base64
import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote

from robotappel.config import get_settings
from robotappel.errors import NotFound, ServiceUnavailable
from robotappel.snapstart import after_restore
from robotappel.twilio.credentials import SECRET_MAX_AGE_SECONDS, get_twilio_credentials
from robotappel.twilio.hosts import TWILIO_API_URL

TOKEN_MAX_AGE_SECONDS = SECRET_MAX_AGE_SECONDS
REQUEST_TIMEOUT_SECONDS = 5.0
_tokens: dict[str, tuple[str, float]] = {}


def auth_token_of(account_sid: str) -> str:
    """The auth token of the parent's subaccount `account_sid`; NotFound when Twilio has no such subaccount of
    ours, ServiceUnavailable when Twilio could not be asked."""
    kept = _tokens.get(account_sid)
    if kept is not None and time.monotonic() - kept[1] < TOKEN_MAX_AGE_SECONDS:
        return kept[0]
    token = _fetch(account_sid)
    _tokens[account_sid] = (token, time.monotonic())
    return token


def forget_tokens() -> None:
    _tokens.clear()


after_restore(forget_tokens)


def _fetch(account_sid: str) -> str:
    credentials = get_twilio_credentials()
    username, password = credentials.basic_auth()
    base_url = (get_settings().twilio_api_base_url or TWILIO_API_URL).rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - Twilio's API (or its local stand-in), https in production
        f"{base_url}/2010-04-01/Accounts/{quote(account_sid, safe='')}.json",
        headers={"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            account = json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise NotFound("Twilio has no such subaccount.") from error
        raise ServiceUnavailable("Twilio could not be reached; retry in a moment.") from error
    except (OSError, ValueError) as error:
        raise ServiceUnavailable("Twilio could not be reached; retry in a moment.") from error
    token = account.get("auth_token")
    if not token or account.get("owner_account_sid") != credentials.account_sid:
        raise NotFound("Twilio has no such subaccount of ours.")
    return str(token)
