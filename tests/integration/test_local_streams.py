"""The dev server's stream delivery (local/streams.py) keeps reading a table's stream as Lambda's event source
mapping does, whatever the table went through."""

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local.aws import isolate_dynamodb_writes
from local.lambda_runtime import REGION
from local.streams import StreamDelivery

TABLE = "streamed"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(dynamodb: Any, key: str) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": key}})


def test_records_written_after_a_failed_transaction_are_still_delivered(dynamodb: Any) -> None:
    # Given a delivery that has read the stream once
    delivered: list[str] = []

    def consume(event: dict[str, Any]) -> None:
        delivered.extend(record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"])

    delivery = StreamDelivery(dynamodb, boto3.client("dynamodbstreams", region_name=REGION), TABLE, consume)
    put(dynamodb, "before")
    delivery.deliver()
    # When a transaction fails its condition (moto then restores a copy of the table, its stream shard included),
    # and a write follows
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": "never"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            ]
        )
    put(dynamodb, "after")
    delivery.deliver()
    # Then the write after it is delivered, once, and nothing of the failed transaction
    assert delivered == ["before", "after"]


def test_a_stream_read_never_sees_the_writes_of_a_transaction_that_fails(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the local server's isolation of moto, and a transaction whose second write fails its condition after
    # its first was applied (moto applies in order, then rolls back)
    isolate_dynamodb_writes()
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    delivered: list[str] = []

    def consume(event: dict[str, Any]) -> None:
        delivered.extend(record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"])

    delivery = StreamDelivery(dynamodb, streams, TABLE, consume)
    midway, read = threading.Event(), threading.Event()
    get_item = DynamoDBBackend.get_item

    def condition_read_after_a_stream_read(backend: Any, table_name: str, key: Any, *args: Any) -> Any:
        if key == {"pk": {"S": "missing"}}:  # the second write's condition, checked after the first was applied
            midway.set()
            read.wait(timeout=1)  # the stream read below, if it can happen now
        return get_item(backend, table_name, key, *args)

    monkeypatch.setattr(DynamoDBBackend, "get_item", condition_read_after_a_stream_read)

    def failing_transaction() -> None:
        with pytest.raises(ClientError, match="TransactionCanceledException"):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "rolled back"}}}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "missing"}},
                            "UpdateExpression": "SET n = :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )

    # When the stream is read while the transaction is under way, and a write follows it
    transaction = threading.Thread(target=failing_transaction)
    transaction.start()
    assert midway.wait(timeout=5)
    delivery.deliver()
    read.set()
    transaction.join()
    monkeypatch.setattr(DynamoDBBackend, "get_item", get_item)
    put(dynamodb, "after")
    delivery.deliver()
    # Then only the write that DynamoDB kept is delivered
    assert delivered == ["after"]


def test_a_read_that_goes_on_after_a_failed_transaction_reads_what_the_table_kept(dynamodb: Any) -> None:
    # Given the local server's isolation of moto, and a delivery whose read goes on page after page (each page's
    # NextShardIterator), with a transaction failing between two pages, then a write
    isolate_dynamodb_writes()
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    delivered: list[str] = []

    def consume(event: dict[str, Any]) -> None:
        delivered.extend(record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"])

    class BetweenPages:
        """The streams client, with a failed transaction and a write made after the first page is read."""

        pages = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(streams, name)

        def get_records(self, **request: Any) -> Any:
            page = streams.get_records(**request)
            self.pages += 1
            if self.pages == 1:
                with pytest.raises(ClientError, match="TransactionCanceledException"):
                    dynamodb.transact_write_items(
                        TransactItems=[
                            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "rolled back"}}}},
                            {
                                "ConditionCheck": {
                                    "TableName": TABLE,
                                    "Key": {"pk": {"S": "missing"}},
                                    "ConditionExpression": "attribute_exists(pk)",
                                }
                            },
                        ]
                    )
                put(dynamodb, "after")
            return page

    delivery = StreamDelivery(dynamodb, BetweenPages(), TABLE, consume)
    put(dynamodb, "before")
    # When the stream is read, and read again later
    delivery.deliver()
    delivery.deliver()
    # Then what the table kept is delivered once, in order, and nothing of the failed transaction
    assert delivered == ["before", "after"]
