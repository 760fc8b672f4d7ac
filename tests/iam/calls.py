"""What each function asks of AWS while the tests run it in-process, as IAM actions on resources.

`made_by(function)` attributes the AWS calls made inside it to that function (tests.fixtures.lambdas runs every
handler inside it); the tests' own calls, to set up or look at AWS, belong to no function. A resource is recorded
as an ARN template in `Fn::Sub` syntax that names the function's environment variable its name came from, e.g.
`arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TOKENS_TABLE}`: deployed.py resolves it
as the deployed function would see it.
"""

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from local import template

_TABLE = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
# The action IAM checks for each kind of item of a DynamoDB transaction.
_TRANSACTION_ITEM_ACTIONS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Delete": "dynamodb:DeleteItem",
    "Get": "dynamodb:GetItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
}


@dataclass(frozen=True, order=True)
class Call:
    function: str  # logical id in template.yaml
    action: str  # as IAM names it: dynamodb:UpdateItem
    resource: str  # an ARN template (see above)


_function: ContextVar[str | None] = ContextVar("iam_function", default=None)
_sinks: list[set[Call]] = [set()]  # the session's, then those of open `captured()` blocks


def made_by(function_dir: str) -> AbstractContextManager[None]:
    """The AWS calls made inside are the function's whose folder is functions/<function_dir>."""
    return _attributed_to(next(f.logical_id for f in template.functions().values() if f.name == function_dir))


def made_by_the_test() -> AbstractContextManager[None]:
    """The AWS calls made inside are the test's own, even while a function runs (a stub looking at a table)."""
    return _attributed_to(None)


@contextmanager
def _attributed_to(logical_id: str | None) -> Iterator[None]:
    token = _function.set(logical_id)
    try:
        yield
    finally:
        _function.reset(token)


@contextmanager
def captured() -> Iterator[set[Call]]:
    """The calls recorded inside the block (the session keeps them too)."""
    calls: set[Call] = set()
    _sinks.append(calls)
    try:
        yield calls
    finally:
        _sinks.remove(calls)


def recorded() -> set[Call]:
    """Every call recorded in this process."""
    return set(_sinks[0])


def recording(make_api_call: Callable[..., Any]) -> Callable[..., Any]:
    """botocore's `BaseClient._make_api_call`, recording the calls made inside `made_by`."""

    def make_api_call_recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = _function.get()
        if function is not None:
            environment = template.functions()[function].environment
            names = {os.environ[name]: name for name in environment if os.environ.get(name)}
            made = {
                Call(function, action, resource)
                for action, resource in actions(client.meta.service_model.signing_name, operation, params, names)
            }
            for sink in _sinks:
                sink.update(made)
        return make_api_call(client, operation, params)

    return make_api_call_recorded


def actions(
    service: str, operation: str, params: Mapping[str, Any], variables: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The (action, resource) pairs IAM authorises for one API call. `variables` maps a name the function was
    configured with (a table name, a secret id) to the environment variable that holds it."""

    def named(identifier: str) -> str:
        return "${" + variables[identifier] + "}" if identifier in variables else identifier

    if service == "dynamodb":
        return _dynamodb(operation, params, named)
    if service == "apigateway":
        # API Gateway's management API is authorised by HTTP method on the resource's path.
        method, path = _apigateway_request(operation, params)
        return [(f"apigateway:{method}", "arn:${AWS::Partition}:apigateway:${AWS::Region}::" + path)]
    if service == "secretsmanager" and "SecretId" in params:
        return [(f"secretsmanager:{operation}", named(params["SecretId"]))]
    return [(f"{service}:{operation}", "*")]


@cache
def _apigateway() -> ServiceModel:
    return botocore.session.get_session().get_service_model("apigateway")


def _apigateway_request(operation: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """The HTTP method and path botocore sends for an API Gateway operation (its query string left out)."""
    model = _apigateway().operation_model(operation)
    path = str(model.http["requestUri"]).partition("?")[0]
    for name, member in model.input_shape.members.items() if model.input_shape else ():
        if member.serialization.get("location") == "uri":
            path = path.replace("{" + member.serialization["name"] + "}", str(params[name]))
    return str(model.http["method"]), path


def _dynamodb(operation: str, params: Mapping[str, Any], named: Callable[[str], str]) -> list[tuple[str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            (_TRANSACTION_ITEM_ACTIONS[kind], _TABLE + named(part["TableName"]))
            for item in params["TransactItems"]
            for kind, part in item.items()
        ]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", _TABLE + named(table)) for table in params["RequestItems"]]
    if "TableName" not in params:
        return [(f"dynamodb:{operation}", "*")]
    resource = _TABLE + named(params["TableName"])
    if "IndexName" in params:
        resource += "/index/" + params["IndexName"]
    return [(f"dynamodb:{operation}", resource)]
