"""Phone numbers are personal data (GDPR): no log line carries one in clear, whatever the route does.

Checked on what Lambda ships to CloudWatch: the lines the layer's Powertools logger writes, as formatted.
"""

import io
from collections.abc import Iterator
from logging import StreamHandler
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.observability import logger, mask_phone_numbers
from tests.fixtures.lambdas import call
from tests.integration.test_fault_injection import failing_final_transaction

CLIENT_PHONE = "+33612345678"
BOUGHT = "+15005550006"  # Twilio's test-credential number that always buys


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+33612345678", "+336******78"),
        ("to +15005550006.", "to +150******06."),
        (
            "/GetTwilioPhoneNumberByClientPhoneNumber/%2B33612345678",
            "/GetTwilioPhoneNumberByClientPhoneNumber/%2B336******78",
        ),
        ('{"phoneNumber": "+4420794600"}', '{"phoneNumber": "+442*****00"}'),
        ("cost 40, balance 1000, sid PN0123456789abcdef", "cost 40, balance 1000, sid PN0123456789abcdef"),
    ],
)
def test_a_phone_number_keeps_its_country_and_last_two_digits(text: str, masked: str) -> None:
    assert mask_phone_numbers(text) == masked


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the logger writes (to stdout in Lambda), as its own formatter formats it."""
    handler: StreamHandler[Any] = logger.registered_handler  # type: ignore[assignment]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_no_phone_number_in_clear_in_any_log_line(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    # Given a client phone registered, and a purchase whose recording fails (its compensation logs the number)
    call("add_client_phone", org=org, body={"phoneNumber": CLIENT_PHONE})
    failing_final_transaction("InternalServerError")(twilio_layer, None, monkeypatch)  # type: ignore[arg-type]
    # When the org buys a number linked to that phone
    result = call("buy_twilio_number", org=org, body={"phoneNumber": BOUGHT, "clientPhoneNumber": CLIENT_PHONE})
    # Then the log lines speak of both numbers, masked, and never in clear
    assert result.status == 503
    logged = log_stream.getvalue()
    assert mask_phone_numbers(BOUGHT) in logged, "no log line named the number: this test would prove nothing"
    for phone in (CLIENT_PHONE, BOUGHT):
        assert phone not in logged
