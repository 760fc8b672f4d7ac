"""openapi.json is the whole API's OpenAPI document, generated from the code (`make openapi`), never edited."""

import json
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from apidoc import components, document
from apidoc.document import DOCUMENT
from local import template

ROUTES = template.routes()


@pytest.fixture(scope="module")
def generated() -> str:
    """`python -m apidoc`, in its own process: importing the handlers here, without the template's
    environment, would leave the layer's module-level Logger/Metrics misconfigured for the tests that follow."""
    result = subprocess.run(
        [sys.executable, "-m", "apidoc"], cwd=template.ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return dict(json.loads(DOCUMENT.read_text()))


def test_committed_openapi_json_is_the_one_the_code_generates(generated: str) -> None:
    assert DOCUMENT.read_text() == generated, (
        "openapi.json is stale: run make openapi (python -m apidoc --write) and commit it"
    )


@pytest.mark.parametrize("route", ROUTES, ids=[f"{route.method} {route.path}" for route in ROUTES])
def test_every_template_route_is_documented_with_its_method(committed: dict[str, Any], route: template.Route) -> None:
    assert route.method.lower() in committed["paths"].get(route.path, {}), f"{route.method} {route.path}"


def test_only_the_template_routes_are_documented(committed: dict[str, Any]) -> None:
    documented = {(method.upper(), path) for path, item in committed["paths"].items() for method in item}
    assert documented == {(route.method, route.path) for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=[f"{route.method} {route.path}" for route in ROUTES])
def test_the_api_key_is_required_exactly_where_the_authorizer_runs(
    committed: dict[str, Any], route: template.Route
) -> None:
    operation = committed["paths"][route.path][route.method.lower()]
    expected: list[dict[str, list[str]]] = [{components.BEARER: []}] if route.authorized else []
    assert operation["security"] == expected
    assert committed["components"]["securitySchemes"][components.BEARER] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Your organisation's API key: `Authorization: Bearer <api key>`.",
    }


def test_every_error_response_is_the_api_error_format(committed: dict[str, Any]) -> None:
    for path, item in committed["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    assert response == {"$ref": f"#/components/responses/{status}"}, f"{method} {path} {status}"
    for status, response in committed["components"]["responses"].items():
        schema_name = response["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
        assert schema_name in components.ERROR_SCHEMAS, status


def _codes_the_api_answers() -> set[str]:
    """Every error code the layer raises (its exception classes' and the `code="..."` it passes) or the template's
    gateway responses give."""
    layer = template.ROOT / "layers" / "shared" / "robotappel"
    raised = {
        code for source in layer.rglob("*.py") for code in re.findall(r'code(?: =|=) ?"([a-z_]+)"', source.read_text())
    }
    api = next(iter(template.resources("AWS::Serverless::Api").values()))
    answered = {
        json.loads(definition["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '""'))[
            "error"
        ]
        for definition in api["Properties"]["GatewayResponses"].values()
    }
    return raised | answered


def test_every_error_response_shows_an_example_of_a_code_the_api_answers(committed: dict[str, Any]) -> None:
    codes = _codes_the_api_answers()
    for status, response in committed["components"]["responses"].items():
        media_type = response["content"]["application/json"]
        jsonschema.validate(media_type["example"], {**media_type["schema"], "components": committed["components"]})
        assert media_type["example"]["error"] in codes, status


def test_the_409_description_names_every_conflict_the_api_answers(committed: dict[str, Any]) -> None:
    # Given every 409 code the layer raises (Conflict's own, `conflict`, and its subclasses' among them)
    layer = template.ROOT / "layers" / "shared" / "robotappel"
    sources = "\n".join(source.read_text() for source in layer.rglob("*.py"))
    codes = set(re.findall(r'Conflict\((?:[^()]|\([^()]*\))*?code="([a-z_]+)"', sources, re.DOTALL))
    codes |= {"conflict", "in_progress"}
    # When a client reads the document's 409
    description = committed["components"]["responses"]["409"]["description"]
    # Then each code is named there
    assert {code for code in codes if f"`{code}`" not in description} == set()


@pytest.mark.parametrize(
    "route", [route for route in ROUTES if route.method != "GET"], ids=lambda route: f"{route.method} {route.path}"
)
def test_every_route_but_get_documents_api_gateways_413(committed: dict[str, Any], route: template.Route) -> None:
    # Given API Gateway refuses a body over 10 MB before any function runs (REQUEST_TOO_LARGE)
    # When a client reads what a route other than GET may answer
    responses = committed["paths"][route.path][route.method.lower()]["responses"]
    # Then the 413 is among them
    assert "413" in responses


@pytest.mark.parametrize("route", ROUTES, ids=[f"{route.method} {route.path}" for route in ROUTES])
def test_every_summary_says_what_the_route_does(committed: dict[str, Any], route: template.Route) -> None:
    summary = committed["paths"][route.path][route.method.lower()]["summary"]

    assert route.path not in summary
    assert summary[0].isupper()


def test_every_reference_resolves(committed: dict[str, Any]) -> None:
    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [ref for key, item in value.items() for ref in ([item] if key == "$ref" else references(item))]
        if isinstance(value, list):
            return [ref for item in value for ref in references(item)]
        return []

    for reference in references(committed):
        node: Any = committed
        for part in reference.removeprefix("#/").split("/"):
            node = node[part]
        assert node, reference


def test_a_model_named_like_another_schema_fails_the_build() -> None:
    # Given the schemas of the document so far, the API's Error among them
    models = dict(components.ERROR_SCHEMAS)
    # When a function brings another model also called Error (Powertools' merge would keep only the last)
    schema = {"components": {"schemas": {"Error": {"type": "string"}}}}
    # Then the build fails, naming the function and the model
    with pytest.raises(ValueError, match="GetTokenBalanceFunction has a model called Error"):
        document.check_model_names(schema, models, template.functions()["GetTokenBalanceFunction"])


def test_the_same_model_brought_by_two_functions_is_one_schema() -> None:
    # Given a model that two functions both use
    models: dict[str, Any] = {}
    schema = {"components": {"schemas": {"TokenBalance": {"type": "object"}}}}
    # When both functions' schemas are checked
    for logical_id in ("GetTokenBalanceFunction", "GetAllClientPhoneNumbersFunction"):
        document.check_model_names(schema, models, template.functions()[logical_id])
    # Then the model is known once, as it is
    assert models == {"TokenBalance": {"type": "object"}}
