from typing import Any

import pytest

from tests.fixtures.lambdas import api_event, run_handler


def authorize(authorization: str | None, header_name: str = "Authorization") -> dict[str, Any]:
    event = api_event("authorizer")
    event["headers"] = {"Host": event["headers"]["Host"]}
    if authorization is not None:
        event["headers"][header_name] = authorization
    return run_handler("authorizer", event)  # type: ignore[no-any-return]


def test_valid_key_is_allowed_with_its_org_and_role_in_the_context(org: str) -> None:
    # Given org-a's key / When the authorizer sees it
    policy = authorize("Bearer key-a")
    # Then API Gateway is told to allow it and passes org and role to the route
    assert policy["principalId"] == "org-a"
    assert policy["context"] == {"orgId": "org-a", "role": "member"}
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_header_name_is_matched_whatever_its_case(org: str) -> None:
    assert authorize("Bearer key-a", header_name="authorization")["principalId"] == "org-a"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong-key", "Basic key-a", "key-a"])
def test_missing_or_bad_key_fails_with_the_message_api_gateway_turns_into_401(
    org: str, authorization: str | None
) -> None:
    # Given no key, a malformed header or an unknown key / When the authorizer sees it
    # Then it fails with exactly "Unauthorized" (API Gateway's cue for a 401)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorization)
