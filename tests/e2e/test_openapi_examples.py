"""Every request example of openapi.json succeeds against the local server: it is what Swagger UI's "Try it out"
sends. The examples register phones and buy numbers, so they get their own server, seeded with the organisation
whose French documents they name (local.regulatory.EXAMPLE_ORG: documents are in each org's own subaccount)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from apidoc.document import DOCUMENT as DOCUMENT_FILE
from local.regulatory import EXAMPLE_ORG
from tests.fixtures.server import server_process

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

TIMEOUT = 30
ORG = {"orgId": EXAMPLE_ORG, "apiKey": "examples-key", "role": "member", "tokens": 1000}
OPERATORS = {"orgId": "org-operators", "apiKey": "operators-key", "role": "admin", "tokens": 0}
# The org the status examples suspend and reactivate: suspending the examples' own org would stop its routes for
# the examples sent after (pytest-randomly's order).
SUSPENDABLE = {"orgId": "org-suspendable", "apiKey": "suspendable-key", "role": "member", "tokens": 0}
STATUS_PATH = "/admin/orgs/{orgId}/status"
HEADERS = {"Authorization": f"Bearer {ORG['apiKey']}"}
ADMIN_HEADERS = {"Authorization": f"Bearer {OPERATORS['apiKey']}"}
DOCUMENT: dict[str, Any] = json.loads(DOCUMENT_FILE.read_text())


@dataclass(frozen=True)
class RequestExample:
    method: str
    path: str
    name: str
    body: Any

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.name}"


def json_bodies() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, the request body's application/json media type) of every operation taking JSON."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            media_type = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media_type is not None:
                yield method, path, media_type


EXAMPLES = [
    RequestExample(method, path, name, example["value"])
    for method, path, media_type in json_bodies()
    for name, example in media_type.get("examples", {}).items()
]


@pytest.fixture(scope="module")
def examples_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("examples_server")
    seed_file = directory / "seed.json"
    seed_file.write_text(json.dumps({"orgs": [ORG, OPERATORS, SUSPENDABLE]}))
    with server_process(seed_file, directory / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def path_values(examples_server: str) -> dict[str, str]:
    """A value for each path parameter: the id of a number the organisation bought."""
    body = {"countryCode": "US", "areaCode": "415"}
    response = requests.post(
        f"{examples_server}/phoneNumber/buyTwilioNumberAndActivate", json=body, headers=HEADERS, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return {"id": response.json()["id"], "countryCode": "FR", "orgId": str(ORG["orgId"])}


def test_every_json_request_body_of_the_document_has_examples() -> None:
    # Given the operations of the document that take a JSON body
    # Then each gives examples: without one, Swagger UI sends a sample built from the schema, which fails
    assert {path for _, path, media_type in json_bodies() if not media_type.get("examples")} == set()
    assert EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_a_request_example_of_the_document_succeeds(
    examples_server: str, path_values: dict[str, str], example: RequestExample
) -> None:
    # Given a request example of the document, on a number of the organisation where the path names one
    values = {**path_values, "orgId": str(SUSPENDABLE["orgId"])} if example.path == STATUS_PATH else path_values
    url = examples_server + example.path.format(**values)
    # When it is sent as Swagger UI sends it (an operators' route with an admin key)
    headers = ADMIN_HEADERS if example.path.startswith("/admin/") else HEADERS
    response = requests.request(example.method, url, json=example.body, headers=headers, timeout=TIMEOUT)
    # Then it succeeds
    assert response.status_code < 300, f"{example}: {response.status_code} {response.text}"
