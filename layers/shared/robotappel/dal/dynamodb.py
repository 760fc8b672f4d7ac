"""The DynamoDB client, item (de)serialisation and translation of boto3 errors into domain errors."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from robotappel.errors import ServiceUnavailable
from robotappel.snapstart import after_restore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

Item = dict[str, Any]
R = TypeVar("R")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    # A single-item write met a transaction under way on its item: it lost a race it may simply run again.
    "TransactionConflictException",
}
# A transaction cancelled for this reason (and no failed condition) lost a race with another write: nothing was
# applied, and running it again may succeed.
_TRANSACTION_CONFLICT = "TransactionConflict"


@cache
def client() -> "DynamoDBClient":
    # botocore retries throttling itself (standard mode, 4 attempts); what still fails after that becomes a 503.
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 4}))


after_restore(client.cache_clear)


def to_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def from_ddb(item: Mapping[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def values(**named: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(cost=5) -> {":cost": {"N": "5"}}."""
    return {f":{name}": _serializer.serialize(value) for name, value in named.items()}


@dataclass(frozen=True)
class Write:
    """One named part of a transaction. The name is how a failed condition is asked about: `failure.failed(name)`."""

    name: str
    request: "TransactWriteItemTypeDef"


class ConditionFailed(Exception):
    """A conditional write did not happen because a condition did not hold: of one or more named parts of a
    transaction (`transact`), or of the one named item of `update`."""

    def __init__(self, parts: Sequence[str], old_items: Mapping[str, Item]) -> None:
        super().__init__(f"condition failed: {', '.join(old_items)}")
        self._parts = tuple(parts)
        self._old_items = dict(old_items)

    def failed(self, name: str) -> bool:
        if name not in self._parts:
            raise ValueError(f"{name!r} is not a part of this write: {self._parts}")
        return name in self._old_items

    def old_item(self, name: str) -> Item:
        """The item as it was when its condition failed (needs ReturnValuesOnConditionCheckFailure)."""
        return self._old_items.get(name, {}) if self.failed(name) else {}


@contextmanager
def unavailable_on_throttling() -> Iterator[None]:
    """Throttling and DynamoDB outages reach the caller as 503; every other error stays what it is. A request
    botocore refuses to send (a parameter error, missing credentials) is a bug of ours: a 500 and a log line."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE:
            raise ServiceUnavailable("The database is busy; retry in a moment.") from error
        raise
    except (BotoConnectionError, HTTPClientError) as error:
        raise ServiceUnavailable("The database could not be reached; retry in a moment.") from error


@dataclass(frozen=True)
class Rows(Generic[R]):
    """A page of records, and the sort key of its last one when more follow (where the next page starts)."""

    records: list[R]
    last_sk: str | None = None


def query_rows(record: Callable[[Item], R], limit: int, after: Item | None, **request: Any) -> Rows[R]:
    """Up to `limit` records of a Query, from after the `after` key. One item more than asked is read, so that a
    page ending the results says so (no next page that would be empty). When a FilterExpression left the first
    read short, the rest is read in DynamoDB's own pages (1 MB): the next page starts after the last record kept."""
    items: list[Item] = []
    if after is not None:
        request["ExclusiveStartKey"] = to_ddb(after)
    page_size: dict[str, Any] = {"Limit": limit + 1}
    while True:
        with unavailable_on_throttling():
            response = client().query(**request, **page_size)
        items += [from_ddb(item) for item in response["Items"]]
        if len(items) > limit or "LastEvaluatedKey" not in response:
            break
        page_size = {}
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    page = items[:limit]
    return Rows([record(item) for item in page], page[-1]["sk"] if len(items) > limit else None)


def query_items(**request: Any) -> Iterator[Item]:
    """Every item a Query returns (deserialised), read a page (DynamoDB's 1 MB) at a time, as they are used."""
    pages = client().get_paginator("query").paginate(**request)
    with unavailable_on_throttling():
        for page in pages:
            yield from (from_ddb(item) for item in page["Items"])


def update(name: str, **request: Any) -> Item:
    """One UpdateItem; returns its Attributes (deserialised). A failed ConditionExpression is ConditionFailed(name)."""
    try:
        with unavailable_on_throttling():
            response = client().update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            failed: dict[str, Any] = dict(error.response)  # carries "Item" with ReturnValuesOnConditionCheckFailure
            raise ConditionFailed([name], {name: from_ddb(failed.get("Item", {}))}) from error
        raise
    return from_ddb(response.get("Attributes", {}))


def transact(writes: Sequence[Write]) -> None:
    """All or nothing; ConditionFailed tells by name which parts' conditions did not hold."""
    names = [write.name for write in writes]
    if len(set(names)) != len(names):
        raise ValueError(f"transaction parts need distinct names: {names}")
    try:
        with unavailable_on_throttling():
            client().transact_write_items(TransactItems=[write.request for write in writes])
    except ClientError as error:
        reasons = error.response.get("CancellationReasons", [])
        failed = {
            name: from_ddb(reason.get("Item", {}))
            for name, reason in zip(names, reasons, strict=False)
            if reason.get("Code") == "ConditionalCheckFailed"
        }
        if failed:
            raise ConditionFailed(names, failed) from error
        if any(reason.get("Code") == _TRANSACTION_CONFLICT for reason in reasons):
            raise ServiceUnavailable("A concurrent change was under way; retry in a moment.") from error
        raise
