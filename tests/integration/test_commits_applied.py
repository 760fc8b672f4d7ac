"""A commit DynamoDB applied but whose answer was lost is a commit: the call succeeded, and is charged once."""

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger, numbers
from tests.fixtures.dynamodb_faults import DynamoDBFaults, applied_answer_lost, mentions
from tests.integration.test_twilio_numbers import add_client_phone, delete

pytestmark = pytest.mark.usefixtures("twilio_layer")


def test_a_delete_whose_commit_applied_but_lost_its_answer_succeeds_and_is_charged_once(
    org: str, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given a client phone, and DynamoDB applying the delete's commit (with its charge) then losing its answer
    phone = add_client_phone(org)
    dynamodb_faults.arm("transact_write_items", applied_answer_lost(), when=mentions(phone))
    # When the org deletes the phone
    result = delete(phone, org=org)
    # Then the delete succeeded, and is charged once (it was a 500: the refund found the hold settled)
    assert result.status == 200, result.body
    assert numbers.get_number(org, phone, consistent=True) is None
    assert result.headers["X-Tokens-Charged"] == "5"
    assert ledger.get_balance(org) == 95
