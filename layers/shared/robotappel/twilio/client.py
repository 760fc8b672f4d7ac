"""The Twilio REST client, built on first use from the credentials in Secrets Manager."""

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from robotappel.config import get_settings
from robotappel.errors import ServiceUnavailable

TWILIO_API_URL = "https://api.twilio.com"
NUMBERS_API_URL = "https://numbers.twilio.com"
# Lambda's API Gateway integration gives up after 29 s; a Twilio call must fail well before that.
REQUEST_TIMEOUT_SECONDS = 10.0
SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str = field(repr=False)
    api_key_sid: str | None = None
    api_key_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> "TwilioCredentials":
        return cls(
            account_sid=str(secret["accountSid"]),
            auth_token=str(secret["authToken"]),
            api_key_sid=secret.get("apiKeySid") or None,
            api_key_secret=secret.get("apiKeySecret") or None,
        )

    def basic_auth(self) -> tuple[str, str]:
        """API key when configured (revocable, scoped), otherwise the account's own SID and token."""
        if self.api_key_sid and self.api_key_secret:
            return self.api_key_sid, self.api_key_secret
        return self.account_sid, self.auth_token


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


def get_twilio_credentials() -> TwilioCredentials:
    """Read through Powertools' cache, so rotating the secret takes effect within SECRET_MAX_AGE_SECONDS."""
    try:
        secret = parameters.get_secret(
            get_settings().twilio_secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS
        )
        return TwilioCredentials.from_secret(secret)
    except (GetParameterError, TransformParameterError, KeyError, TypeError, AttributeError) as exc:
        raise ServiceUnavailable("The Twilio credentials could not be read.") from exc


@cache
def get_twilio_client() -> Client:
    credentials = get_twilio_credentials()
    username, password = credentials.basic_auth()
    return Client(
        username,
        password,
        account_sid=credentials.account_sid,
        http_client=_http_client(),
    )


def _http_client() -> TwilioHttpClient:
    settings = get_settings()
    overrides = {TWILIO_API_URL: settings.twilio_api_base_url, NUMBERS_API_URL: settings.twilio_numbers_base_url}
    if any(overrides.values()):
        return BaseUrlHttpClient(overrides, timeout=REQUEST_TIMEOUT_SECONDS)
    return TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
