"""The local DynamoDB (moto's server) answers as DynamoDB does under concurrency: no answer is made from an item
another request is changing (moto's own handlers would fail with a 500 for a write they applied, which botocore
sends again: a charge applied twice)."""

from moto.dynamodb.responses import DynamoHandler

from local.aws import isolate_dynamodb_writes

ITEM_REQUESTS = ("get_item", "query", "scan", "put_item", "update_item", "delete_item", "transact_write_items")


def test_the_servers_item_requests_are_answered_one_at_a_time() -> None:
    # Given the local DynamoDB's isolation, as `make run` and the e2e servers set it up
    isolate_dynamodb_writes()
    # Then moto's handler of every item request runs under the one lock (a moto upgrade renaming one fails here)
    assert [name for name in ITEM_REQUESTS if not getattr(getattr(DynamoHandler, name), "isolated", False)] == []
