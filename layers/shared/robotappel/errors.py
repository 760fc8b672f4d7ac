"""Domain exceptions. They say what went wrong in business terms; `robotappel.api.errors` maps them to HTTP.

Each carries a stable snake_case `code` (the `error` key of the JSON body), a human `message` and optional
`details` that are added to the body as they are (camelCase keys, they are part of the API contract).
"""

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "internal_error"
    # When retrying may succeed, in how many seconds (the Retry-After header); None: not by waiting.
    retry_after_seconds: int | None = None

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.details = details


class InvalidInput(DomainError):
    """A field is well-formed JSON but not acceptable (e.g. an unparseable phone number)."""

    code = "validation_error"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.field = field


class Unauthenticated(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InProgress(Conflict):
    """The same request (an Idempotency-Key) is being served by another invocation right now."""

    code = "in_progress"
    retry_after_seconds: int

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retryAfter=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class InsufficientTokens(DomainError):
    code = "insufficient_tokens"

    def __init__(self, required: int, balance: int) -> None:
        super().__init__(
            f"This call costs {required} tokens and the balance is {balance}.",
            required=required,
            balance=balance,
        )
        self.required = required
        self.balance = balance


class RateLimited(DomainError):
    code = "rate_limited"
    retry_after_seconds: int

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retryAfter=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class UpstreamFailure(DomainError):
    """Twilio failed in a way the caller cannot fix (5xx, unexpected error code)."""

    code = "twilio_error"


class ServiceUnavailable(DomainError):
    """A dependency of ours (DynamoDB, Secrets Manager) is throttling or down, or a write lost a race it may simply
    run again; retrying after `retry_after_seconds` may work."""

    code = "service_unavailable"
    retry_after_seconds: int

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
