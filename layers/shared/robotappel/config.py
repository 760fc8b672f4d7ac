"""Settings of a function, read once from its environment (template.yaml sets them) and validated at cold start."""

from functools import cache

from pydantic import Field, HttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

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


@cache
def get_settings() -> Settings:
    return Settings()
