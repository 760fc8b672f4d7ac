"""A transaction's failed conditions are asked by the name of the part, never by its position."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from robotappel.dal import dynamodb
from robotappel.dal.dynamodb import ConditionFailed, Write


class CancellingClient:
    """Stands in for DynamoDB: cancels every transaction with the given reasons, in the parts' order."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        self.reasons = reasons

    def transact_write_items(self, **_: Any) -> None:
        error = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": self.reasons}
        raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]


def parts(*names: str) -> list[Write]:
    return [
        Write(name, {"ConditionCheck": {"TableName": "t", "Key": {}, "ConditionExpression": "x"}}) for name in names
    ]


def cancel(monkeypatch: pytest.MonkeyPatch, *codes: str) -> None:
    reasons = [{"Code": code} for code in codes]
    monkeypatch.setattr(dynamodb, "client", lambda: CancellingClient(reasons))


def test_the_failed_part_is_known_by_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a transaction whose second part's condition fails
    cancel(monkeypatch, "None", "ConditionalCheckFailed", "None")
    # When it is written
    with pytest.raises(ConditionFailed) as failure:
        dynamodb.transact(parts("number", "guard", "charge"))
    # Then the failure names that part, and only it
    assert failure.value.failed("guard")
    assert not failure.value.failed("number")
    assert not failure.value.failed("charge")


def test_asking_about_a_part_the_transaction_does_not_have_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a failed transaction
    cancel(monkeypatch, "ConditionalCheckFailed")
    with pytest.raises(ConditionFailed) as failure:
        dynamodb.transact(parts("number"))
    # When a caller asks about a name that is not one of its parts (a typo, a renamed part)
    # Then it is told so instead of getting a silent False
    with pytest.raises(ValueError, match="guard"):
        failure.value.failed("guard")


def test_two_parts_may_not_share_a_name() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        dynamodb.transact(parts("number", "number"))
