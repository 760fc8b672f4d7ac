"""Suspending an org (SPEC: Tenants at Twilio): its routes answer 403 org_suspended and its Twilio subaccount is
suspended; reactivating restores both (PUT /admin/orgs/{orgId}/status, the CLI's `orgs suspend|reactivate`)."""

from typing import Any

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from robotappel.reconcile import run as reconciler
from robotappel.tenants import suspension
from tests.fixtures.aws import open_operator_org, open_org
from tests.fixtures.lambdas import HttpResult, api_event, call, invoke, run_handler
from tests.fixtures.twilio import org_account


def set_status(org: str, status: str, **event: Any) -> HttpResult:
    return call(
        "set_org_status", org="org-ops", role="admin", path_params={"orgId": org}, body={"status": status}, **event
    )


def authorize(api_key: str) -> dict[str, Any]:
    event = api_event("authorizer")
    event["headers"] = {"Host": event["headers"]["Host"], "Authorization": f"Bearer {api_key}"}
    return run_handler("authorizer", event)  # type: ignore[no-any-return]


def as_authorized(name: str, context: dict[str, Any], **changes: Any) -> HttpResult:
    """Route `name` called with the context the authorizer gave."""
    event = api_event(name, **changes)
    event["requestContext"]["authorizer"] = {"principalId": context["orgId"], **context}
    return invoke(name, event)


def test_a_suspended_orgs_routes_answer_403_and_its_subaccount_is_suspended(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a with its subaccount, and an operator
    key_id = open_operator_org("org-ops", 0)
    account = org_account(twilio_layer, "org-a")
    # When the operator suspends org-a
    result = set_status("org-a", "suspended", key_id=key_id)
    # Then the org is suspended in our table and at Twilio
    assert result.status == 200
    assert result.body["status"] == "suspended"
    assert ledger.suspended_since("org-a") == result.body["suspendedAt"]
    assert twilio_layer.account(account["sid"])["status"] == "suspended"
    # And its key's calls carry the suspension, which every route answers with 403 org_suspended, uncharged
    context = authorize("key-a")["context"]
    assert context["suspended"] == "true"
    refused = as_authorized("get_token_balance", context)
    assert refused.status == 403
    assert refused.body["error"] == "org_suspended"
    assert ledger.get_balance("org-a") == 100


def test_reactivating_restores_the_subaccount_then_the_routes(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a suspended
    key_id = open_operator_org("org-ops", 0)
    account = org_account(twilio_layer, "org-a")
    set_status("org-a", "suspended", key_id=key_id)
    # When the operator reactivates it
    result = set_status("org-a", "active", key_id=key_id)
    # Then Twilio's subaccount is active again and its routes serve it
    assert result.status == 200
    assert result.body == {"orgId": "org-a", "status": "active", "suspendedAt": None}
    assert twilio_layer.account(account["sid"])["status"] == "active"
    context = authorize("key-a")["context"]
    assert "suspended" not in context
    assert as_authorized("get_token_balance", context).status == 200


def two_operator_orgs(emulator: TwilioEmulator) -> tuple[str, dict[str, Any]]:
    """Operator orgs org-ops, with 10 tokens and an admin key, and org-staff, with its subaccount: the key's id and
    that subaccount."""
    key_id = open_operator_org("org-ops", 10)
    open_operator_org("org-staff", 0)
    return key_id, org_account(emulator, "org-staff")


def test_suspending_an_operator_org_is_refused_with_409_and_changes_nothing(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given two operator orgs, org-staff with its subaccount
    key_id, account = two_operator_orgs(twilio_layer)
    before = len(twilio_layer.requests_log)
    # When org-ops's admin key suspends org-staff
    result = set_status("org-staff", "suspended", key_id=key_id)
    # Then it is refused as an operator org, and neither our table nor Twilio changed
    assert result.status == 409
    assert result.body["error"] == "operator_org"
    assert ledger.suspended_since("org-staff") is None
    assert twilio_layer.requests_log[before:] == []
    assert twilio_layer.account(account["sid"])["status"] == "active"
    assert ledger.get_balance("org-ops") == 10


def test_an_operator_org_suspended_by_the_tool_is_reactivated_by_the_route(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given operator org org-staff suspended (as the operators' tool does with --operator)
    key_id, account = two_operator_orgs(twilio_layer)
    suspension.set_status("org-staff", "suspended", operator_too=True)
    # When org-ops's admin key reactivates it
    result = set_status("org-staff", "active", key_id=key_id)
    # Then it is active again, here and at Twilio
    assert result.status == 200
    assert ledger.suspended_since("org-staff") is None
    assert twilio_layer.account(account["sid"])["status"] == "active"


def test_suspending_an_unknown_org_is_404(aws: object, twilio_layer: TwilioEmulator) -> None:
    key_id = open_operator_org("org-ops", 0)
    result = set_status("org-nobody", "suspended", key_id=key_id)
    assert result.status == 404
    assert result.body["error"] == "org_not_found"


def test_a_member_key_cannot_suspend_an_org(org: str, twilio_layer: TwilioEmulator) -> None:
    result = call("set_org_status", org="org-a", path_params={"orgId": "org-a"}, body={"status": "suspended"})
    assert result.status == 403
    assert ledger.suspended_since("org-a") is None


def test_suspending_twice_keeps_the_first_suspension_time(org: str, twilio_layer: TwilioEmulator) -> None:
    key_id = open_operator_org("org-ops", 0)
    first = set_status("org-a", "suspended", key_id=key_id)
    second = set_status("org-a", "suspended", key_id=key_id)
    assert second.status == 200
    assert second.body["suspendedAt"] == first.body["suspendedAt"]


def test_the_reconciler_passes_over_a_suspended_subaccount_and_reconciles_the_others(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a suspended and org-b active, each with a subaccount
    key_id = open_operator_org("org-ops", 0)
    open_org("org-a", 100)
    open_org("org-b", 100)
    org_account(twilio_layer, "org-a")
    b_account = org_account(twilio_layer, "org-b")
    set_status("org-a", "suspended", key_id=key_id)
    before = len(twilio_layer.requests_log)
    # When the reconciler runs
    findings = reconciler.run(60)
    # Then no step failed on the suspended subaccount, and org-b's lists were read
    assert findings.get(reconciler.STEP_FAILED, 0) == 0
    read = [r.path for r in twilio_layer.requests_log[before:] if r.method == "GET"]
    assert f"/2010-04-01/Accounts/{b_account['sid']}/IncomingPhoneNumbers.json" in read
    assert f"/2010-04-01/Accounts/{b_account['sid']}/OutgoingCallerIds.json" in read
