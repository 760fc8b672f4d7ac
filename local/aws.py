"""The local stand-in for AWS: one moto server for DynamoDB, Secrets Manager and API Gateway's API keys and usage
plans, tables and plans made from template.yaml."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.apigateway.exceptions import ConflictException
from moto.apigateway.models import APIGatewayBackend, UsagePlanKey
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.server import ThreadedMotoServer

from local import template
from local.lambda_runtime import REGION

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_SESSION_TOKEN": "testing",
}
TWILIO_SECRET_NAME = "robotappel/local/twilio"  # noqa: S105  # a name, not a secret
# What would take boto3 past moto's in-process mock (mock_aws): an endpoint of its own (a running `make run`'s, say)
# or a profile's real credentials. The tests and the bench unset them before mocking AWS.
BYPASSING_MOCK_AWS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_API_GATEWAY",
    "AWS_PROFILE",
)

# DynamoDB applies each write, and each transaction with all its conditions, in isolation. moto's backend does
# not: its server threads interleave one request's condition checks and writes with another's, so two charges
# can both pass `balance >= cost`, and a failed transaction rolls back by restoring whole tables, undoing the
# writes of other requests made meanwhile. One lock around its writes gives the local server DynamoDB's
# isolation, so that concurrent requests exercise our conditions rather than moto's races. batch_write_item's
# work is done by put_item / delete_item (moto's model method is a stub); the lock is reentrant because
# transact_write_items calls them too.
_DYNAMODB_WRITES = ("transact_write_items", "put_item", "update_item", "delete_item", "batch_write_item")
_DYNAMODB_WRITE_LOCK = threading.RLock()
# moto's request handlers serialise the items they return after the backend is done, outside the lock above: a
# write to the same item meanwhile makes that fail ("dictionary changed size during iteration"), a 500 for a
# request that was applied, which botocore sends again. The server's handlers of item requests take the same
# lock, so that an answer is never made from an item another request is changing (DynamoDB's answers are not).
_DYNAMODB_ITEM_REQUESTS = (
    *_DYNAMODB_WRITES,
    "get_item",
    "batch_get_item",
    "transact_get_items",
    "query",
    "scan",
)
# moto rolls a failed transaction back by putting back a copy of the table made before it, stream shard included;
# the records of the failed writes stay only in the shard it threw away, and the next writes take their sequence
# numbers. A stream read in the middle of a failed transaction, or on an iterator made before a rollback (every
# NextShardIterator keeps its shard), would deliver those records and move its checkpoint past the numbers of the
# writes that follow. Reading the stream takes the same lock, and an iterator reads the table's shard of now:
# a reader sees only what DynamoDB would have written.
_DYNAMODB_STREAM_READS = ("get_shard_iterator", "get_records")
# API Gateway refuses (409 ConflictException) an API key added to a usage plan it is in already, or to a second plan
# of one of that plan's API stages (a key meets one set of quotas per stage); moto adds it again, silently. The local
# plans are made without their stage (there is no API in moto): plans of the same stages, none included, share one.
_moto_create_usage_plan_key = APIGatewayBackend.create_usage_plan_key


def table_name(logical_id: str) -> str:
    """The local name of a template table: NumbersTable -> numbers (CloudFormation would add a random suffix)."""
    return logical_id.removesuffix("Table").lower() or logical_id.lower()


def create_tables(dynamodb: Any) -> dict[str, str]:
    """Creates every table of template.yaml with `dynamodb` (a boto3 client); returns {logical id: table name}."""
    names = {}
    for logical_id, definition in template.tables().items():
        names[logical_id] = table_name(logical_id)
        dynamodb.create_table(TableName=names[logical_id], **definition)
    return names


def create_usage_plans(apigateway: Any, parameters: dict[str, str]) -> dict[str, str]:
    """Creates every usage plan of template.yaml with `apigateway` (a boto3 client), its parameters resolved from
    `parameters` (the Stage's among them); returns {logical id: plan id}."""
    return {
        logical_id: apigateway.create_usage_plan(**definition)["id"]
        for logical_id, definition in template.usage_plans(parameters).items()
    }


@dataclass
class LocalAws:
    """A moto server on a loopback port holding the template's tables and usage plans and the Twilio secret."""

    host: str = "127.0.0.1"
    table_names: dict[str, str] = field(default_factory=dict)
    twilio_secret_arn: str = ""
    _server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalAws is not started")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self, twilio_credentials: dict[str, str], port: int = 0) -> LocalAws:
        """Listening on `port` (0: any free one)."""
        isolate_dynamodb_writes()
        refuse_conflicting_usage_plan_keys()
        self._server = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        self._server.start()
        self.table_names = create_tables(self.client("dynamodb"))
        create_usage_plans(self.client("apigateway"), template.parameter_defaults())
        self._create_twilio_secret(twilio_credentials)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def environment(self) -> dict[str, str]:
        """What boto3 (in the functions and the seeding) needs to talk to this server."""
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **FAKE_CREDENTIALS,
        }

    def client(self, service: str) -> Any:
        """A boto3 client of this server (dynamodb, dynamodbstreams, secretsmanager, apigateway)."""
        return boto3.client(service, **self._client_options())  # type: ignore[call-overload]

    def _client_options(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint,
            "region_name": REGION,
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }

    def _create_twilio_secret(self, credentials: dict[str, str]) -> None:
        secret = self.client("secretsmanager").create_secret(
            Name=TWILIO_SECRET_NAME, SecretString=json.dumps(credentials)
        )
        self.twilio_secret_arn = str(secret["ARN"])


def isolated_dynamodb_writes() -> dict[str, Callable[..., Any]]:
    """moto's DynamoDB write methods (see _DYNAMODB_WRITES), each serialised by the one lock of this process."""
    writes = {name: getattr(DynamoDBBackend, name) for name in _DYNAMODB_WRITES}
    return {name: write if getattr(write, "isolated", False) else _isolated(write) for name, write in writes.items()}


def isolate_dynamodb_writes() -> None:
    """Serialise the writes of moto's DynamoDB backend, and its server's answers to item requests, in this
    process, for good; idempotent."""
    for name, write in isolated_dynamodb_writes().items():
        setattr(DynamoDBBackend, name, write)
    for name in _DYNAMODB_ITEM_REQUESTS:
        handler = getattr(DynamoHandler, name)
        if not getattr(handler, "isolated", False):
            setattr(DynamoHandler, name, _isolated(handler))
    if not getattr(DynamoDBStreamsBackend.get_records, "isolated", False):
        DynamoDBStreamsBackend.get_records = _reading_the_current_shard(DynamoDBStreamsBackend.get_records)  # type: ignore[method-assign]
    for name in _DYNAMODB_STREAM_READS:
        read = getattr(DynamoDBStreamsBackend, name)
        if not getattr(read, "isolated", False):
            setattr(DynamoDBStreamsBackend, name, _isolated(read))


def _reading_the_current_shard(get_records: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_records)
    def from_the_current_shard(backend: DynamoDBStreamsBackend, iterator_arn: str, *args: Any, **kwargs: Any) -> Any:
        iterator = backend.shard_iterators[iterator_arn]
        iterator.stream_shard = backend.dynamodb.get_table(iterator.stream_shard.table.name).stream_shard  # type: ignore[assignment]
        return get_records(backend, iterator_arn, *args, **kwargs)

    return from_the_current_shard


def _isolated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def isolated(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_WRITE_LOCK:
            return method(*args, **kwargs)

    isolated.isolated = True  # type: ignore[attr-defined]
    return isolated


def refuse_conflicting_usage_plan_keys() -> None:
    """moto's usage plans as strict as API Gateway's about a key's plans (see _moto_create_usage_plan_key), for good;
    idempotent."""
    setattr(APIGatewayBackend, "create_usage_plan_key", _create_usage_plan_key_once_per_stage)  # noqa: B010  # mypy refuses a function for a method


def _create_usage_plan_key_once_per_stage(
    backend: APIGatewayBackend, usage_plan_id: str, payload: dict[str, Any]
) -> UsagePlanKey:
    key_id = payload["keyId"]
    target = backend.get_usage_plan(usage_plan_id)
    stages = {(stage["apiId"], stage["stage"]) for stage in target.api_stages}
    for plan in backend.get_usage_plans(api_key_id=key_id):
        if plan.id == usage_plan_id:
            raise ConflictException(f"Usage Plan {usage_plan_id} already has API Key {key_id}")
        other = {(stage["apiId"], stage["stage"]) for stage in plan.api_stages}
        if other == stages or other & stages:
            raise ConflictException(f"API Key {key_id} cannot reference multiple Usage Plans with the same API Stage")
    return _moto_create_usage_plan_key(backend, usage_plan_id, payload)
