"""X-Twilio-Signature, checked with the SDK's RequestValidator: no REST client, no requests (the webhooks' init)."""

from twilio.request_validator import RequestValidator


def is_valid_signature(url: str, params: dict[str, str], signature: str, auth_token: str) -> bool:
    """`auth_token`: the token of the account that owns the resource Twilio calls back about."""
    return bool(RequestValidator(auth_token).validate(url, params, signature))
