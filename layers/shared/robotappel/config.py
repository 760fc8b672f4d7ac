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


TableName = Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")]
OptionalUrl = Annotated[str, AfterValidator(_empty_or_url)]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    numbers_table: TableName = Field(description="DynamoDB table of client phones and Twilio numbers")
    tokens_table: TableName = Field(description="DynamoDB table of token accounts and their ledger")
    api_keys_table: TableName = Field(description="DynamoDB table of API key hashes")
    idempotency_table: TableName = Field(description="DynamoDB table of Powertools idempotency records")
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
    token_costs: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description="Per-deployment overrides of route costs, JSON {routeKey: tokens}"
    )

    @field_validator("token_costs", mode="before")
    @classmethod
    def _decode_json(cls, value: object) -> object:
        # The environment holds JSON text; malformed JSON (a ValueError) surfaces as a ValidationError.
        return json.loads(value) if isinstance(value, str) else value


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
