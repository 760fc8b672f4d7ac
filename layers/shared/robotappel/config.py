"""Settings of a function, read once from its environment (template.yaml sets them) and validated at cold start.

A plain pydantic model filled from os.environ rather than pydantic-settings' BaseSettings: that package costs
12-15 ms of every cold start for what is a lookup of nine upper-cased names.

A missing or malformed setting fails the function's init with a message naming the variable
(`ConfigurationError`), not its first request with a misleading 503.
"""

import json
import os
from functools import cache
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    NonNegativeInt,
    ValidationError,
    field_validator,
)


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting or holds a malformed one: a deployment error."""


def _empty_or_url(value: str) -> str:
    if value:
        HttpUrl(value)  # raises a ValueError-based error naming what is wrong with the URL
    return value


# A verification call is paid by the platform: by default only phones of France (with its overseas departments:
# Guadeloupe, Martinique, French Guiana, Réunion, Mayotte), the EU/EEA, the United Kingdom, Switzerland, the United
# States and Canada are called.
VERIFICATION_COUNTRIES = (
    *("FR", "GP", "MQ", "GF", "RE", "YT"),
    *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT"),
    *("NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"),
    *("GB", "CH", "US", "CA"),
)

TableName = Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")]
OptionalUrl = Annotated[str, AfterValidator(_empty_or_url)]
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
Host = Annotated[str, BeforeValidator(str.lower), Field(pattern=rf"^{_LABEL}(\.{_LABEL})*$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), BeforeValidator(str.upper)]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    numbers_table: TableName = Field(description="DynamoDB table of client phones and Twilio numbers")
    tokens_table: TableName = Field(description="DynamoDB table of token accounts and their ledger")
    api_keys_table: TableName = Field(description="DynamoDB table of API key hashes")
    idempotency_table: TableName = Field(description="DynamoDB table of the purchases' Idempotency-Keys")
    stage: str = Field(
        default="dev",
        pattern=r"^[a-z][a-z0-9-]{0,11}$",
        description="The deployment's stage, in the tag that marks its Twilio resources as its own (twilio/tags.py)",
    )
    twilio_secret_id: str = Field(min_length=1, description="Secrets Manager id of the Twilio credentials (JSON)")
    twilio_api_base_url: OptionalUrl = Field(
        default="", description="Overrides https://api.twilio.com (the local emulator); empty in AWS"
    )
    twilio_numbers_base_url: OptionalUrl = Field(
        default="", description="Overrides https://numbers.twilio.com (the local emulator); empty in AWS"
    )
    public_base_url: OptionalUrl = Field(
        default="", description="URL Twilio calls back (and signs): custom domain; empty = the stage's own URL"
    )
    inbound_voice_url: HttpUrl = Field(
        default=HttpUrl("https://voice.robotappel.com/twilio/inbound"),
        description="Default VoiceUrl of bought numbers: the platform's inbound voice webhook",
    )
    reconcile_max_destructive: NonNegativeInt = Field(
        default=10,
        description="The reconciler's brake: at most this many releases, deletions and records marked released a run",
    )
    reconcile_dry_run: bool = Field(
        default=False, description="The reconciler reports what it would destroy and destroys nothing"
    )
    token_costs: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description="Per-deployment overrides of route costs, JSON {routeKey: tokens}"
    )
    voice_url_hosts: tuple[Host, ...] = Field(
        default=(), description="Hosts a number's voiceUrl may name, comma-separated; empty = inbound_voice_url's"
    )
    verification_countries: tuple[CountryCode, ...] = Field(
        default=VERIFICATION_COUNTRIES, description="Countries whose phones we call to verify, comma-separated"
    )

    @field_validator("token_costs", mode="before")
    @classmethod
    def _decode_json(cls, value: object) -> object:
        # The environment holds JSON text; malformed JSON (a ValueError) surfaces as a ValidationError.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("voice_url_hosts", "verification_countries", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # The environment holds a comma-separated list; an empty one means the default.
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("verification_countries", mode="after")
    @classmethod
    def _default_countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return value or VERIFICATION_COUNTRIES

    @property
    def allowed_voice_url_hosts(self) -> frozenset[str]:
        """Where a number's calls may be sent for instructions: the platform's own voice webhook, unless set."""
        return frozenset(self.voice_url_hosts) or frozenset({str(self.inbound_voice_url.host)})


@cache
def get_settings() -> Settings:
    """Each field from the environment variable of its upper-cased name, looked up case-insensitively."""
    environ = {name.upper(): value for name, value in os.environ.items()}
    try:
        return Settings.model_validate(
            {field: environ[field.upper()] for field in Settings.model_fields if field.upper() in environ}
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{str(problem['loc'][0]).upper()}: {problem['msg']}" for problem in error.errors(include_input=False)
        )
        raise ConfigurationError(f"This function's environment is misconfigured: {problems}") from error
