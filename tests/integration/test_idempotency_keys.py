"""An Idempotency-Key's life after its purchase (#21): the number released since, and the key past its 24 hours."""

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from tests.integration.test_twilio_numbers import buy, delete, owned_numbers

pytestmark = pytest.mark.usefixtures("twilio_layer")

KEY = {"Idempotency-Key": "buy-1"}


def test_a_replay_after_the_number_was_released_is_409_and_buys_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a purchase made with an Idempotency-Key, whose number was released since
    first = buy(headers=KEY)
    assert delete(first.body["id"]).status == 200
    balance = ledger.get_balance(org)
    # When the client retries the purchase with the same key and body
    replay = buy(headers=KEY)
    # Then 409 conflict naming the released number (it was a 500): no second number, nothing charged
    assert replay.status == 409, replay.body
    assert replay.body["error"] == "conflict"
    assert first.body["id"] in replay.body["message"]
    assert owned_numbers(twilio_layer) == []
    assert ledger.get_balance(org) == balance
