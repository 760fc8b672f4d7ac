"""Settings of a function, read once from its environment (template.yaml sets them) and validated at cold start.

A plain pydantic model filled from os.environ rather than pydantic-settings' BaseSettings: that package costs
12-15 ms of every cold start for what is a lookup of nine upper-cased names.
"""

import json
import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    numbers_table: str = Field(default="", description="DynamoDB table of client phones and Twilio numbers")
    tokens_table: str = Field(default="", description="DynamoDB table of token accounts and their ledger")
    api_keys_table: str = Field(default="", description="DynamoDB table of API key hashes")
    idempotency_table: str = Field(default="", description="DynamoDB table of Powertools idempotency records")
    twilio_secret_id: str = Field(default="", description="Secrets Manager id of the Twilio credentials (JSON)")
    twilio_api_base_url: str = Field(
        default="", description="Overrides https://api.twilio.com (the local emulator); empty in AWS"
    )
    public_base_url: str = Field(
        default="", description="URL Twilio calls back (and signs): API Gateway stage URL or custom domain"
    )
    inbound_voice_url: HttpUrl = Field(
        default=HttpUrl("https://voice.robotappel.com/twilio/inbound"),
        description="Default VoiceUrl of bought numbers: the platform's inbound voice webhook",
    )
    token_costs: dict[str, int] = Field(
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
    return Settings.model_validate(
        {field: environ[field.upper()] for field in Settings.model_fields if field.upper() in environ}
    )
