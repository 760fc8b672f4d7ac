"""The local dev server behaves like API Gateway in front of the functions.

The first tests drive `make run`'s server over HTTP (real authorizer and functions, moto, Twilio emulator).
The others run SAM's gateway as `local.gateway` configures it over stand-in functions written to a temporary
folder, to reach what the real functions cannot be made to do on demand (crash, deny, echo their event).
"""

import base64
import json
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from local import template
from local.gateway import MAX_PAYLOAD_BYTES, LocalApiGateway, Plan, UsagePlanLimits, build_api
from local.lambda_runner import FunctionConfig, WorkerLambdaRunner
from tests.fixtures.server import LocalServer

pytestmark = pytest.mark.e2e
on_local_server = pytest.mark.xdist_group("local_server")
TIMEOUT = 30


def gateway_response_body(response_type: str) -> dict[str, Any]:
    """The JSON body template.yaml's GatewayResponses give for `response_type`."""
    api = next(iter(template.resources("AWS::Serverless::Api").values()))
    definition = api["Properties"]["GatewayResponses"][response_type]
    body: dict[str, Any] = json.loads(definition["ResponseTemplates"]["application/json"])
    return body


# ----------------------------------------------------------------------------- the `make run` server


@on_local_server
def test_balance_is_the_callers_org_balance(local_server: LocalServer) -> None:
    # Given the seeded member org "org-demo"
    # When it asks for its balance with its API key
    response = requests.get(f"{local_server.url}/tokens/balance", headers=local_server.headers(), timeout=TIMEOUT)

    # Then it gets its org id and balance as JSON
    assert response.status_code == 200
    body = response.json()
    assert body["orgId"] == "org-demo"
    assert isinstance(body["balance"], int)


@on_local_server
def test_make_run_prints_its_banner_first_with_the_docs(local_server: LocalServer) -> None:
    # Given the server's output since it started (its seed onboarded, its stream delivered)
    output = local_server.log_file.read_text()
    # Then the banner is its first line, before any log line, and it points at Swagger UI
    banner = output[: output.index("Ctrl-C stops.")]
    assert output.startswith("RobotAppel phone numbers: local API"), output[:500]
    assert f"{local_server.url}/docs" in banner


@on_local_server
def test_request_without_api_key_gets_the_templates_unauthorized_response(local_server: LocalServer) -> None:
    # Given no Authorization header
    # When a protected route is called
    response = requests.get(f"{local_server.url}/tokens/balance", timeout=TIMEOUT)

    # Then API Gateway's UNAUTHORIZED response of the template answers
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == gateway_response_body("UNAUTHORIZED")


@on_local_server
def test_unknown_api_key_gets_the_templates_unauthorized_response(local_server: LocalServer) -> None:
    # Given an API key that was never issued
    headers = {"Authorization": "Bearer not-a-key"}

    # When a protected route is called with it
    response = requests.get(f"{local_server.url}/tokens/balance", headers=headers, timeout=TIMEOUT)

    # Then the authorizer's Deny becomes the template's ACCESS_DENIED: a 401 with the unauthorized body
    assert response.status_code == 401
    assert response.json() == gateway_response_body("ACCESS_DENIED") == gateway_response_body("UNAUTHORIZED")


@on_local_server
def test_a_revoked_api_key_is_refused_at_once_its_revocation_flushes_the_authorizer_cache(
    local_server: LocalServer,
) -> None:
    # Given two keys of org-demo issued by an admin, one already used (its Allow in the authorizer cache)
    admin = {"Authorization": f"Bearer {local_server.api_keys['org-admin']}"}

    def issue() -> dict[str, str]:
        url = f"{local_server.url}/admin/orgs/org-demo/apiKeys"
        response = requests.post(url, json={"role": "member"}, headers=admin, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        issued: dict[str, str] = response.json()
        return issued

    def balance_with(key: str) -> int:
        url = f"{local_server.url}/tokens/balance"
        return requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT).status_code

    used, unused = issue(), issue()
    assert balance_with(used["apiKey"]) == 200
    # When the admin revokes both
    for key in (used, unused):
        url = f"{local_server.url}/admin/apiKeys/{key['keyId']}"
        assert requests.delete(url, headers=admin, timeout=TIMEOUT).status_code == 200
    # Then both are refused from their next call: the revocation flushed the stage's authorizer cache (as
    # FlushStageAuthorizersCache does on API Gateway), and the admin key still works (re-authorized)
    assert balance_with(used["apiKey"]) == 401
    assert balance_with(unused["apiKey"]) == 401
    assert balance_with(local_server.api_keys["org-admin"]) == 200


@on_local_server
def test_lowercase_authorization_header_is_accepted(local_server: LocalServer) -> None:
    # Given a client that sends header names in lower case
    headers = {"authorization": f"Bearer {local_server.api_keys['org-demo']}"}

    # When it calls a protected route
    response = requests.get(f"{local_server.url}/tokens/balance", headers=headers, timeout=TIMEOUT)

    # Then the authorizer and the route find the header
    assert response.status_code == 200
    assert response.json()["orgId"] == "org-demo"


@on_local_server
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no/such/route"), ("GET", "/phoneNumber/addClientPhone")],
    ids=["unknown-path", "method-the-path-does-not-have"],
)
def test_a_route_the_api_does_not_have_is_404_not_found(local_server: LocalServer, method: str, path: str) -> None:
    # Given a path, or a method of a path, that is not a route of the template; and a valid API key
    # When it is called
    response = requests.request(method, f"{local_server.url}{path}", headers=local_server.headers(), timeout=TIMEOUT)

    # Then the template's MISSING_AUTHENTICATION_TOKEN response says 404 not_found (API Gateway's default: 403)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == gateway_response_body("MISSING_AUTHENTICATION_TOKEN")
    assert response.json()["error"] == "not_found"


@on_local_server
def test_concurrent_requests_are_each_served_with_their_own_caller(local_server: LocalServer) -> None:
    # Given 20 requests of two orgs sent at once to the same route
    callers = ["org-demo", "org-other"] * 10

    def balance_of(org_id: str) -> tuple[int, str]:
        response = requests.get(
            f"{local_server.url}/tokens/balance", headers=local_server.headers(org_id), timeout=TIMEOUT
        )
        return response.status_code, response.json().get("orgId", "")

    # When they are served in parallel
    with ThreadPoolExecutor(max_workers=len(callers)) as pool:
        results = list(pool.map(balance_of, callers))

    # Then every one succeeds and answers for its own caller
    assert results == [(200, org_id) for org_id in callers]


# ----------------------------------------------------------------------------- the gateway over stand-in functions

AUTHORIZER = """
    def handler(event, context):
        token = event["headers"].get("Authorization", "")
        if not token.startswith(("Bearer allow", "Bearer deny")):
            raise Exception("Unauthorized")
        effect = "Allow" if token.startswith("Bearer allow") else "Deny"
        org = token.removeprefix("Bearer allow-") if token.startswith("Bearer allow-") else "org-a"
        return {
            "principalId": org,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
            },
            "context": {"orgId": org, "role": "member", "invocation": context.aws_request_id},
            "usageIdentifierKey": "usage-key-of-" + org,
        }
"""
ECHO = """
    import json

    def handler(event, context):
        return {"statusCode": 200, "body": json.dumps({"event": event, "requestId": context.aws_request_id})}
"""
CRASH = """
    def handler(event, context):
        raise RuntimeError("the function crashed")
"""
ALLOW = {"Authorization": "Bearer allow"}


def stand_in(folder: Path, logical_id: str, source: str | None) -> FunctionConfig:
    path = folder / logical_id / "app.py"
    if source is not None:
        path.parent.mkdir()
        path.write_text(textwrap.dedent(source))
    return FunctionConfig(logical_id, path, "handler", timeout_seconds=3, memory_mb=128)


def gateway_service(tmp_path: Path) -> LocalApiGateway:
    """The template's API: authorizer = AUTHORIZER ("Bearer allow" is org-a, "Bearer allow-<org>" that org),
    balance and delete = ECHO, getAll = CRASH, update = missing."""
    functions = {
        "AuthorizerFunction": AUTHORIZER,
        "GetTokenBalanceFunction": ECHO,
        "DeletePhoneNumberFunction": ECHO,
        "GetAllClientPhoneNumbersFunction": CRASH,
        "UpdatePhoneNumberFunction": None,
    }
    configs = {logical_id: stand_in(tmp_path, logical_id, source) for logical_id, source in functions.items()}
    parameters = {**template.parameter_defaults(), "TwilioSecretArn": "arn:aws:secretsmanager:local:twilio"}
    service = LocalApiGateway(
        api=build_api(parameters), lambda_runner=WorkerLambdaRunner(configs), port=3000, host="127.0.0.1"
    )
    service.create()
    return service


@pytest.fixture
def gateway(tmp_path: Path) -> FlaskClient:
    client: FlaskClient = gateway_service(tmp_path).app.test_client()
    return client


def echoed_event(response: Any) -> dict[str, Any]:
    assert response.status_code == 200
    event: dict[str, Any] = response.get_json()["event"]
    return event


def test_route_whose_function_raises_answers_502_json(gateway: FlaskClient) -> None:
    # Given a route whose function raises
    # When it is called
    response = gateway.get("/phoneNumber/getAllClientPhoneNumbers", headers=ALLOW)

    # Then API Gateway's 502 comes through the template's DEFAULT_5XX, as JSON
    assert response.status_code == 502
    assert response.get_json() == gateway_response_body("DEFAULT_5XX")


def test_route_whose_function_is_not_written_yet_answers_502_json(gateway: FlaskClient) -> None:
    # Given a route of the template whose function folder does not exist
    # When it is called
    response = gateway.patch("/phoneNumber/updatePhoneNumber/n1", headers=ALLOW, json={})

    # Then it answers 502 with the template's DEFAULT_5XX body
    assert response.status_code == 502
    assert response.get_json() == gateway_response_body("DEFAULT_5XX")


def test_deny_policy_gets_the_templates_access_denied_response(gateway: FlaskClient) -> None:
    # Given an authorizer answering with a Deny policy
    # When a protected route is called
    response = gateway.get("/tokens/balance", headers={"Authorization": "Bearer deny"})

    # Then API Gateway's ACCESS_DENIED response of the template answers (401: only a rejected key is denied)
    assert response.status_code == 401
    assert response.get_json() == gateway_response_body("ACCESS_DENIED")


def test_route_event_carries_the_authorizer_context(gateway: FlaskClient) -> None:
    # Given an authorizer allowing org-a as a member
    # When a protected route is called
    event = echoed_event(gateway.get("/tokens/balance", headers=ALLOW))

    # Then the route sees the authorizer's context in requestContext.authorizer, like on API Gateway
    authorizer = event["requestContext"]["authorizer"]
    assert (authorizer["orgId"], authorizer["role"], authorizer["principalId"]) == ("org-a", "member", "org-a")


def authorizer_invocation(response: Any) -> str:
    return str(echoed_event(response)["requestContext"]["authorizer"]["invocation"])


def test_authorizer_answer_is_reused_for_the_same_api_key(gateway: FlaskClient) -> None:
    # Given a first call with an API key
    first = authorizer_invocation(gateway.get("/tokens/balance", headers=ALLOW))
    # When the same key calls again, on another route
    again = authorizer_invocation(gateway.delete("/phoneNumber/deletePhoneNumber/n1", headers=ALLOW))
    # Then API Gateway's authorizer cache answers: the authorizer ran once
    assert again == first


def test_authorizer_runs_again_for_another_api_key(gateway: FlaskClient) -> None:
    # Given a first call with an API key
    first = authorizer_invocation(gateway.get("/tokens/balance", headers=ALLOW))
    # When another key calls
    other = authorizer_invocation(gateway.get("/tokens/balance", headers={"Authorization": "Bearer allow-other"}))
    # Then the authorizer ran for it
    assert other != first


def test_route_event_describes_the_route_and_the_stage(gateway: FlaskClient) -> None:
    # Given a route with a path parameter
    # When it is called
    event = echoed_event(gateway.delete("/phoneNumber/deletePhoneNumber/n1", headers=ALLOW))

    # Then the event names the route template, the stage, the domain and the request
    assert event["resource"] == "/phoneNumber/deletePhoneNumber/{id}"
    assert event["path"] == "/phoneNumber/deletePhoneNumber/n1"
    assert event["pathParameters"] == {"id": "n1"}
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["domainName"]
    assert event["requestContext"]["requestId"]


def test_a_body_that_is_not_utf8_reaches_the_function_base64_encoded(gateway: FlaskClient) -> None:
    # Given a body in Latin-1
    body = '{"friendlyName": "Café"}'.encode("latin-1")

    # When it is sent to a route
    event = echoed_event(gateway.delete("/phoneNumber/deletePhoneNumber/n1", headers=ALLOW, data=body))

    # Then the function gets the client's bytes, as a binary body travels (samcli answered 502)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_body_over_api_gateways_10_mb_quota_gets_the_templates_request_too_large_response(
    gateway: FlaskClient,
) -> None:
    # Given a body one byte over API Gateway's payload quota
    body = b"9" * (MAX_PAYLOAD_BYTES + 1)

    # When it is sent to a route
    response = gateway.delete("/phoneNumber/deletePhoneNumber/n1", headers=ALLOW, data=body)

    # Then API Gateway refuses it with the template's REQUEST_TOO_LARGE response, before the function runs
    assert response.status_code == 413
    assert response.get_json() == gateway_response_body("REQUEST_TOO_LARGE")


def test_a_body_of_10_mb_reaches_the_function(gateway: FlaskClient) -> None:
    # Given a body exactly at API Gateway's payload quota
    body = "9" * MAX_PAYLOAD_BYTES

    # When it is sent to a route
    event = echoed_event(gateway.delete("/phoneNumber/deletePhoneNumber/n1", headers=ALLOW, data=body))

    # Then the function gets it
    assert len(event["body"]) == MAX_PAYLOAD_BYTES


def test_each_request_has_its_own_request_id(gateway: FlaskClient) -> None:
    # Given two calls of the same route
    # When they are served
    first, second = (gateway.get("/tokens/balance", headers=ALLOW) for _ in range(2))

    # Then their events and responses carry different request ids
    first_id = echoed_event(first)["requestContext"]["requestId"]
    second_id = echoed_event(second)["requestContext"]["requestId"]
    assert first_id != second_id
    assert first.headers["x-amzn-RequestId"] == first_id


def test_an_orgs_burst_past_its_usage_plan_is_429_with_retry_after_and_does_not_throttle_another_org(
    tmp_path: Path,
) -> None:
    # Given the template's default usage plan holding the API keys the authorizer names for org-a and org-b, with
    # time standing still (no refill meanwhile)
    defaults = template.usage_plans(template.parameter_defaults())["DefaultUsagePlan"]
    plan = Plan("default", defaults["throttle"]["rateLimit"], defaults["throttle"]["burstLimit"])
    service = gateway_service(tmp_path)
    service.usage_plan_limits = UsagePlanLimits({"usage-key-of-org-a": plan, "usage-key-of-org-b": plan}.get, lambda: 0)
    client = service.app.test_client()
    # When org-a sends its whole burst, and one request more
    statuses = [client.get("/tokens/balance", headers=ALLOW).status_code for _ in range(plan.burst_limit)]
    throttled = client.get("/tokens/balance", headers=ALLOW)
    # Then the burst passes, the next one is API Gateway's THROTTLED response (429, Retry-After)...
    assert statuses == [200] * plan.burst_limit
    assert throttled.status_code == 429
    assert throttled.get_json() == gateway_response_body("THROTTLED")
    assert int(throttled.headers["Retry-After"]) >= 1
    # ...and org-b, throttled on its own, is still served
    assert client.get("/tokens/balance", headers={"Authorization": "Bearer allow-org-b"}).status_code == 200


def test_an_org_whose_api_key_is_in_no_usage_plan_gets_the_templates_invalid_api_key_response(
    tmp_path: Path,
) -> None:
    # Given a usage plan holding org-a's API key only
    service = gateway_service(tmp_path)
    service.usage_plan_limits = UsagePlanLimits({"usage-key-of-org-a": Plan("default", 10, 10)}.get)
    client = service.app.test_client()
    # When org-b calls / Then API Gateway refuses it (403 INVALID_API_KEY), and org-a is served
    refused = client.get("/tokens/balance", headers={"Authorization": "Bearer allow-org-b"})
    assert (refused.status_code, refused.get_json()) == (403, gateway_response_body("INVALID_API_KEY"))
    assert client.get("/tokens/balance", headers=ALLOW).status_code == 200
