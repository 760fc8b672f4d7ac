"""Schemathesis fuzzes every route of openapi.json against the local server: no 5xx, errors always in the API format.

The fuzzer gets its own server and organisation (seeded with plenty of tokens): its purchases and client phones
must not change the balances and numbers the other end-to-end tests look at. Examples are few and derandomized,
so a run is short and a failure comes back on the next run.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apidoc.document import DOCUMENT
from tests.fixtures.server import server_process

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

EXAMPLES_PER_MODE = 10  # positive and negative: 20 calls per route
FUZZ_ORG = {"orgId": "org-fuzz", "apiKey": "fuzz-key", "role": "member", "tokens": 1_000_000}
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Operation]
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)


def _operations() -> list[Operation]:
    operations = []
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


OPERATIONS = _operations()
# The Twilio webhooks take no API key: only a valid Twilio signature, which a fuzzer cannot produce.
WEBHOOKS = [operation for operation in OPERATIONS if operation.definition.raw.get("security") == []]
ROUTES = [operation for operation in OPERATIONS if operation not in WEBHOOKS]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time; the failing example is printed anyway
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m local.server` with only the fuzzer's organisation, and its own Twilio emulator."""
    directory = tmp_path_factory.mktemp("fuzz_server")
    seed_file = directory / "seed.json"
    seed_file.write_text(json.dumps({"orgs": [FUZZ_ORG]}))
    with server_process(seed_file, directory / "server.log") as url:
        yield url


def _request_of(case: AnyCase) -> str:
    return f"{case.method.upper()} {case.formatted_path} query={case.query} headers={case.headers} body={case.body!r}"


def assert_error_format(case: AnyCase, status: int, body: str) -> None:
    """4xx bodies are `{"error": snake_case, "message": str, ...}`, whoever answered (function or gateway)."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        pytest.fail(f"{status} is not JSON: {body!r}\n{_request_of(case)}")
    assert isinstance(document, dict), f"{status} {body!r}\n{_request_of(case)}"
    assert ERROR_CODE.match(str(document.get("error", ""))), f"{status} {body!r}\n{_request_of(case)}"
    assert isinstance(document.get("message"), str), f"{status} {body!r}\n{_request_of(case)}"


def _fuzz(operation: Operation, mode: GenerationMode, call: Any) -> None:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: AnyCase) -> None:
        call(case)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation", ROUTES, ids=lambda operation: operation.label)
def test_a_route_never_fails_on_our_side_and_always_answers_errors_in_the_api_format(
    fuzz_server: str, operation: Operation, mode: GenerationMode
) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {FUZZ_ORG['apiKey']}"}

    def call(case: AnyCase) -> None:
        response = case.call(base_url=fuzz_server, session=session, headers=headers, timeout=30)
        assert response.status_code < 500, f"{response.status_code} {response.text!r}\n{_request_of(case)}"
        if response.status_code >= 400:
            assert_error_format(case, response.status_code, response.text)
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=CHECKS, headers=headers)

    _fuzz(operation, mode, call)


def test_a_body_that_is_not_utf8_is_422_naming_body(fuzz_server: str) -> None:
    # Given a JSON body encoded in Latin-1
    body = '{"phoneNumber": "06 12 34 56 78", "friendlyName": "Café"}'.encode("latin-1")

    # When it is posted
    response = requests.post(
        f"{fuzz_server}/phoneNumber/addClientPhone",
        data=body,
        headers={"Authorization": f"Bearer {FUZZ_ORG['apiKey']}", "Content-Type": "application/json"},
        timeout=30,
    )

    # Then it is refused as an invalid body (the local gateway answered 502)
    assert response.status_code == 422, f"{response.status_code} {response.text}"
    assert (response.json()["error"], response.json()["field"]) == ("validation_error", "body")


@pytest.mark.parametrize("operation", WEBHOOKS, ids=lambda operation: operation.label)
def test_an_unsigned_webhook_call_is_refused_with_a_json_403(fuzz_server: str, operation: Operation) -> None:
    session = requests.Session()
    signatures = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=40)

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), signature=signatures)
    def run(case: AnyCase, signature: str) -> None:
        response = case.call(
            base_url=fuzz_server, session=session, headers={"X-Twilio-Signature": signature}, timeout=30
        )
        assert response.status_code == 403, f"{response.status_code} {response.text!r}\n{_request_of(case)}"
        assert_error_format(case, response.status_code, response.text)

    run()


def test_every_route_of_the_document_is_fuzzed() -> None:
    fuzzed = {operation.label for operation in OPERATIONS}
    documented = {f"{method.upper()} {path}" for path, item in SCHEMA.raw_schema["paths"].items() for method in item}
    assert fuzzed == documented
    assert len(WEBHOOKS) == 4
    assert DOCUMENT.is_file()
