"""One OpenAPI 3 document for the whole API, built from the code; and Swagger UI for the local server.

Every route function is a Powertools resolver that describes its own routes (`app.get_openapi_schema()`); this
merges them, for the functions and routes of template.yaml, into the document clients read:

- security from the template: `Authorization: Bearer <api key>` on every route behind the authorizer, none on
  the Twilio webhooks (Twilio's signature is their authentication);
- the error bodies the API really sends (`{"error", "message", ...}`) instead of Powertools' default 422 body,
  and which errors each route may answer;
- the route's cost from the layer's cost mapping, and the token headers of charged routes.

`python -m local.openapi` prints it, `python -m local.openapi --write` regenerates the committed openapi.json
(`make openapi`); a unit test fails while the two differ. The local server serves it at /openapi.json and Swagger
UI at /docs, with Powertools' own Swagger UI assets: nothing is fetched from a CDN.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from local import template
from local.lambda_runtime import load_function

if TYPE_CHECKING:
    from flask import Flask, Response

ROOT = template.ROOT
DOCUMENT = ROOT / "openapi.json"
LOCAL_SERVER_URL = "http://127.0.0.1:3000"
BEARER = "bearerAuth"
_REF_PREFIX = "#/components/schemas/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Powertools' own error models, replaced by the API's error format.
_POWERTOOLS_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

_ERROR_CODE = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "snake_case error code"}
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Every error the API answers, whoever produces it (function or gateway).",
        "properties": {"error": _ERROR_CODE, "message": {"type": "string", "description": "A human sentence."}},
        "required": ["error", "message"],
        "additionalProperties": True,
    },
    "InsufficientTokensError": {
        "allOf": [
            {"$ref": _REF_PREFIX + "Error"},
            {
                "type": "object",
                "properties": {
                    "error": {"const": "insufficient_tokens"},
                    "required": {"type": "integer", "description": "Tokens the route costs."},
                    "balance": {"type": "integer", "description": "Tokens the organisation has."},
                },
                "required": ["required", "balance"],
            },
        ]
    },
    "InvalidRequestError": {
        "allOf": [
            {"$ref": _REF_PREFIX + "Error"},
            {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "The first invalid field, e.g. phoneNumber."},
                    "problems": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                        },
                    },
                },
                "required": ["field"],
            },
        ]
    },
    "TwilioFailureError": {
        "allOf": [
            {"$ref": _REF_PREFIX + "Error"},
            {
                "type": "object",
                "properties": {"twilioCode": {"type": "integer", "description": "Twilio's error code, if any."}},
            },
        ]
    },
}

# status -> (description, schema name)
_ERRORS: dict[int, tuple[str, str]] = {
    401: ("No or invalid API key.", "Error"),
    402: ("Not enough tokens: nothing was done, nothing charged.", "InsufficientTokensError"),
    403: ("Not allowed: another organisation's data, or a webhook call without a valid Twilio signature.", "Error"),
    404: ("No such number in this organisation.", "Error"),
    409: ("Already exists, or the number is not available.", "Error"),
    422: ("Invalid input; `field` names the first invalid one.", "InvalidRequestError"),
    429: ("Rate limited (by the API or by Twilio); retry after `Retry-After` seconds.", "Error"),
    502: ("Twilio failed; `twilioCode` is Twilio's error code when it gave one.", "TwilioFailureError"),
    503: ("A dependency is unavailable; retry later.", "Error"),
}
_TOKEN_HEADERS = {
    "X-Tokens-Charged": "Tokens this call cost.",
    "X-Tokens-Remaining": "The organisation's balance after this call.",
}
_TWILIO_SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "description": "Twilio's signature of PUBLIC_BASE_URL + path and the form parameters (the only authentication).",
    "schema": {"type": "string"},
}
_TAGS = [
    {"name": "phoneNumber", "description": "Client phones (verified caller IDs) and Twilio numbers."},
    {"name": "tokens", "description": "The organisation's token balance."},
    {"name": "webhooks", "description": "Called by Twilio, signed with X-Twilio-Signature; no API key."},
]


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


def _servers() -> list[dict[str, Any]]:
    stage = template.load().get("Parameters", {}).get("Stage", {})
    return [
        {"url": LOCAL_SERVER_URL, "description": "make run (local: SAM's API Gateway emulator, moto, Twilio emulator)"},
        {
            "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
            "description": "Deployed with sam deploy",
            "variables": {
                "apiId": {"default": "apiId", "description": "The REST API id (sam deploy's output)."},
                "region": {"default": "eu-west-3"},
                "stage": {
                    "default": str(stage.get("Default", "dev")),
                    "enum": [str(s) for s in stage.get("AllowedValues", [])],
                },
            },
        },
    ]


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def _function_schemas() -> Iterator[tuple[template.Function, dict[str, Any]]]:
    functions = template.functions()
    with_routes = sorted({route.function for route in template.routes()})
    for logical_id in with_routes:
        module = load_function(functions[logical_id].name)
        yield functions[logical_id], json.loads(module.app.get_openapi_json_schema())


def _merge(
    schemas: Iterator[tuple[template.Function, dict[str, Any]]],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, template.Function]]:
    """paths, component schemas, and which function serves each path; a name defined twice differently fails."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    owners: dict[str, template.Function] = {}
    for function, schema in schemas:
        for path, item in schema.get("paths", {}).items():
            for method in item:
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is served by two functions ({function.logical_id})")
            paths.setdefault(path, {}).update(item)
            owners[path] = function
        for name, definition in schema.get("components", {}).get("schemas", {}).items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"Two different models are both called {name} (in {function.logical_id})")
    return paths, components, owners


def _error_responses(method: str, path: str, authorized: bool, cost: int) -> dict[str, Any]:
    if not authorized:
        statuses = [403, 422]
    else:
        statuses = [401, 403, 422, 429, 503]
        if cost:
            statuses.append(402)
        if "{" in path:
            statuses.append(404)
        if method != "get":  # the routes that write act at Twilio
            statuses += [409, 502]
    return {str(status): {"$ref": f"#/components/responses/{status}"} for status in sorted(statuses)}


def _decorate(method: str, path: str, operation: dict[str, Any], function: template.Function) -> None:
    """Security, tags, cost, error responses and token headers of one operation."""
    from robotappel.tokens.costs import ROUTE_COSTS

    routes = {(route.method, route.path): route for route in template.routes()}
    route = routes.get((method.upper(), path))
    authorized = route is None or route.authorized  # a route unknown to the template: fail closed
    cost = ROUTE_COSTS.get(f"{method.upper()} {path}", 0)
    module_doc = (load_function(function.name).__doc__ or "").strip()
    if module_doc and "description" not in operation:
        operation["description"] = module_doc
    operation["tags"] = [path.split("/")[1] if authorized else "webhooks"]
    operation["security"] = [{BEARER: []}] if authorized else []
    operation["x-token-cost"] = cost
    if not authorized:
        operation.setdefault("parameters", []).append(_TWILIO_SIGNATURE)
        operation.setdefault(
            "requestBody",
            {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                },
            },
        )
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2") and cost:
            response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in _TOKEN_HEADERS}
    responses.update(_error_responses(method, path, authorized, cost))
    operation["responses"] = dict(sorted(responses.items()))


def _components(schemas: dict[str, Any]) -> dict[str, Any]:
    for name in ERROR_SCHEMAS:
        if name in schemas:
            raise ValueError(f"A model is called {name}, the name of an error schema of the document")
    responses: dict[str, Any] = {}
    for status, (description, schema) in _ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + schema}}},
        }
        if status == 429:
            response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
        responses[str(status)] = response
    return {
        "schemas": {**schemas, **ERROR_SCHEMAS},
        "responses": responses,
        "headers": {
            name: {"description": description, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
            for name, description in _TOKEN_HEADERS.items()
        },
        "securitySchemes": {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "Your organisation's API key: `Authorization: Bearer <api key>`.",
            }
        },
    }


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith(_REF_PREFIX):
                yield item.removeprefix(_REF_PREFIX)
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _prune(document: dict[str, Any]) -> None:
    """Drop the component schemas nothing refers to (Powertools' error models, once replaced)."""
    schemas = document["components"]["schemas"]
    used: set[str] = set()
    pending = list(_references({key: value for key, value in document.items() if key != "components"}))
    pending += _references({key: value for key, value in document["components"].items() if key != "schemas"})
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending += _references(schemas.get(name, {}))
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(schemas) if name in used}


def build() -> dict[str, Any]:
    """The whole API's OpenAPI document, from template.yaml and the route functions."""
    first_schemas = list(_function_schemas())
    paths, schemas, owners = _merge(iter(first_schemas))
    for path, item in paths.items():
        for method, operation in item.items():
            if method in _METHODS:
                _decorate(method, path, operation, owners[path])
    openapi_version = first_schemas[0][1]["openapi"] if first_schemas else "3.1.0"
    document: dict[str, Any] = {
        "openapi": openapi_version,
        "info": {"title": "RobotAppel phone numbers API", "version": _version(), "description": _description()},
        "servers": _servers(),
        "tags": _TAGS,
        "paths": dict(sorted(paths.items())),
        "components": _components({k: v for k, v in schemas.items() if k not in _POWERTOOLS_ERROR_SCHEMAS}),
    }
    _prune(document)
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- Swagger UI on the local server

_SWAGGER_UI = "aws_lambda_powertools.event_handler.openapi.swagger_ui"  # the package ships the assets
_SWAGGER_ASSETS = {"swagger-ui-bundle.min.js": "text/javascript", "swagger-ui.min.css": "text/css"}
_build_lock = threading.Lock()


@cache
def _built() -> str:
    return render(build())


def served_document(server_url: str) -> dict[str, Any]:
    """The document, built once per process, pointing at the server that serves it."""
    with _build_lock:
        document: dict[str, Any] = json.loads(_built())
    document["servers"] = [{"url": server_url.rstrip("/"), "description": "This local server"}]
    return document


def add_docs_routes(app: Flask) -> None:
    """GET /docs (Swagger UI, offline), /docs/<asset> and /openapi.json on the local gateway's Flask app."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
    from flask import Response, request

    def openapi_json() -> Response:
        return Response(json.dumps(served_document(request.host_url)), content_type="application/json")

    def docs() -> Response:
        if request.args.get("format") == "json":
            return openapi_json()
        html = generate_swagger_html(
            spec=json.dumps(served_document(request.host_url)),
            swagger_js="/docs/swagger-ui-bundle.min.js",
            swagger_css="/docs/swagger-ui.min.css",
            swagger_base_url="/docs",  # non-empty: link the assets instead of inlining 1.5 MB
            oauth2_config=None,
        )
        return Response(html, content_type="text/html; charset=utf-8")

    def asset(name: str) -> Response:
        if name not in _SWAGGER_ASSETS:
            return Response(
                json.dumps({"error": "not_found", "message": "No such file."}), 404, mimetype="application/json"
            )
        return Response(resources.files(_SWAGGER_UI).joinpath(name).read_bytes(), content_type=_SWAGGER_ASSETS[name])

    app.add_url_rule("/openapi.json", "openapi_json", openapi_json, methods=["GET"])
    app.add_url_rule("/docs", "swagger_ui", docs, methods=["GET"])
    app.add_url_rule("/docs/<name>", "swagger_ui_asset", asset, methods=["GET"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT.name} instead of printing it")
    args = parser.parse_args(argv)
    text = render(build())
    if args.write:
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
