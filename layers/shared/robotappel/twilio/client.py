"""The Twilio REST clients, built on first use from the credentials in Secrets Manager: the platform's (parent)
account, and one per org subaccount (README: Tenants at Twilio)."""

from functools import cache
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from robotappel.config import get_settings
from robotappel.snapstart import after_restore
from robotappel.twilio.credentials import get_twilio_credentials
from robotappel.twilio.hosts import NUMBERS_API_URL, TWILIO_API_URL

# Lambda's API Gateway integration gives up after 29 s; a Twilio call must fail well before that.
REQUEST_TIMEOUT_SECONDS = 10.0


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the twilio SDK ships no type hints
    """Sends the SDK's requests for a Twilio host (https://api.twilio.com, https://numbers.twilio.com) to the base
    URL that stands in for it (the local emulator)."""

    def __init__(self, base_urls: dict[str, str], timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_urls = {host: base_url.rstrip("/") for host, base_url in base_urls.items() if base_url}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        for host, base_url in self.base_urls.items():
            if url.startswith(host):
                url = base_url + url[len(host) :]
                break
        return super().request(method, url, *args, **kwargs)


@cache
def get_twilio_client(account_sid: str | None = None) -> Client:
    """The parent's credentials, acting in `account_sid` (one of its subaccounts; None: the parent itself). Twilio
    lets a parent reach its subaccounts' resources of the 2010-04-01 API this way, not those of other APIs
    (Numbers v2): those need the subaccount's own credentials (`subaccount_client`)."""
    credentials = get_twilio_credentials()
    username, password = credentials.basic_auth()
    return Client(username, password, account_sid=account_sid or credentials.account_sid, http_client=_http_client())


def subaccount_client(account_sid: str, auth_token: str) -> Client:
    """A subaccount's own credentials: for the APIs a parent cannot reach its subaccounts through (Numbers v2)."""
    return Client(account_sid, auth_token, http_client=_http_client())


after_restore(get_twilio_client.cache_clear)


def _http_client() -> TwilioHttpClient:
    settings = get_settings()
    overrides = {TWILIO_API_URL: settings.twilio_api_base_url, NUMBERS_API_URL: settings.twilio_numbers_base_url}
    if any(overrides.values()):
        return BaseUrlHttpClient(overrides, timeout=REQUEST_TIMEOUT_SECONDS)
    return TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
