import logging
from typing import Any

import pytest

from local import template
from robotappel.dal import api_keys
from tests.fixtures.lambdas import api_event, run_handler


def authorize(authorization: str | None, header_name: str = "Authorization") -> dict[str, Any]:
    event = api_event("authorizer")
    event["headers"] = {"Host": event["headers"]["Host"]}
    if authorization is not None:
        event["headers"][header_name] = authorization
    return run_handler("authorizer", event)  # type: ignore[no-any-return]


def test_valid_key_is_allowed_with_its_org_role_and_key_id_in_the_context(org: str) -> None:
    # Given org-a's key / When the authorizer sees it
    policy = authorize("Bearer key-a")
    # Then API Gateway is told to allow it and passes org, role and the key's id to the route
    [key] = api_keys.list_for_org("org-a")
    assert policy["principalId"] == "org-a"
    assert policy["context"] == {"orgId": "org-a", "role": "member", "keyId": key.key_id}
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_header_name_is_matched_whatever_its_case(org: str) -> None:
    assert authorize("Bearer key-a", header_name="authorization")["principalId"] == "org-a"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong-key", "Basic key-a", "key-a"])
def test_missing_or_bad_key_is_denied_which_the_template_answers_401(org: str, authorization: str | None) -> None:
    # Given no key, a malformed header or an unknown key / When the authorizer sees it
    policy = authorize(authorization)
    # Then API Gateway is told to deny every route (ACCESS_DENIED, a 401 in the template) and learns nothing else
    assert policy["principalId"] == "anonymous"
    assert [statement["Effect"] for statement in policy["policyDocument"]["Statement"]] == ["Deny"]
    assert "context" not in policy
    unauthorized = template.resources("AWS::Serverless::Api")["Api"]["Properties"]["GatewayResponses"]["ACCESS_DENIED"]
    assert unauthorized["StatusCode"] == 401


def test_a_rejected_key_is_not_a_function_error_nor_an_error_log_line(
    org: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a client with a stale key
    caplog.set_level(logging.DEBUG)
    # When the authorizer sees it, then it answers without failing (no Lambda error for AuthorizerErrorsAlarm)
    authorize("Bearer revoked-long-ago")
    # And it says so below ERROR (nobody is paged for a client's mistake)
    rejected = [record for record in caplog.records if record.getMessage() == "API key rejected"]
    assert [record.levelno for record in rejected] == [logging.INFO]
    assert all(record.levelno < logging.ERROR for record in caplog.records)
