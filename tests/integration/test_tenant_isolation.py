"""OWASP API1 (broken object level authorization): org B's key against org A's resources.

Another org's number id is 404 (its existence is not revealed); another org's id in a parameter is 403 for a
member; admins may read. Nothing changes and nothing is charged to anyone but the caller's own successful call.
"""

from collections.abc import Callable
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger, numbers
from robotappel.tenants.api_keys import revoke_api_key
from tests.fixtures.aws import legacy_admin_key, open_operator_org, open_org
from tests.fixtures.lambdas import HttpResult, call

PHONE_A = "+33612345678"


@pytest.fixture
def org_a_resources(org: str, twilio_layer: TwilioEmulator) -> dict[str, Any]:
    """org-a with a client phone and a Twilio number linked to it; org-b and an admin org with 50 tokens each."""
    client_phone = call("add_client_phone", org="org-a", body={"phoneNumber": PHONE_A}).body
    twilio_number = call(
        "buy_twilio_number", org="org-a", body={"countryCode": "US", "clientPhoneNumber": PHONE_A}
    ).body
    open_org("org-b", 50)
    admin_key = open_operator_org("org-admin", 50)
    return {"clientPhoneId": client_phone["id"], "twilioNumberId": twilio_number["id"], "adminKey": admin_key}


def snapshot() -> tuple[list[numbers.NumberRecord], int]:
    return numbers.list_numbers("org-a").records, ledger.get_balance("org-a")


CROSS_TENANT_CALLS: dict[str, tuple[Callable[[dict[str, Any]], HttpResult], int]] = {
    "delete org A's client phone": (
        lambda r: call("delete_phone_number", org="org-b", path_params={"id": r["clientPhoneId"]}),
        404,
    ),
    "delete org A's Twilio number": (
        lambda r: call("delete_phone_number", org="org-b", path_params={"id": r["twilioNumberId"]}),
        404,
    ),
    "update org A's Twilio number": (
        lambda r: call(
            "update_phone_number",
            org="org-b",
            path_params={"id": r["twilioNumberId"]},
            body={"friendlyName": "hijacked"},
        ),
        404,
    ),
    "look up org A's number by its client phone": (
        lambda _: call("get_twilio_number_by_client_phone", org="org-b", path_params={"clientPhoneNumber": PHONE_A}),
        404,
    ),
    "list org A's client phones": (
        lambda _: call("get_all_client_phone_numbers", org="org-b", query={"id": "org-a"}),
        403,
    ),
    "list org A's numbers": (
        lambda _: call("get_org_phone_number_list", org="org-b", path_params={"orgId": "org-a"}),
        403,
    ),
}


@pytest.mark.parametrize("case", list(CROSS_TENANT_CALLS))
def test_another_orgs_key_cannot_see_or_touch_its_resources(org_a_resources: dict[str, Any], case: str) -> None:
    run, status = CROSS_TENANT_CALLS[case]
    before = snapshot()
    result = run(org_a_resources)
    assert result.status == status, result.body
    assert result.body["error"] == ("not_found" if status == 404 else "forbidden")
    assert "org-a" not in str(result.body)
    assert snapshot() == before
    assert ledger.get_balance("org-b") == 50


def test_another_orgs_lists_show_none_of_its_numbers(org_a_resources: dict[str, Any]) -> None:
    assert call("get_twilio_numbers_by_org", org="org-b").body == []
    assert call("get_all_client_phone_numbers", org="org-b").body == []
    assert call("get_org_phone_number_list", org="org-b", path_params={"orgId": "org-b"}).body == []


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("get_all_client_phone_numbers", {"query": {"id": "org-a"}}),
        ("get_org_phone_number_list", {"path_params": {"orgId": "org-a"}}),
    ],
)
def test_an_admin_may_read_another_org_and_pays_itself(
    org_a_resources: dict[str, Any], name: str, kwargs: dict[str, Any]
) -> None:
    before = snapshot()
    result = call(name, org="org-admin", role="admin", key_id=org_a_resources["adminKey"], **kwargs)
    assert result.status == 200
    assert {row["id"] for row in result.body} >= {org_a_resources["clientPhoneId"]}
    assert snapshot() == before
    assert ledger.get_balance("org-admin") == 45


ADMIN_READS = [
    ("get_all_client_phone_numbers", {"query": {"id": "org-a"}}),
    ("get_org_phone_number_list", {"path_params": {"orgId": "org-a"}}),
    ("get_token_ledger", {"query": {"orgId": "org-a"}}),
]


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_READS)
def test_a_revoked_admin_key_reads_no_other_org_whatever_the_authorizer_cache_holds(
    org_a_resources: dict[str, Any], name: str, kwargs: dict[str, Any]
) -> None:
    # Given the admin's key revoked, its Allow still in API Gateway's authorizer cache (a flush that failed)
    revoke_api_key(org_a_resources["adminKey"])
    # When it reads org-a's data / Then 401, as on an admin route, and nothing is charged
    result = call(name, org="org-admin", role="admin", key_id=org_a_resources["adminKey"], **kwargs)
    assert (result.status, result.body["error"]) == (401, "unauthorized")
    assert ledger.get_balance("org-admin") == 50


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_READS)
def test_an_admin_key_of_a_customer_org_reads_no_other_org(
    org_a_resources: dict[str, Any], name: str, kwargs: dict[str, Any]
) -> None:
    # Given an admin key org-b holds from before only operator orgs held them (its context says admin)
    key_id = legacy_admin_key("org-b")
    # When it reads org-a's data / Then 403
    result = call(name, org="org-b", role="admin", key_id=key_id, **kwargs)
    assert (result.status, result.body["error"]) == (403, "forbidden")


def test_an_admin_cannot_delete_another_orgs_number(org_a_resources: dict[str, Any]) -> None:
    before = snapshot()
    result = call(
        "delete_phone_number", org="org-admin", role="admin", path_params={"id": org_a_resources["twilioNumberId"]}
    )
    assert result.status == 404
    assert snapshot() == before
