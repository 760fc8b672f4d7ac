"""An Idempotency-Key's life after its purchase (#21): the number released since, and the key past its 24 hours."""

import json
import time

import boto3
import pytest

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import ledger
from tests.fixtures.twilio import org_account
from tests.iam.calls import made_by_the_test
from tests.integration.test_twilio_numbers import buy, delete

pytestmark = pytest.mark.usefixtures("twilio_layer")

KEY = {"Idempotency-Key": "buy-1"}


def owned_numbers(emulator: TwilioEmulator, org: str) -> list[str]:
    """The numbers in the org's subaccount."""
    return [str(number["phone_number"]) for number in emulator.incoming_numbers(org_account(emulator, org)["sid"])]


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
    assert owned_numbers(twilio_layer, org) == []
    assert ledger.get_balance(org) == balance


def test_a_key_past_its_24_hours_not_yet_deleted_by_the_ttl_names_a_new_purchase(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a purchase made with an Idempotency-Key more than 24 hours ago, whose item DynamoDB's TTL has not deleted
    # yet (it deletes expired items up to days late)
    first = buy(headers=KEY)
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().idempotency_table)
    with made_by_the_test():
        table.update_item(
            Key={"id": json.dumps([org, KEY["Idempotency-Key"]])},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": int(time.time()) - 1},
        )
    # When the client uses the key again
    again = buy(headers=KEY)
    # Then the key is a new one: a second purchase, bought and charged (not the first number replayed for free)
    assert (first.status, again.status) == (201, 201), again.body
    assert again.body["id"] != first.body["id"]
    assert sorted(owned_numbers(twilio_layer, org)) == sorted([first.body["phoneNumber"], again.body["phoneNumber"]])
    assert again.headers["X-Tokens-Charged"] == "40"
