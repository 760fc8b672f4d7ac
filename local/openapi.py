"""The OpenAPI document (apidoc) on the local server: /openapi.json and Swagger UI at /docs, offline, with
Powertools' own Swagger UI assets (nothing is fetched from a CDN)."""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask, Response

_SWAGGER_UI = "aws_lambda_powertools.event_handler.openapi.swagger_ui"  # the package ships the assets
_SWAGGER_ASSETS = {"swagger-ui-bundle.min.js": "text/javascript", "swagger-ui.min.css": "text/css"}
_build_lock = threading.Lock()


@cache
def _built() -> str:
    # Imported on the first request for it: Powertools' OpenAPI models would add seconds to the server's start.
    from apidoc.document import build, render

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
