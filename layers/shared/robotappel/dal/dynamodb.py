"""The DynamoDB client, item (de)serialisation and translation of boto3 errors into domain errors."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from robotappel.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

Item = dict[str, Any]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


@cache
def client() -> "DynamoDBClient":
    # botocore retries throttling itself (adaptive mode); what still fails after that becomes a 503.
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 4}))


def to_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def from_ddb(item: Mapping[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def values(**named: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(cost=5) -> {":cost": {"N": "5"}}."""
    return {f":{name}": _serializer.serialize(value) for name, value in named.items()}


class ConditionFailed(Exception):
    """A conditional write did not happen because a condition did not hold: of one or more items of a
    transaction (`transact`), or of the one item of `update` (index 0)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction condition failed")
        self.reasons = reasons

    def failed_at(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].get("Code") == "ConditionalCheckFailed"

    def old_item(self, index: int) -> Item:
        """The item as it was when its condition failed (needs ReturnValuesOnConditionCheckFailure)."""
        reason = self.reasons[index] if index < len(self.reasons) else {}
        return from_ddb(reason["Item"]) if "Item" in reason else {}


@contextmanager
def unavailable_on_throttling() -> Iterator[None]:
    """Throttling and DynamoDB outages reach the caller as 503; every other error stays what it is."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE:
            raise ServiceUnavailable("The database is busy; retry in a moment.") from error
        raise
    except BotoCoreError as error:
        raise ServiceUnavailable("The database could not be reached; retry in a moment.") from error


def update(**request: Any) -> Item:
    """One UpdateItem; returns its Attributes (deserialised). A failed ConditionExpression is ConditionFailed."""
    try:
        with unavailable_on_throttling():
            response = client().update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            old_item = {"Item": error.response["Item"]} if "Item" in error.response else {}  # type: ignore[typeddict-item]
            raise ConditionFailed([{"Code": "ConditionalCheckFailed", **old_item}]) from error
        raise
    return from_ddb(response.get("Attributes", {}))


def transact(items: Sequence["TransactWriteItemTypeDef"]) -> None:
    """All or nothing; ConditionFailed tells which item's condition did not hold."""
    try:
        with unavailable_on_throttling():
            client().transact_write_items(TransactItems=list(items))
    except ClientError as error:
        reasons: list[dict[str, Any]] = [dict(reason) for reason in error.response.get("CancellationReasons", [])]
        if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
            raise ConditionFailed(reasons) from error
        raise
