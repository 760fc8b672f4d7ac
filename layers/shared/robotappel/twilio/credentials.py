"""The Twilio credentials, read from Secrets Manager. Light on purpose: the webhooks need the auth token to check a
signature, and must not pay for the REST client at cold start."""

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from robotappel.config import get_settings
from robotappel.errors import ServiceUnavailable
from robotappel.snapstart import after_restore

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


def get_twilio_credentials() -> TwilioCredentials:
    """Read through Powertools' cache, so rotating the secret takes effect within SECRET_MAX_AGE_SECONDS."""
    try:
        secret = parameters.get_secret(
            get_settings().twilio_secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS
        )
        return TwilioCredentials.from_secret(secret)
    except (GetParameterError, TransformParameterError, KeyError, TypeError, AttributeError) as exc:
        raise ServiceUnavailable("The Twilio credentials could not be read.") from exc


# Powertools caches the secret it read (and its client): a restored copy reads it again.
after_restore(parameters.clear_caches)
