"""The operators' routes (SPEC: Operating the service): orgs, their API keys and top-ups, admin keys only, free."""

import logging
from typing import Any

import boto3
import pytest

from local.lambda_runtime import REGION
from robotappel.dal import api_keys, ledger
from robotappel.tenants.api_keys import revoke_api_key
from tests.fixtures.aws import issue_key, ledger_entries, legacy_admin_key, open_org
from tests.fixtures.lambdas import HttpResult, api_event, call, invoke, run_handler
from tests.iam import calls

ADMIN = "org-admin"


@pytest.fixture
def admin(aws: dict[str, str]) -> str:
    """The operators' org, with an admin key and 10 tokens (admin routes must not touch them)."""
    open_org(ADMIN, 10, operator=True)
    issue_key(ADMIN, "admin-key", role="admin")
    return ADMIN


def key_id_of(api_key: str) -> str:
    record = api_keys.find(api_key)
    assert record is not None
    return record.key_id


def as_admin(name: str, **kwargs: Any) -> HttpResult:
    """The admin route `name` called with the admin fixture's key, as the authorizer lets it in."""
    return call(name, org=ADMIN, role="admin", key_id=key_id_of("admin-key"), **kwargs)


def authorizes(api_key: str) -> dict[str, Any] | None:
    """The authorizer's context for `api_key`, or None when it refuses it (a Deny policy: 401)."""
    event = api_event("authorizer", headers={"Authorization": f"Bearer {api_key}"})
    policy = run_handler("authorizer", event)
    if [statement["Effect"] for statement in policy["policyDocument"]["Statement"]] != ["Allow"]:
        return None
    context: dict[str, Any] = policy["context"]
    return context


def issued(org_id: str, role: str = "member") -> dict[str, Any]:
    result = as_admin("issue_api_key", path_params={"orgId": org_id}, body={"role": role})
    assert result.status == 201, result.body
    body: dict[str, Any] = result.body
    return body


# ------------------------------------------------------------------ who may call
ADMIN_CALLS: dict[str, dict[str, Any]] = {
    "create_org": {"body": {"orgId": "org-new", "tokens": 5}},
    "issue_api_key": {"path_params": {"orgId": "org-a"}, "body": {}},
    "list_api_keys": {"path_params": {"orgId": "org-a"}},
    "revoke_api_key": {"path_params": {"keyId": "key_whatever"}},
    "credit_tokens": {"path_params": {"orgId": "org-a"}, "body": {"tokens": 5, "reason": "gift"}},
    "change_usage_plan": {"path_params": {"orgId": "org-a"}, "body": {"plan": "large"}},
    "set_org_status": {"path_params": {"orgId": "org-a"}, "body": {"status": "suspended"}},
}


@pytest.mark.parametrize("name", ADMIN_CALLS)
def test_a_member_key_gets_403_on_every_admin_route_and_nothing_changes(org: str, name: str) -> None:
    # Given org-a's member key
    # When it calls an admin route (even one about its own org)
    result = call(name, org=org, **ADMIN_CALLS[name])
    # Then 403, and no org, key or credit was made
    assert (result.status, result.body["error"]) == (403, "forbidden")
    assert not ledger.account_exists("org-new")
    assert ledger.get_balance(org) == 100
    assert api_keys.list_for_org(org)[0].hint == "ey-a"  # only its own key, issued by the fixture
    assert len(api_keys.list_for_org(org)) == 1


def test_admin_routes_are_free(admin: str) -> None:
    # When an admin creates an org and credits it
    created = as_admin("create_org", body={"orgId": "org-new"})
    credited = as_admin("credit_tokens", path_params={"orgId": "org-new"}, body={"tokens": 5, "reason": "gift"})
    # Then neither is charged to the admin's org
    assert (created.status, credited.status) == (201, 200)
    assert "X-Tokens-Charged" not in created.headers
    assert ledger.get_balance(admin) == 10


# ------------------------------------------------------------------ orgs
def test_an_org_is_created_with_its_opening_balance_credited_to_its_ledger(admin: str) -> None:
    # When an admin creates org-new with 500 tokens
    result = as_admin("create_org", body={"orgId": "org-new", "tokens": 500})
    # Then 201 {orgId, balance}, and the balance is one credited ledger entry
    assert (result.status, result.body) == (201, {"orgId": "org-new", "balance": 500})
    assert ledger.get_balance("org-new") == 500
    [entry] = ledger_entries("org-new", credits=True)
    assert (entry["route"], entry["tokens"], entry["status"]) == ("credit", 500, "credited")


def test_an_org_that_exists_is_409_and_keeps_its_balance(admin: str) -> None:
    # Given org-new with 500 tokens
    as_admin("create_org", body={"orgId": "org-new", "tokens": 500})
    # When it is created again with 7
    result = as_admin("create_org", body={"orgId": "org-new", "tokens": 7})
    # Then 409 and its balance is still 500
    assert (result.status, result.body["error"]) == (409, "org_exists")
    assert ledger.get_balance("org-new") == 500


@pytest.mark.parametrize(
    ("body", "field"),
    [({"orgId": "org new"}, "orgId"), ({"orgId": "org-x", "tokens": -1}, "tokens"), ({}, "orgId")],
)
def test_an_invalid_org_is_422_naming_the_field(admin: str, body: dict[str, Any], field: str) -> None:
    result = as_admin("create_org", body=body)
    assert (result.status, result.body["field"]) == (422, field)


# ------------------------------------------------------------------ credits
def test_a_credit_adds_to_the_balance_as_a_ledger_entry_with_its_reason(org: str, admin: str) -> None:
    # When an admin credits org-a with 250 tokens
    result = as_admin("credit_tokens", path_params={"orgId": org}, body={"tokens": 250, "reason": "Invoice 42"})
    # Then 200 {orgId, balance, entryId}, and that entry is in org-a's ledger, credited, with its reason
    assert result.status == 200
    assert result.body == {"orgId": org, "balance": 350, "entryId": result.body["entryId"]}
    [entry] = [e for e in ledger_entries(org, credits=True) if e["entryId"] == result.body["entryId"]]
    assert (entry["route"], entry["tokens"], entry["status"], entry["reason"]) == (
        "credit",
        250,
        "credited",
        "Invoice 42",
    )


@pytest.mark.parametrize("tokens", ['"100"', "1e3", "100.0", "true"])
def test_credited_tokens_are_a_json_integer_never_a_string_a_float_or_a_boolean(
    org: str, admin: str, tokens: str
) -> None:
    # When an admin credits org-a with tokens written as something else than a JSON integer
    result = as_admin("credit_tokens", path_params={"orgId": org}, body=f'{{"tokens": {tokens}, "reason": "x"}}')
    # Then 422 naming tokens, and nothing is credited
    assert (result.status, result.body["field"]) == (422, "tokens")
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("tokens", ['"100"', "1e3", "true"])
def test_an_opening_balance_is_a_json_integer(admin: str, tokens: str) -> None:
    result = as_admin("create_org", body=f'{{"orgId": "org-new", "tokens": {tokens}}}')
    assert (result.status, result.body["field"]) == (422, "tokens")
    assert not ledger.account_exists("org-new")


def test_a_credit_records_the_admin_key_that_made_it_in_its_ledger_entry_and_log(
    org: str, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the logs captured at production's level
    caplog.set_level(logging.INFO)
    # When an admin credits org-a
    result = as_admin("credit_tokens", path_params={"orgId": org}, body={"tokens": 5, "reason": "gift"})
    # Then the ledger entry and the log line name the admin's key
    [entry] = [e for e in ledger_entries(org, credits=True) if e["entryId"] == result.body["entryId"]]
    assert entry["byKeyId"] == key_id_of("admin-key")
    [line] = [record.__dict__ for record in caplog.records if record.getMessage() == "tokens credited"]
    assert line["byKeyId"] == key_id_of("admin-key")


def test_an_opening_balance_records_the_admin_key_that_created_the_org(admin: str) -> None:
    as_admin("create_org", body={"orgId": "org-new", "tokens": 5})
    [entry] = ledger_entries("org-new", credits=True)
    assert entry["byKeyId"] == key_id_of("admin-key")


def test_a_credit_to_an_unknown_org_is_404_and_creates_nothing(admin: str) -> None:
    result = as_admin("credit_tokens", path_params={"orgId": "org-ghost"}, body={"tokens": 5, "reason": "gift"})
    assert (result.status, result.body["error"]) == (404, "org_not_found")
    assert not ledger.account_exists("org-ghost")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tokens": 0, "reason": "x"}, "tokens"),
        ({"tokens": 5, "reason": "x" * 201}, "reason"),
        ({"tokens": 5}, "reason"),
    ],
)
def test_an_invalid_credit_is_422_naming_the_field(org: str, admin: str, body: dict[str, Any], field: str) -> None:
    result = as_admin("credit_tokens", path_params={"orgId": org}, body=body)
    assert (result.status, result.body["field"]) == (422, field)
    assert ledger.get_balance(org) == 100


# ------------------------------------------------------------------ API keys
def test_an_issued_key_is_shown_once_stored_only_as_its_hash_and_authenticates(admin: str) -> None:
    # Given org-new
    open_org("org-new", 0)
    # When an admin issues it a member key
    key = issued("org-new")
    # Then the answer has the key, its id and role, and the authorizer lets the key in as org-new's member
    assert set(key) == {"keyId", "apiKey", "orgId", "role", "createdAt"}
    assert (key["orgId"], key["role"]) == ("org-new", "member")
    assert authorizes(key["apiKey"]) == {"orgId": "org-new", "role": "member", "keyId": key["keyId"]}
    # And the table holds its SHA-256, never the key itself
    table = boto3.resource("dynamodb", region_name=REGION).Table("apikeys")
    stored = str(table.scan()["Items"])
    assert key["apiKey"] not in stored
    assert api_keys.hash_key(key["apiKey"]) in stored


def test_an_issued_key_is_logged_by_its_id_never_by_its_value(admin: str, caplog: pytest.LogCaptureFixture) -> None:
    # Given org-new, and the logs captured at production's level (INFO)
    open_org("org-new", 0)
    caplog.set_level(logging.INFO)
    # When an admin issues it a key
    key = issued("org-new")
    # Then the logs say which key was issued (its id), and never the key
    [line] = [record.__dict__ for record in caplog.records if record.getMessage() == "API key issued"]
    assert line["keyId"] == key["keyId"]
    assert key["apiKey"] not in str([record.__dict__ for record in caplog.records])


def test_an_admin_key_is_issued_with_the_admin_role(admin: str) -> None:
    key = issued(ADMIN, role="admin")
    assert authorizes(key["apiKey"]) == {"orgId": ADMIN, "role": "admin", "keyId": key["keyId"]}


def test_an_admin_key_for_a_customer_org_is_422_role_not_allowed_and_nothing_is_stored(org: str, admin: str) -> None:
    # Given org-a, a customer's org
    # When an operator asks an admin key for it
    result = as_admin("issue_api_key", path_params={"orgId": org}, body={"role": "admin"})
    # Then 422 role_not_allowed naming role, and org-a still has only its member key
    assert (result.status, result.body["error"], result.body["field"]) == (422, "role_not_allowed", "role")
    assert [key.role for key in api_keys.list_for_org(org)] == ["member"]


def test_an_org_created_as_an_operator_org_may_hold_admin_keys(admin: str) -> None:
    # Given an operator org, created so by an operator
    created = as_admin("create_org", body={"orgId": "org-staff", "operator": True})
    # When it is issued an admin key
    key = issued("org-staff", role="admin")
    # Then the key works as an admin's
    assert created.status == 201
    assert authorizes(key["apiKey"]) == {"orgId": "org-staff", "role": "admin", "keyId": key["keyId"]}


def test_an_operator_admin_issues_member_keys_to_customer_orgs(org: str, admin: str) -> None:
    key = issued(org)
    assert authorizes(key["apiKey"]) == {"orgId": org, "role": "member", "keyId": key["keyId"]}


@pytest.mark.parametrize("operator", ['"true"', "1"])
def test_operator_is_a_json_boolean(admin: str, operator: str) -> None:
    result = as_admin("create_org", body=f'{{"orgId": "org-new", "operator": {operator}}}')
    assert (result.status, result.body["field"]) == (422, "operator")
    assert not ledger.account_exists("org-new")


def test_a_key_for_an_unknown_org_is_404_and_nothing_is_stored(admin: str) -> None:
    result = as_admin("issue_api_key", path_params={"orgId": "org-ghost"}, body={})
    assert (result.status, result.body["error"]) == (404, "org_not_found")
    assert api_keys.list_for_org("org-ghost") == []


def test_keys_are_listed_by_their_hint_revoked_ones_with_revoked_at(admin: str) -> None:
    # Given two keys of org-new, the first one revoked
    open_org("org-new", 0)
    first, second = issued("org-new"), issued("org-new")
    revoked = as_admin("revoke_api_key", path_params={"keyId": first["keyId"]})
    # When an admin lists org-new's keys
    result = as_admin("list_api_keys", path_params={"orgId": "org-new"})
    # Then both are there, oldest first, by their last 4 characters, never the key itself
    assert result.status == 200
    assert result.body == [
        {
            "keyId": first["keyId"],
            "orgId": "org-new",
            "role": "member",
            "createdAt": first["createdAt"],
            "revokedAt": revoked.body["revokedAt"],
            "hint": first["apiKey"][-4:],
        },
        {
            "keyId": second["keyId"],
            "orgId": "org-new",
            "role": "member",
            "createdAt": second["createdAt"],
            "revokedAt": None,
            "hint": second["apiKey"][-4:],
        },
    ]


def test_the_keys_of_an_unknown_org_are_404_not_an_empty_list(admin: str) -> None:
    result = as_admin("list_api_keys", path_params={"orgId": "org-ghost"})
    assert (result.status, result.body["error"]) == (404, "org_not_found")


def test_a_revoked_key_is_refused_by_the_authorizer(admin: str) -> None:
    # Given a key of org-new that works
    open_org("org-new", 0)
    key = issued("org-new")
    assert authorizes(key["apiKey"]) is not None
    # When an admin revokes it
    result = as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    # Then 200 {keyId, revokedAt}, and the authorizer refuses it from then on
    assert result.status == 200
    assert set(result.body) == {"keyId", "revokedAt"}
    assert result.body["keyId"] == key["keyId"]
    assert authorizes(key["apiKey"]) is None


def operator_admin_key() -> dict[str, Any]:
    """A second admin key of the operators' org, and the authorizer's answer for it (what API Gateway caches)."""
    key = issued(ADMIN, role="admin")
    assert authorizes(key["apiKey"]) is not None
    return key


def as_admin_with(key: dict[str, Any], name: str, **kwargs: Any) -> HttpResult:
    """The admin route `name` called with `key` as the authorizer let it in (or as its cached answer still does)."""
    return call(name, org=key["orgId"], role="admin", key_id=key["keyId"], **kwargs)


def test_a_revoked_admin_key_is_refused_at_once_whatever_the_authorizer_cache_holds(org: str, admin: str) -> None:
    # Given a second admin key, which the authorizer allowed (its answer cached by API Gateway)
    key = operator_admin_key()
    # When it is revoked, then used again with that cached answer
    assert as_admin("revoke_api_key", path_params={"keyId": key["keyId"]}).status == 200
    result = as_admin_with(key, "issue_api_key", path_params={"orgId": org}, body={})
    # Then 401, and nothing is issued
    assert (result.status, result.body["error"]) == (401, "unauthorized")
    assert len(api_keys.list_for_org(org)) == 1


@pytest.mark.parametrize("name", ADMIN_CALLS)
def test_every_admin_route_refuses_a_revoked_admin_key(org: str, admin: str, name: str) -> None:
    key = operator_admin_key()
    as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    result = as_admin_with(key, name, **ADMIN_CALLS[name])
    assert (result.status, result.body["error"]) == (401, "unauthorized")
    assert not ledger.account_exists("org-new")
    assert ledger.get_balance(org) == 100


def test_an_admin_context_naming_no_key_of_its_own_is_refused(org: str, admin: str) -> None:
    # Given an admin context naming org-a's member key (or a key that does not exist)
    [member] = api_keys.list_for_org(org)
    for key_id in (member.key_id, "key_0000000000000000000000", ""):
        # When it calls an admin route
        result = call("credit_tokens", org=ADMIN, role="admin", key_id=key_id, **ADMIN_CALLS["credit_tokens"])
        # Then 401: only a live admin key of the caller's org is an admin
        assert (result.status, result.body["error"]) == (401, "unauthorized")
    assert ledger.get_balance(org) == 100


def test_an_admin_key_of_a_customer_org_acts_as_no_admin(org: str, admin: str) -> None:
    # Given an admin key org-a holds from before only operator orgs held them (stored directly)
    key_id = legacy_admin_key(org)
    # When it credits its own org
    result = call("credit_tokens", org=org, role="admin", key_id=key_id, **ADMIN_CALLS["credit_tokens"])
    # Then 403, and nothing is credited
    assert (result.status, result.body["error"]) == (403, "forbidden")
    assert ledger.get_balance(org) == 100


def test_revoking_a_key_flushes_the_stages_authorizer_cache(admin: str) -> None:
    # Given a key of org-new
    open_org("org-new", 0)
    key = issued("org-new")
    # When an admin revokes it through a stage (the event's API id and stage)
    event = api_event("revoke_api_key", org=ADMIN, role="admin", key_id=key_id_of("admin-key"))
    event |= {"pathParameters": {"keyId": key["keyId"]}, "path": f"/admin/apiKeys/{key['keyId']}"}
    with calls.captured() as made:
        assert invoke("revoke_api_key", event).status == 200
    # Then that stage's authorizer cache is flushed (API Gateway's FlushStageAuthorizersCache: DELETE on it)
    stage = event["requestContext"]
    flushed = f"::/restapis/{stage['apiId']}/stages/{stage['stage']}/cache/authorizers"
    assert any(c.action == "apigateway:DELETE" and c.resource.endswith(flushed) for c in made)


def test_a_key_records_the_admin_keys_that_issued_and_revoked_it_in_its_record_and_logs(
    admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the logs captured at production's level, and org-new
    caplog.set_level(logging.INFO)
    open_org("org-new", 0)
    # When an admin issues it a key, then revokes it
    key = issued("org-new")
    as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    # Then the key's record and both log lines name the admin's key
    by = key_id_of("admin-key")
    record = api_keys.find_by_id(key["keyId"])
    assert record is not None
    assert (record.issued_by_key_id, record.revoked_by_key_id) == (by, by)
    logged = {record.getMessage(): record.__dict__ for record in caplog.records}
    assert logged["API key issued"]["byKeyId"] == logged["API key revoked"]["byKeyId"] == by


def test_revoking_a_key_again_keeps_the_first_revocation_and_its_key(admin: str) -> None:
    # Given a key of org-new revoked by the operators' tool (no key)
    open_org("org-new", 0)
    key = issued("org-new")
    first = revoke_api_key(key["keyId"])
    # When an admin revokes it again
    again = as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    # Then the first revocation stands: its time, and no admin key named
    record = api_keys.find_by_id(key["keyId"])
    assert record is not None
    assert (again.status, again.body["revokedAt"]) == (200, first.revokedAt)
    assert record.revoked_by_key_id is None


def test_revoking_a_key_twice_keeps_the_first_revocation_time(admin: str) -> None:
    open_org("org-new", 0)
    key = issued("org-new")
    first = as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    again = as_admin("revoke_api_key", path_params={"keyId": key["keyId"]})
    assert again.status == 200
    assert again.body == first.body


def test_revoking_an_unknown_key_is_404(admin: str) -> None:
    result = as_admin("revoke_api_key", path_params={"keyId": "key_0000000000000000000000"})
    assert (result.status, result.body["error"]) == (404, "api_key_not_found")
