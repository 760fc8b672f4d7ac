"""Powertools idempotency records (IdempotencyTable), through the layer's own DynamoDB client."""

from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from robotappel.config import get_settings
from robotappel.dal.dynamodb import client


@cache
def persistence_store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=client())
