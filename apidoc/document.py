"""openapi.json, built on Powertools' OpenAPIMerge.

Each route function of template.yaml is a Powertools resolver that describes its own routes; the merge joins
them into one document (and validates it against Powertools' OpenAPI models). Before that, each operation gets
what template.yaml and the layer know and its resolver does not:

- security: `Authorization: Bearer <api key>` on every route behind the authorizer; none on the Twilio webhooks,
  which take a form signed with X-Twilio-Signature (Twilio's signature is their authentication);
- the error bodies the API really sends (`{"error", "message", ...}`) instead of Powertools' default 422 body,
  and which errors the route may answer;
- the route's cost from the layer's cost mapping (`x-token-cost`), and the token headers of charged routes.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server, ServerVariable

from apidoc import components
from apidoc.examples import add_request_examples
from apidoc.summaries import ROUTE_SUMMARIES
from local import template
from local.lambda_runtime import REGION, load_function, put_layer_on_path

DOCUMENT = template.ROOT / "openapi.json"
TITLE = "RobotAppel phone numbers API"
LOCAL_SERVER_URL = "http://127.0.0.1:3000"
# Powertools' own error models, replaced by the API's error format.
_POWERTOOLS_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def build() -> dict[str, Any]:
    """The whole API's OpenAPI document, from template.yaml and the route functions."""
    merge = OpenAPIMerge(
        title=TITLE,
        version=_version(),
        description=_description(),
        servers=_servers(),
        tags=components.TAGS,
        security_schemes={components.BEARER: components.BEARER_SCHEME},
        on_conflict="error",
    )
    merge.add_schema({"components": components.SHARED})
    put_layer_on_path()
    from robotappel.tokens.costs import ROUTE_COSTS  # the layer's: importable once on the path

    functions = template.functions()
    models: dict[str, Any] = dict(components.ERROR_SCHEMAS)
    for logical_id, routes in _routes_by_function().items():
        schema = _function_schema(functions[logical_id], routes, ROUTE_COSTS)
        check_model_names(schema, models, functions[logical_id])
        merge.add_schema(schema)
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _routes_by_function() -> dict[str, dict[tuple[str, str], template.Route]]:
    """The logical id of each function that serves routes -> its routes by (method, path)."""
    routes: dict[str, dict[tuple[str, str], template.Route]] = defaultdict(dict)
    for route in template.routes():
        routes[route.function][(route.method, route.path)] = route
    return dict(sorted(routes.items()))


def _function_schema(
    function: template.Function, routes: dict[tuple[str, str], template.Route], costs: Mapping[str, int]
) -> dict[str, Any]:
    """The function's resolver's own schema, each operation described as template.yaml and the layer say."""
    with _deployed_environment(function):
        module = load_function(function.name)
    schema: dict[str, Any] = json.loads(module.app.get_openapi_json_schema())
    models = schema.get("components", {}).get("schemas", {})
    for name in _POWERTOOLS_ERROR_SCHEMAS:
        models.pop(name, None)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            route = routes.get((method.upper(), path))
            if route is None:
                raise ValueError(f"{function.logical_id} serves {method.upper()} {path}: not a route of template.yaml")
            route_key = f"{route.method} {route.path}"
            _describe(operation, route, costs[route_key], (module.__doc__ or "").strip())
            add_request_examples(operation, route_key)
    return schema


@contextmanager
def _deployed_environment(function: template.Function) -> Iterator[None]:
    """Functions validate their settings at init; the document needs none of their values, only plausible ones."""
    missing = {key: value for key, value in template.placeholder_environment(function).items() if key not in os.environ}
    os.environ.update(missing)
    try:
        yield
    finally:
        for key in missing:
            os.environ.pop(key, None)


def _describe(operation: dict[str, Any], route: template.Route, cost: int, description: str) -> None:
    """Security, tag, cost, error responses and token headers of one operation."""
    if description:
        operation.setdefault("description", description)
    operation["summary"] = ROUTE_SUMMARIES[f"{route.method} {route.path}"]
    operation["tags"] = [route.path.split("/")[1] if route.authorized else components.WEBHOOKS_TAG]
    operation["security"] = [{components.BEARER: []}] if route.authorized else []
    operation["x-token-cost"] = cost
    if not route.authorized:
        operation.setdefault("parameters", []).append(components.TWILIO_SIGNATURE)
        operation.setdefault("requestBody", components.TWILIO_FORM)
    responses: dict[str, Any] = operation["responses"]
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        if cost:
            response["headers"] = dict(components.TOKEN_HEADER_REFS)
        if _pages_by_header(operation, response):
            response.setdefault("headers", {})[components.NEXT_CURSOR] = components.NEXT_CURSOR_HEADER_REF
    responses.update(components.error_responses(route, cost))
    operation["responses"] = dict(sorted(responses.items()))


def _pages_by_header(operation: dict[str, Any], response: dict[str, Any]) -> bool:
    """A list route with a `cursor` parameter answers an array, and its next page's cursor in X-Next-Cursor."""
    takes_cursor = any(parameter.get("name") == "cursor" for parameter in operation.get("parameters", []))
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return takes_cursor and schema.get("type") == "array"


def check_model_names(schema: dict[str, Any], models: dict[str, Any], function: template.Function) -> None:
    """Powertools' merge keeps the last of two models with the same name: a route would be described with
    another's model, or a model would replace an error schema."""
    for name, definition in schema.get("components", {}).get("schemas", {}).items():
        if models.setdefault(name, definition) != definition:
            raise ValueError(f"{function.logical_id} has a model called {name}, the name of another schema")


def _description() -> str:
    summary = " ".join(str(template.load().get("Description", "")).split())
    return "\n\n".join(
        [
            summary,
            "Every route but the Twilio webhooks needs `Authorization: Bearer <api key>` (locally: `demo-key`, "
            "`other-key`, `admin-key`). A member sees only its own organisation.",
            "Each route costs tokens from the caller's organisation (`x-token-cost`), charged once and only on "
            "success; successful charged calls carry `X-Tokens-Charged` and `X-Tokens-Remaining`.",
            'Errors are always JSON `{"error": "<snake_case_code>", "message": "...", ...}`.',
        ]
    )


def _servers() -> list[Server]:
    stage = template.load().get("Parameters", {}).get("Stage", {})
    return [
        Server(url=LOCAL_SERVER_URL, description="make run (local: SAM's API Gateway emulator, moto, Twilio emulator)"),
        Server(
            url="https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
            description="Deployed with sam deploy",
            variables={
                "apiId": ServerVariable(default="apiId", description="The REST API id (sam deploy's output)."),
                "region": ServerVariable(default=REGION),
                "stage": ServerVariable(
                    default=str(stage.get("Default", "dev")), enum=[str(s) for s in stage.get("AllowedValues", [])]
                ),
            },
        ),
    ]


def _version() -> str:
    return str(tomllib.loads((template.ROOT / "pyproject.toml").read_text())["project"]["version"])
