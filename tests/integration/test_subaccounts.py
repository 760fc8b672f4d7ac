"""Tenants at Twilio (SPEC: a subaccount per org): each org's Twilio resources live in its own subaccount, reached
with the platform's parent credentials, so that no org can see, use or delete another's."""

import logging
from collections.abc import Callable
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator.api import MAGIC_AVAILABLE
from robotappel.dal import numbers
from robotappel.dal import subaccounts as recorded
from robotappel.dal.dynamodb import to_ddb
from robotappel.dal.numbers import ClientPhoneRecord
from robotappel.ids import now_iso
from robotappel.tenants import subaccounts
from robotappel.twilio import gateway
from tests.fixtures.aws import CALL_STATUS_URL, VALIDATION_STATUS_URL, open_operator_org, open_org
from tests.fixtures.dynamodb_faults import DynamoDBFaults, client_error, lands_after, mentions
from tests.fixtures.lambdas import HttpResult, call, call_webhook
from tests.fixtures.twilio import french_documents, org_account, verified_caller_id_sid


def add(org: str, phone: str = "+33612345678") -> HttpResult:
    return call("add_client_phone", org=org, body={"phoneNumber": phone})


def phones_of(org: str) -> list[ClientPhoneRecord]:
    return numbers.list_client_phones(org).records


def wait_verified(org: str, emulator: TwilioEmulator, phone: str) -> str:
    """The caller ID Twilio made in the org's subaccount once the person answered; the phone recorded as verified
    (the emulator's callback cannot reach the test's handler: it is delivered here)."""
    account = org_account(emulator, org)
    caller_id_sid = verified_caller_id_sid(emulator, phone, account["sid"])
    [record] = [record for record in phones_of(org) if record.phone_number == phone]
    params = {
        "AccountSid": account["sid"],
        "CallSid": str(record.validation_call_sid),
        "To": phone,
        "VerificationStatus": "success",
        "OutgoingCallerIdSid": caller_id_sid,
    }
    url = f"{VALIDATION_STATUS_URL}/{record.id}"
    result = call_webhook("validation_status_webhook", url, account["auth_token"], params)
    assert result.status == 200
    return caller_id_sid


# ------------------------------------------------------------------ onboarding
def test_onboarding_opens_the_orgs_subaccount_named_by_stage_and_org(aws: object, twilio_layer: TwilioEmulator) -> None:
    # When an operator onboards org-a
    open_org("org-a", 100)
    # Then Twilio has a subaccount of the platform's account named for the stage and the org, recorded for org-a
    account = org_account(twilio_layer, "org-a")
    assert account["friendly_name"] == "ra:dev:org org-a"
    assert account["owner_account_sid"] == twilio_layer.account_sid
    assert account["status"] == "active"
    assert recorded.of_org("org-a") == account["sid"]


def test_the_admin_route_onboards_an_org_with_its_subaccount(aws: object, twilio_layer: TwilioEmulator) -> None:
    # Given an operator
    key_id = open_operator_org("org-ops", 0)
    # When it creates org-new over the admin route
    created = call("create_org", org="org-ops", role="admin", key_id=key_id, body={"orgId": "org-new"})
    # Then org-new's subaccount is opened and recorded
    assert created.status == 201
    assert org_account(twilio_layer, "org-new")["friendly_name"] == "ra:dev:org org-new"


def test_a_first_regulatory_default_opens_the_subaccount_of_an_org_that_had_none(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a onboarded while Twilio refused every request
    twilio_layer.inject_fault("GET", r"/Accounts\.json", status=503, times=10)
    open_org("org-a", 100)
    twilio_layer.reset()
    # When its first Twilio use names a bundle
    body = {"numberType": "local", "bundleSid": "BU" + "0" * 32, "addressSid": "AD" + "0" * 32}
    result = call("set_regulatory_default", org="org-a", path_params={"countryCode": "FR"}, body=body)
    # Then its subaccount was opened, and the bundle looked for there (none: it is not org-a's)
    assert result.status == 422
    assert result.body["error"] == "bundle_not_found"
    assert recorded.of_org("org-a") is not None


def test_an_org_onboarded_while_twilio_was_down_gets_its_subaccount_on_first_use(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a onboarded while Twilio refused every request
    twilio_layer.inject_fault("GET", r"/Accounts\.json", status=503, times=10)
    open_org("org-a", 100)
    assert recorded.of_org("org-a") is None
    twilio_layer.reset()
    # When it first adds a phone
    assert add("org-a").status == 201
    # Then its subaccount was opened then, and the phone's caller ID is asked for there
    account_sid = recorded.of_org("org-a")
    assert account_sid is not None
    [validation] = [r for r in twilio_layer.requests_log if r.path.endswith("/OutgoingCallerIds.json")]
    assert validation.path == f"/2010-04-01/Accounts/{account_sid}/OutgoingCallerIds.json"


def test_a_subaccount_whose_creation_answer_was_lost_is_taken_not_made_twice(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given Twilio made org-a's subaccount but its answer was lost
    twilio_layer.inject_fault("POST", r"/Accounts\.json$", processed=True, times=1)
    open_org("org-a", 100)
    assert recorded.of_org("org-a") is None
    # When org-a first uses Twilio
    subaccounts.forget_known()
    assert add("org-a").status == 201
    # Then the subaccount Twilio made is org-a's, and no second one exists
    named = [a for a in twilio_layer.accounts() if a["friendly_name"] == "ra:dev:org org-a"]
    assert [a["sid"] for a in named] == [recorded.of_org("org-a")]


@pytest.mark.parametrize("status", ["closed", "suspended"])
def test_a_subaccount_named_for_the_org_that_an_operator_put_aside_is_not_taken(
    aws: object, twilio_layer: TwilioEmulator, status: str
) -> None:
    # Given a subaccount named for org-a that no record names, closed or suspended by an operator (a spare)
    put_aside = twilio_layer.create_subaccount("ra:dev:org org-a")
    twilio_layer.update_account(put_aside["sid"], status=status)
    open_org("org-a", 100)
    subaccounts.forget_known()
    # When org-a first uses Twilio
    assert add("org-a").status == 201
    # Then it opened a subaccount of its own, active, and the one put aside stays as it was
    account_sid = recorded.of_org("org-a")
    assert account_sid not in (None, put_aside["sid"])
    assert twilio_layer.account(account_sid)["status"] == "active"
    assert twilio_layer.account(put_aside["sid"])["status"] == status


def test_a_long_org_id_still_names_one_subaccount_within_twilios_64_characters(aws: object) -> None:
    long_id = "org-" + "x" * 60
    name = subaccounts.friendly_name(long_id)
    assert len(name) == 64
    assert name != subaccounts.friendly_name(long_id[:-1] + "y")


# ------------------------------------------------------------------ two first uses at once
def named_for(emulator: TwilioEmulator, org: str) -> list[dict[str, Any]]:
    """The subaccounts at Twilio named for `org`, in the order they were made."""
    return [a for a in emulator.accounts() if a["friendly_name"] == subaccounts.friendly_name(org)]


def recorded_first_meanwhile(faults: DynamoDBFaults, org: str, rival_sid: Callable[[], str]) -> None:
    """While a first use of `org` opens its subaccount, another first use records `rival_sid()` just before it."""
    records_rival = lands_after(lambda: recorded.record(org, rival_sid(), now_iso()))
    faults.arm("update_item", records_rival, when=mentions(recorded.SK))


def made_by_another_first_use(emulator: TwilioEmulator, org: str) -> Callable[[], str]:
    return lambda: emulator.create_subaccount(subaccounts.friendly_name(org))["sid"]


def left_open(caplog: pytest.LogCaptureFixture) -> tuple[str, str]:
    """The one subaccount logged as left open (its SID), and why."""
    message = "a second Twilio subaccount was made for an org at once: left open"
    [line] = [record.__dict__ for record in caplog.records if record.getMessage() == message]
    return line["unusedAccountSid"], line["reason"]


def a_number(emulator: TwilioEmulator, account_sid: str) -> None:
    gateway.buy_number(account_sid, MAGIC_AVAILABLE, CALL_STATUS_URL, CALL_STATUS_URL, "Line")


def a_caller_id(emulator: TwilioEmulator, account_sid: str) -> None:
    gateway.request_caller_id_validation(account_sid, "+33612345678", "Boss", VALIDATION_STATUS_URL)
    verified_caller_id_sid(emulator, "+33612345678", account_sid)


def test_a_subaccount_made_by_a_first_use_that_lost_the_race_is_closed(
    aws: object, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given org-a has no subaccount, and another first use records its own while this one opens one
    recorded_first_meanwhile(dynamodb_faults, "org-a", made_by_another_first_use(twilio_layer, "org-a"))
    # When org-a's first use opens its subaccount
    account_sid = subaccounts.account_of("org-a")
    # Then it goes on with the recorded one, still active, and the one it made is closed
    assert account_sid == recorded.of_org("org-a")
    statuses = {account["sid"]: account["status"] for account in named_for(twilio_layer, "org-a")}
    assert statuses.pop(account_sid) == "active"
    assert list(statuses.values()) == ["closed"]


def test_a_subaccount_found_by_name_is_never_closed(
    aws: object, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults, caplog: pytest.LogCaptureFixture
) -> None:
    # Given two subaccounts named for org-a, made by other first uses: the second is recorded while this one opens
    caplog.set_level(logging.WARNING)
    found = twilio_layer.create_subaccount(subaccounts.friendly_name("org-a"))["sid"]
    rival = twilio_layer.create_subaccount(subaccounts.friendly_name("org-a"))["sid"]
    recorded_first_meanwhile(dynamodb_faults, "org-a", lambda: rival)
    # When org-a's first use opens its subaccount, taking the first it finds by name
    account_sid = subaccounts.account_of("org-a")
    # Then it goes on with the recorded one, and the one it found is left active: nothing proves it spare
    assert account_sid == rival
    assert twilio_layer.account(found)["status"] == "active"
    assert left_open(caplog) == (found, "found by name, not made by this call")


@pytest.mark.parametrize("holding", [a_number, a_caller_id])
def test_a_spare_subaccount_that_holds_something_is_not_closed(
    aws: object,
    twilio_layer: TwilioEmulator,
    dynamodb_faults: DynamoDBFaults,
    caplog: pytest.LogCaptureFixture,
    holding: Callable[[TwilioEmulator, str], None],
) -> None:
    # Given org-a's first use made a subaccount that came to hold something before another one was recorded
    caplog.set_level(logging.WARNING)

    def holding_then_rival() -> str:
        [made] = named_for(twilio_layer, "org-a")
        holding(twilio_layer, made["sid"])
        return made_by_another_first_use(twilio_layer, "org-a")()

    recorded_first_meanwhile(dynamodb_faults, "org-a", holding_then_rival)
    # When the first use opens its subaccount
    account_sid = subaccounts.account_of("org-a")
    # Then the one it made is left active, and the log says why
    [made, rival] = named_for(twilio_layer, "org-a")
    assert account_sid == rival["sid"]
    assert made["status"] == "active"
    assert left_open(caplog) == (made["sid"], "it holds a number or a caller ID")


def test_a_subaccount_is_not_closed_unless_a_consistent_read_records_another(
    aws: object, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the recording of org-a's subaccount refused as if another were recorded, which a read does not confirm
    caplog.set_level(logging.WARNING)
    old_item = to_ddb({"orgId": "org-a", "sk": recorded.SK, "twilioSid": "AC" + "0" * 32})

    def refused(_: object, __: object) -> None:
        raise client_error("ConditionalCheckFailedException", "UpdateItem", Item=old_item)

    dynamodb_faults.arm("update_item", refused, when=mentions(recorded.SK))
    # When org-a's first use opens its subaccount
    subaccounts.account_of("org-a")
    # Then the one it made is left active
    [made] = named_for(twilio_layer, "org-a")
    assert made["status"] == "active"
    assert left_open(caplog) == (made["sid"], "the org's record names no other subaccount")


def test_a_twilio_failure_while_closing_a_spare_leaves_the_first_use_successful(
    aws: object, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults, caplog: pytest.LogCaptureFixture
) -> None:
    # Given org-a onboarded while Twilio was down, another first use recording its own subaccount while org-a's
    # opens one, and Twilio failing every change of a subaccount
    caplog.set_level(logging.WARNING)
    twilio_layer.inject_fault("GET", r"/Accounts\.json", status=503, times=10)
    open_org("org-a", 100)
    twilio_layer.reset()
    recorded_first_meanwhile(dynamodb_faults, "org-a", made_by_another_first_use(twilio_layer, "org-a"))
    twilio_layer.inject_fault("POST", r"/Accounts/AC\w+\.json$", status=500, times=10)
    # When org-a first adds a phone
    result = add("org-a")
    # Then the add succeeds in the recorded subaccount, and the one it made is left active, logged
    assert result.status == 201
    [made, rival] = named_for(twilio_layer, "org-a")
    assert recorded.of_org("org-a") == rival["sid"]
    assert made["status"] == "active"
    left_sid, reason = left_open(caplog)
    assert left_sid == made["sid"]
    assert reason.startswith("a check or the closing failed")


# ------------------------------------------------------------------ isolation by construction
def test_two_orgs_verify_the_same_phone_independently(aws: object, twilio_layer: TwilioEmulator) -> None:
    # Given org-a and org-b, each with tokens
    open_org("org-a", 100)
    open_org("org-b", 100)
    # When both add the same phone and its holder answers both calls
    assert add("org-a").status == 201
    assert add("org-b").status == 201
    a_caller_id = wait_verified("org-a", twilio_layer, "+33612345678")
    b_caller_id = wait_verified("org-b", twilio_layer, "+33612345678")
    # Then each has its own verified phone with its own caller ID, in its own subaccount
    assert a_caller_id != b_caller_id
    assert [p.status for p in phones_of("org-a")] == ["verified"]
    assert [p.status for p in phones_of("org-b")] == ["verified"]
    assert [c["sid"] for c in twilio_layer.caller_ids(org_account(twilio_layer, "org-a")["sid"])] == [a_caller_id]
    assert [c["sid"] for c in twilio_layer.caller_ids(org_account(twilio_layer, "org-b")["sid"])] == [b_caller_id]


def test_one_orgs_delete_leaves_the_other_orgs_caller_id_of_the_same_phone(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a and org-b have both verified the same phone
    open_org("org-a", 100)
    open_org("org-b", 100)
    add("org-a")
    add("org-b")
    wait_verified("org-a", twilio_layer, "+33612345678")
    b_caller_id = wait_verified("org-b", twilio_layer, "+33612345678")
    # When org-a deletes its phone
    [a_phone] = phones_of("org-a")
    assert call("delete_phone_number", org="org-a", path_params={"id": a_phone.id}).status == 200
    # Then org-b's phone and its caller ID are untouched
    assert [p.status for p in phones_of("org-b")] == ["verified"]
    assert [c["sid"] for c in twilio_layer.caller_ids(org_account(twilio_layer, "org-b")["sid"])] == [b_caller_id]
    assert twilio_layer.caller_ids(org_account(twilio_layer, "org-a")["sid"]) == []


def test_an_orgs_bundle_cannot_become_another_orgs_default(aws: object, twilio_layer: TwilioEmulator) -> None:
    # Given org-a's approved bundle and address, made in its own subaccount
    open_org("org-a", 100)
    open_org("org-b", 100)
    documents = french_documents(twilio_layer, org_account(twilio_layer, "org-a")["sid"])
    body = {"numberType": "local", "bundleSid": documents.local, "addressSid": documents.address}
    # When org-b names it as its default
    result = call("set_regulatory_default", org="org-b", path_params={"countryCode": "FR"}, body=body)
    # Then Twilio knows no such bundle of org-b's: refused, and org-a may still use it
    assert result.status == 422
    assert result.body["error"] == "bundle_not_found"
    own = call("set_regulatory_default", org="org-a", path_params={"countryCode": "FR"}, body=body)
    assert own.status == 200


# ------------------------------------------------------------------ callbacks
def test_a_callback_signed_with_the_parents_token_is_refused(aws: object, twilio_layer: TwilioEmulator) -> None:
    # Given org-a's pending phone
    open_org("org-a", 100)
    add("org-a")
    [phone] = phones_of("org-a")
    params = {"AccountSid": twilio_layer.account_sid, "To": phone.phone_number, "VerificationStatus": "success"}
    # When a callback claims the parent account, signed with the parent's token
    url = f"{VALIDATION_STATUS_URL}/{phone.id}"
    result = call_webhook("validation_status_webhook", url, twilio_layer.auth_token, params)
    # Then it is refused: only an org's subaccount calls back
    assert result.status == 403


def test_a_callback_of_one_orgs_subaccount_changes_nothing_of_another_org(
    aws: object, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a's pending phone, and org-b
    open_org("org-a", 100)
    open_org("org-b", 100)
    add("org-a")
    [phone] = phones_of("org-a")
    b_account = org_account(twilio_layer, "org-b")
    # When org-b's subaccount (validly signed) reports org-a's phone verified
    params = {"AccountSid": b_account["sid"], "To": phone.phone_number, "VerificationStatus": "success"}
    url = f"{VALIDATION_STATUS_URL}/{phone.id}"
    result = call_webhook("validation_status_webhook", url, b_account["auth_token"], params)
    # Then org-a's phone is unchanged
    assert result.status == 200
    assert result.body == {"updated": 0}
    assert [p.status for p in phones_of("org-a")] == ["pending"]


def test_a_callback_signed_with_another_subaccounts_token_is_refused(aws: object, twilio_layer: TwilioEmulator) -> None:
    # Given org-a and org-b
    open_org("org-a", 100)
    open_org("org-b", 100)
    a_account, b_account = org_account(twilio_layer, "org-a"), org_account(twilio_layer, "org-b")
    # When a callback names org-a's subaccount but is signed with org-b's token
    params = {"AccountSid": a_account["sid"], "CallSid": "CA1", "CallStatus": "completed", "To": "+33900000000"}
    result = call_webhook("call_status_webhook", CALL_STATUS_URL, b_account["auth_token"], params)
    # Then it is refused
    assert result.status == 403
