"""The dev server's stream delivery (local/streams.py) keeps reading a table's stream as Lambda's event source
mapping does, whatever the table went through."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

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
