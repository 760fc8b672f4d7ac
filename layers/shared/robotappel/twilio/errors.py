"""The one place where Twilio failures become domain errors and where we decide which ones are retried."""

import json
from collections.abc import Callable, Collection

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, RequestException, Timeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from urllib3.exceptions import ConnectTimeoutError

from robotappel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    UpstreamFailure,
)


class AccountNotActive(Forbidden):
    """The org's Twilio subaccount is suspended or closed: nothing of it can be read or changed."""

    def __init__(self) -> None:
        super().__init__("This organisation's Twilio subaccount is not active.", code="twilio_account_not_active")


INVALID_PHONE_NUMBER = 21421
NUMBER_UNAVAILABLE = 21422
ALREADY_VERIFIED = 21450
NO_NUMBERS_IN_AREA_CODE = 21452
ADDRESS_REQUIRED = 21631
BUNDLE_REQUIRED = 21649
RESOURCE_NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
ACCOUNT_NOT_ACTIVE = 20005  # the subaccount is suspended or closed (tenants.suspension)

RETRY_AFTER_SECONDS = 2

_KNOWN: dict[int, Callable[[], DomainError]] = {
    INVALID_PHONE_NUMBER: lambda: InvalidInput("phoneNumber", "Twilio does not accept this phone number."),
    NUMBER_UNAVAILABLE: lambda: Conflict(
        "This phone number is no longer available at Twilio.", code="number_unavailable"
    ),
    NO_NUMBERS_IN_AREA_CODE: lambda: Conflict(
        "Twilio has no phone numbers available for this search.", code="no_numbers_available"
    ),
    ALREADY_VERIFIED: lambda: Conflict("This phone number is already a verified caller ID.", code="already_verified"),
    BUNDLE_REQUIRED: lambda: InvalidInput(
        "bundleSid",
        "A regulatory bundle is required to buy a number in this country.",
        code="bundle_required",
    ),
    ADDRESS_REQUIRED: lambda: InvalidInput(
        "addressSid", "An address is required to buy a number in this country.", code="address_required"
    ),
    RESOURCE_NOT_FOUND: lambda: NotFound("Twilio does not know this resource."),
    ACCOUNT_NOT_ACTIVE: AccountNotActive,
}
# Twilio answers 21649 both when no bundle is sent and when the one sent is not approved ("a compliant BundleSID",
# changelog of 12 February 2020), and 21631 both when no address is sent and when it is not valid for the number
# (changelog of 10 September 2019): which of the two it was depends on whether we sent one.
_KNOWN_WHEN_SENT: dict[tuple[int, str], Callable[[], DomainError]] = {
    (BUNDLE_REQUIRED, "BundleSid"): lambda: InvalidInput(
        "bundleSid",
        "This regulatory bundle is not approved by Twilio for this country and number type.",
        code="bundle_not_approved",
    ),
    (ADDRESS_REQUIRED, "AddressSid"): lambda: InvalidInput(
        "addressSid", "Twilio does not accept this address for this phone number.", code="address_not_accepted"
    ),
}


def as_rest_exception(exc: Exception) -> Exception:
    """The SDK reports a failed list page as a bare TwilioException("Unable to fetch page", response), and the
    gateway a failed plain request the same way."""
    if not _is_bare_response_error(exc):
        return exc
    response = exc.args[1]
    status: int = response.status_code
    try:
        code = json.loads(response.text).get("code", status)
    except (ValueError, AttributeError):
        code = status
    translated: Exception = TwilioRestException(status, "", str(exc.args[0]), code, "GET")
    return translated


def _is_bare_response_error(exc: Exception) -> bool:
    return (
        isinstance(exc, TwilioException)
        and not isinstance(exc, TwilioRestException)
        and len(exc.args) == 2
        and isinstance(getattr(exc.args[1], "status_code", None), int)
    )


def is_rate_limited(exc: Exception) -> bool:
    exc = as_rest_exception(exc)
    return isinstance(exc, TwilioRestException) and (exc.status == 429 or exc.code == TOO_MANY_REQUESTS)


def failed_before_sending(exc: Exception) -> bool:
    """True when the connection was never established, so Twilio cannot have acted on the request.

    A read timeout or a reset after sending is not in this set: the POST may have bought a number already.
    """
    if isinstance(exc, ConnectTimeout):
        return True
    if not isinstance(exc, RequestsConnectionError) or not exc.args:
        return False
    # requests wraps urllib3's MaxRetryError, whose `reason` says at which stage the connection failed.
    reason = getattr(exc.args[0], "reason", None)
    return isinstance(reason, ConnectTimeoutError)


def is_retryable(exc: Exception) -> bool:
    return is_rate_limited(exc) or failed_before_sending(exc)


def is_retryable_when_idempotent(exc: Exception) -> bool:
    """For a request that does the same whether Twilio saw it once or twice (a DELETE by SID): also an answer lost
    after sending (connection reset) and Twilio's own 5xx. Sent again, a deletion Twilio had applied answers 404,
    which tells what happened: without the retry, the record would keep a resource already gone. Not a read
    timeout: each try may then wait the whole REQUEST_TIMEOUT_SECONDS, and three would outlast the function."""
    if is_retryable(exc):
        return True
    if isinstance(exc, RequestException):
        return not isinstance(exc, Timeout)
    exc = as_rest_exception(exc)
    return isinstance(exc, TwilioRestException) and exc.status >= 500


def to_domain_error(exc: Exception, sent: Collection[str] = ()) -> DomainError:
    """Translate a Twilio SDK or transport exception; messages are ours, never Twilio's text or our URLs.

    `sent`: the optional Twilio parameters the request carried (e.g. "BundleSid"), for codes whose meaning
    depends on them.
    """
    exc = as_rest_exception(exc)
    if isinstance(exc, TwilioRestException):
        _count_twilio_error(str(exc.code or exc.status))
        return _from_twilio_error(exc, sent)
    _count_twilio_error("connection")
    if isinstance(exc, RequestException):
        return UpstreamFailure("Twilio could not be reached; the request may not have been processed.")
    return UpstreamFailure("Calling Twilio failed unexpectedly.")


def _count_twilio_error(code: str) -> None:
    with single_metric(name="TwilioErrors", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="TwilioCode", value=code)


def _from_twilio_error(exc: TwilioRestException, sent: Collection[str]) -> DomainError:
    if is_rate_limited(exc):
        return RateLimited("Twilio is rate limiting our requests; try again shortly.", RETRY_AFTER_SECONDS)
    twilio_code = exc.code if isinstance(exc.code, int) and exc.code != exc.status else None
    for (code, parameter), known in _KNOWN_WHEN_SENT.items():
        if code == twilio_code and parameter in sent:
            return known()
    if twilio_code in _KNOWN:
        return _KNOWN[twilio_code]()
    if exc.status == 404:
        return NotFound("Twilio does not know this resource.")
    if twilio_code is None:
        return UpstreamFailure(f"Twilio answered with HTTP {exc.status}.")
    return UpstreamFailure(f"Twilio answered with HTTP {exc.status} and error {twilio_code}.", twilioCode=twilio_code)
