"""X-Twilio-Signature, checked with the SDK's RequestValidator: no REST client, no requests (the webhooks' init)."""

from twilio.request_validator import RequestValidator

from robotappel.twilio.credentials import get_twilio_credentials


def is_valid_signature(url: str, params: dict[str, str], signature: str) -> bool:
    validator = RequestValidator(get_twilio_credentials().auth_token)
    return bool(validator.validate(url, params, signature))
