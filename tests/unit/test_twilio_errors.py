"""How Twilio's failures become domain errors, and which of them may be retried."""

import pytest
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, ReadTimeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.response import Response
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from robotappel.errors import Conflict, InvalidInput, NotFound, RateLimited, UpstreamFailure
from robotappel.twilio.errors import is_retryable, is_retryable_when_idempotent, to_domain_error

URI = "/Accounts/AC123/IncomingPhoneNumbers.json"


def twilio_error(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, URI, msg="Unable to create record: details", code=code, method="POST")


def refused_connection() -> RequestsConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return RequestsConnectionError(MaxRetryError(None, URI, reason))  # type: ignore[arg-type]


def reset_after_sending() -> RequestsConnectionError:
    reason = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    return RequestsConnectionError(reason)


@pytest.mark.parametrize(
    ("code", "field", "error_code"),
    [
        (21421, "phoneNumber", "validation_error"),
        (21649, "bundleSid", "bundle_required"),
        (21631, "addressSid", "address_required"),
    ],
)
def test_invalid_input_codes_name_the_field_to_fix(code: int, field: str, error_code: str) -> None:
    # Given Twilio refuses a parameter of ours
    # When the failure is translated
    error = to_domain_error(twilio_error(400, code))
    # Then the caller learns which field to fix
    assert isinstance(error, InvalidInput)
    assert (error.field, error.error_code) == (field, error_code)


@pytest.mark.parametrize(
    ("code", "sent", "field", "error_code"),
    [
        (21649, "BundleSid", "bundleSid", "bundle_not_approved"),
        (21631, "AddressSid", "addressSid", "address_not_accepted"),
    ],
)
def test_a_regulatory_refusal_of_what_we_sent_says_it_was_not_accepted(
    code: int, sent: str, field: str, error_code: str
) -> None:
    # Given Twilio refuses a purchase that carried a bundle or an address (the same code as when it is missing)
    # When the failure is translated, knowing what the request sent
    error = to_domain_error(twilio_error(400, code), sent={sent})
    # Then the caller learns that the one it gave is not accepted, not that one is missing
    assert isinstance(error, InvalidInput)
    assert (error.field, error.error_code) == (field, error_code)


def test_a_bundle_refusal_is_about_the_bundle_even_when_an_address_was_sent() -> None:
    # Given a purchase that sent an address but no bundle, refused for its bundle
    # When the failure is translated
    error = to_domain_error(twilio_error(400, 21649), sent={"AddressSid"})
    # Then the bundle is said to be missing
    assert isinstance(error, InvalidInput)
    assert error.error_code == "bundle_required"


@pytest.mark.parametrize(
    ("code", "error_code"),
    [(21422, "number_unavailable"), (21452, "no_numbers_available"), (21450, "already_verified")],
)
def test_conflict_codes_become_conflicts_with_their_own_code(code: int, error_code: str) -> None:
    # Given Twilio says the state of the world forbids the request
    # When the failure is translated
    error = to_domain_error(twilio_error(400, code))
    # Then it is a conflict with a code the client can act on
    assert isinstance(error, Conflict)
    assert error.error_code == error_code


def test_resource_not_found_becomes_not_found() -> None:
    # Given Twilio does not know a SID
    # When the failure is translated
    error = to_domain_error(twilio_error(404, 20404))
    # Then it is a not-found
    assert isinstance(error, NotFound)


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (429, None), (400, 20429)])
def test_rate_limits_become_rate_limited_with_a_retry_delay(status: int, code: int | None) -> None:
    # Given Twilio throttles us, by HTTP status or by error code
    # When the failure is translated
    error = to_domain_error(twilio_error(status, code))
    # Then the client is told to come back later
    assert isinstance(error, RateLimited)
    assert error.retry_after_seconds > 0


def test_unknown_twilio_error_is_an_upstream_failure_carrying_the_twilio_code() -> None:
    # Given Twilio fails with a code we do not map
    # When the failure is translated
    error = to_domain_error(twilio_error(500, 20500))
    # Then it is an upstream failure that says which Twilio code it was
    assert isinstance(error, UpstreamFailure)
    assert error.details == {"twilioCode": 20500}


def test_server_error_without_a_twilio_code_has_no_twilio_code() -> None:
    # Given Twilio answered 503 with no code of its own (the SDK then copies the HTTP status into `code`)
    # When the failure is translated
    error = to_domain_error(twilio_error(503, 503))
    # Then no made-up twilioCode is reported
    assert isinstance(error, UpstreamFailure)
    assert "twilioCode" not in error.details


def test_messages_never_repeat_twilio_text_or_the_request_uri() -> None:
    # Given a Twilio error whose text and URI include account details
    exc = TwilioRestException(500, "/Accounts/ACsecret/X.json", msg="token=abc", code=20500, method="POST")
    # When it is translated
    error = to_domain_error(exc)
    # Then the message is our own sentence
    assert "ACsecret" not in error.message
    assert "token" not in error.message
    assert error.message.endswith(".")


def test_unreachable_twilio_is_an_upstream_failure() -> None:
    # Given the connection to Twilio failed
    # When the failure is translated
    error = to_domain_error(refused_connection())
    # Then it is an upstream failure (502), not a crash
    assert isinstance(error, UpstreamFailure)


@pytest.mark.parametrize(
    "exc",
    [twilio_error(429, 20429), twilio_error(400, 20429), refused_connection(), ConnectTimeout()],
    ids=["http-429", "code-20429", "connection-refused", "connect-timeout"],
)
def test_throttling_and_failures_before_sending_are_retryable(exc: Exception) -> None:
    # Given a failure after which Twilio cannot have acted on the request
    # When we ask whether to retry
    # Then the answer is yes
    assert is_retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [ReadTimeout(), reset_after_sending(), twilio_error(500, 20500), twilio_error(400, 21422)],
    ids=["read-timeout", "reset-after-sending", "server-error", "number-unavailable"],
)
def test_failures_after_the_request_was_sent_are_not_retried(exc: Exception) -> None:
    # Given a failure after which Twilio may already have bought the number
    # When we ask whether to retry
    # Then the answer is no: a second POST could buy twice
    assert not is_retryable(exc)


@pytest.mark.parametrize(
    "exc", [reset_after_sending(), twilio_error(500, 20500)], ids=["reset-after-sending", "server-error"]
)
def test_a_deletion_whose_answer_was_lost_quickly_is_sent_again(exc: Exception) -> None:
    # Given a DELETE by SID that failed after it was sent, at once (the same request twice deletes once)
    # When we ask whether to send it again
    # Then the answer is yes: a 404 then tells it was done
    assert is_retryable_when_idempotent(exc)


def test_a_deletion_that_timed_out_is_not_sent_again() -> None:
    # Given a DELETE by SID whose answer never came within REQUEST_TIMEOUT_SECONDS
    # When we ask whether to send it again
    # Then the answer is no: three tries of 10 s each would outlast the function's 20 s
    assert not is_retryable_when_idempotent(ReadTimeout())


def test_a_failed_list_page_is_mapped_like_any_twilio_error() -> None:
    # Given the SDK's bare exception for a list page Twilio refused (it carries the HTTP response)
    response = Response(400, '{"code": 21452, "message": "No phone numbers found", "status": 400}')
    exc = TwilioException("Unable to fetch page", response)
    # When the failure is translated
    error = to_domain_error(exc)
    # Then Twilio's code inside the response decides, as for any other call
    assert isinstance(error, Conflict)
    assert error.error_code == "no_numbers_available"


def test_a_throttled_list_page_is_retryable() -> None:
    # Given the SDK's bare exception for a list page answered 429
    exc = TwilioException("Unable to fetch page", Response(429, '{"code": 20429, "status": 429}'))
    # When we ask whether to retry
    # Then the answer is yes
    assert is_retryable(exc)
