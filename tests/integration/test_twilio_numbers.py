"""Twilio numbers (buyTwilioNumberAndActivate, GetTwilioPhoneNumberByOrg, GetTwilioPhoneNumberByClientPhoneNumber,
updatePhoneNumber, deletePhoneNumber) through the handlers, against moto and the Twilio emulator."""

import logging
import time
from typing import Any

import boto3
import pytest

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator.api import RecordedRequest
from robotappel.config import get_settings
from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import transact
from robotappel.errors import ServiceUnavailable
from robotappel.ids import new_id, now_iso
from robotappel.tenants.subaccounts import account_of
from robotappel.tokens import meter
from robotappel.twilio import gateway, retry
from robotappel.twilio.tags import tagged
from tests.fixtures.aws import CALL_STATUS_URL, ledger_entries, open_org, top_up
from tests.fixtures.dynamodb_faults import DynamoDBFaults, applied_answer_lost, writes_table
from tests.fixtures.lambdas import HttpResult, call, timeout_of
from tests.fixtures.reconciler import found, reconcile_now
from tests.iam.calls import made_by_the_test

pytestmark = pytest.mark.usefixtures("twilio_layer")

DEFAULT_VOICE_URL = "https://voice.robotappel.com/twilio/inbound"
BUY_PATH = r"/IncomingPhoneNumbers\.json$"
NUMBER_PATH = r"/IncomingPhoneNumbers/PN[0-9a-f]+\.json$"
CLIENT_PHONE = "+33612345678"
TWILIO_NUMBER_KEYS = {
    "id",
    "orgId",
    "phoneNumber",
    "phoneNumberSid",
    "friendlyName",
    "countryCode",
    "numberType",
    "voiceUrl",
    "clientPhoneNumber",
    "status",
    "createdAt",
    "automatedCalling",
    "automatedCallingRule",
}
# Derived from the number when it is shown (the rule table), not stored with it.
STORED_TWILIO_NUMBER_KEYS = TWILIO_NUMBER_KEYS - {"automatedCalling", "automatedCallingRule"}


# ------------------------------------------------------------------ helpers
def buy(org: str = "org-a", headers: dict[str, str] | None = None, **body: Any) -> HttpResult:
    """Buys a US number in area code 415 unless the body says otherwise."""
    return call("buy_twilio_number", org=org, body={"countryCode": "US", "areaCode": "415", **body}, headers=headers)


def bought(org: str = "org-a", **body: Any) -> dict[str, Any]:
    result = buy(org, **body)
    assert result.status == 201, result.body
    return dict(result.body)


def add_client_phone(org: str = "org-a", phone: str = CLIENT_PHONE) -> str:
    """A verified client phone of `org`, written straight to the table; returns its id."""
    record = numbers.ClientPhoneRecord(
        id=new_id(numbers.CLIENT_PHONE),
        org_id=org,
        phone_number=phone,
        friendly_name="Front desk",
        status="verified",
        created_at=now_iso(),
    )
    transact(numbers.put_client_phone(record))
    return record.id


def stored_tombstone(org: str, number_id: str) -> dict[str, Any]:
    """A released number's item, as stored (no route reads tombstones)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().numbers_table)
    item: dict[str, Any] = table.get_item(Key={"orgId": org, "sk": numbers.released_sk(number_id)})["Item"]
    return item


SUBACCOUNTS_PATH = "/2010-04-01/Accounts.json"


def owned_numbers(emulator: TwilioEmulator, org: str = "org-a") -> list[str]:
    """The numbers in the org's subaccount."""
    return [str(number["phone_number"]) for number in emulator.incoming_numbers(account_of(org))]


def twilio_calls(emulator: TwilioEmulator) -> list[RecordedRequest]:
    """The requests Twilio received but the parent's about its subaccounts (an org's onboarding opens one)."""
    return [request for request in emulator.requests_log if request.path != SUBACCOUNTS_PATH]


def purchase_requests(emulator: TwilioEmulator) -> list[dict[str, str]]:
    return [
        r.form for r in twilio_calls(emulator) if r.method == "POST" and r.path.endswith("/IncomingPhoneNumbers.json")
    ]


def ledger_statuses(org: str) -> list[object]:
    return [entry["status"] for entry in ledger_entries(org)]


def by_client_phone(raw: str, org: str = "org-a") -> HttpResult:
    return call("get_twilio_number_by_client_phone", org=org, path_params={"clientPhoneNumber": raw})


def update(number_id: str, body: Any, org: str = "org-a") -> HttpResult:
    return call("update_phone_number", org=org, path_params={"id": number_id}, body=body)


def delete(number_id: str, org: str = "org-a") -> HttpResult:
    return call("delete_phone_number", org=org, path_params={"id": number_id})


def listed_by_org(org: str = "org-a") -> list[dict[str, Any]]:
    result = call("get_twilio_numbers_by_org", org=org)
    assert result.status == 200, result.body
    return list(result.body)


# ------------------------------------------------------------------ buyTwilioNumberAndActivate
def test_buy_activates_a_number_with_our_webhooks_and_charges_40(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a with 100 tokens
    # When it buys a US local number in area code 415
    result = buy(friendlyName="Support")
    # Then 201 with the whole TwilioNumber, the number in area code 415
    assert result.status == 201
    assert set(result.body) == TWILIO_NUMBER_KEYS
    number = result.body
    assert number["phoneNumber"].startswith("+1415")
    assert number["phoneNumberSid"].startswith("PN")
    assert number["id"].startswith("tn_")
    assert (number["orgId"], number["countryCode"], number["numberType"], number["status"]) == (
        "org-a",
        "US",
        "local",
        "active",
    )
    assert (number["friendlyName"], number["voiceUrl"], number["clientPhoneNumber"]) == (
        "Support",
        DEFAULT_VOICE_URL,
        None,
    )
    # And Twilio owns it for us with the platform's voice URL and our call-status callback, naming the number
    [owned] = twilio_layer.incoming_numbers(account_of(org))
    assert (owned["sid"], owned["phone_number"]) == (number["phoneNumberSid"], number["phoneNumber"])
    assert (owned["voice_url"], owned["status_callback"]) == (DEFAULT_VOICE_URL, f"{CALL_STATUS_URL}/{number['id']}")
    # And 40 tokens were charged once, as the headers say
    assert ledger.get_balance(org) == 60
    assert ledger_statuses(org) == ["charged"]
    assert (result.headers["X-Tokens-Charged"], result.headers["X-Tokens-Remaining"]) == ("40", "60")


def test_buy_without_area_code_takes_a_number_of_the_country(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given no area code
    # When org-a buys a US local number
    result = call("buy_twilio_number", org=org, body={"countryCode": "US"})
    # Then it owns one US number, named after itself by default
    assert result.status == 201
    assert result.body["phoneNumber"].startswith("+1")
    assert result.body["friendlyName"] == result.body["phoneNumber"]
    assert owned_numbers(twilio_layer) == [result.body["phoneNumber"]]
    assert ledger.get_balance(org) == 60


def test_buy_records_the_number_in_the_table(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought(voiceUrl="https://voice.robotappel.com/twilio/custom")
    # When we read its record
    record = numbers.get_number(org, number["id"])
    # Then the record is the number returned, with the voice URL asked for
    assert isinstance(record, numbers.TwilioNumberRecord)
    stored = record.model_dump(by_alias=True)
    assert {key: stored.get(key) for key in STORED_TWILIO_NUMBER_KEYS} == {
        key: number[key] for key in STORED_TWILIO_NUMBER_KEYS
    }
    assert record.voice_url == "https://voice.robotappel.com/twilio/custom"
    [owned] = twilio_layer.incoming_numbers(account_of(org))
    assert owned["voice_url"] == "https://voice.robotappel.com/twilio/custom"


def test_buy_the_magic_unavailable_number_is_409_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given Twilio's test number that is never available
    # When org-a asks for exactly that number
    result = buy(phoneNumber="+15005550000")
    # Then 409 number_unavailable, nothing owned, nothing charged
    assert result.status == 409
    assert result.body["error"] == "number_unavailable"
    assert owned_numbers(twilio_layer) == []
    assert ledger.get_balance(org) == 100
    assert "charged" not in ledger_statuses(org)


def test_buy_in_magic_area_code_533_is_409_no_numbers_available_and_free(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given Twilio's test area code without numbers
    # When org-a buys a number there
    result = buy(areaCode="533")
    # Then 409 no_numbers_available, nothing owned, nothing charged
    assert result.status == 409
    assert result.body["error"] == "no_numbers_available"
    assert owned_numbers(twilio_layer) == []
    assert ledger.get_balance(org) == 100
    assert "charged" not in ledger_statuses(org)


def test_buy_tries_the_next_candidate_when_the_first_is_taken_meanwhile(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given the first number found is bought by someone else before us (21422)
    twilio_layer.inject_fault("POST", BUY_PATH, status=400, code=21422, message="PhoneNumber is not available.")
    # When org-a buys a number in area code 415
    result = buy()
    # Then the second candidate was bought, and only it is owned and charged
    first_try, second_try = purchase_requests(twilio_layer)
    assert first_try["PhoneNumber"] != second_try["PhoneNumber"]
    assert result.status == 201
    assert result.body["phoneNumber"] == second_try["PhoneNumber"]
    assert owned_numbers(twilio_layer) == [second_try["PhoneNumber"]]
    assert ledger.get_balance(org) == 60


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"countryCode": "FR", "numberType": "mobile"}, "numberType"),
        ({"phoneNumber": "+1415"}, "phoneNumber"),
        ({"phoneNumber": "not a number"}, "phoneNumber"),
        ({"voiceUrl": "http://voice.example.test/inbound"}, "voiceUrl"),
        ({"clientPhoneNumber": CLIENT_PHONE}, "clientPhoneNumber"),
        ({"countryCode": "FR", "areaCode": "1"}, "areaCode"),
    ],
    ids=["fr-mobile", "short-e164", "garbage-e164", "http-voice-url", "unknown-client-phone", "fr-area-code"],
)
def test_buy_with_an_invalid_field_is_422_naming_it_before_any_twilio_call(
    org: str, twilio_layer: TwilioEmulator, body: dict[str, str], field: str
) -> None:
    # Given a body with one unacceptable field (org-a has no client phone)
    # When org-a buys a number with it
    result = call("buy_twilio_number", org=org, body=body)
    # Then 422 names the field, Twilio was not asked anything and nothing is charged
    assert result.status == 422
    assert result.body["error"] == "validation_error"
    assert result.body["field"] == field
    assert twilio_calls(twilio_layer) == []
    assert ledger.get_balance(org) == 100


def test_buy_with_another_orgs_client_phone_is_422(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given +33612345678 is a client phone of org-b only
    add_client_phone("org-b")
    # When org-a buys a number linked to it
    result = buy(clientPhoneNumber=CLIENT_PHONE)
    # Then the link is refused before Twilio is called
    assert result.status == 422
    assert result.body["field"] == "clientPhoneNumber"
    assert twilio_calls(twilio_layer) == []


def test_buy_linked_to_a_client_phone_of_the_org_records_the_link(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a client phone of org-a, given in national format
    add_client_phone()
    # When org-a buys a number linked to it
    result = buy(clientPhoneNumber="06 12 34 56 78")
    # Then the number is linked to the client phone in E.164
    assert result.status == 201
    assert result.body["clientPhoneNumber"] == CLIENT_PHONE


def client_phone_deleted_right_after_its_check(monkeypatch: pytest.MonkeyPatch, phone_id: str) -> None:
    """The race the final transaction closes: the ownership check passes, then the client phone is deleted."""
    exists = numbers.client_phone_exists

    def checked_then_deleted(org_id: str, e164: str) -> bool:
        found = exists(org_id, e164)
        phone = numbers.get_number(org_id, phone_id)
        assert isinstance(phone, numbers.ClientPhoneRecord)
        transact(numbers.delete_client_phone(phone, link_version=0))
        return found

    monkeypatch.setattr(numbers, "client_phone_exists", checked_then_deleted)


def test_buy_linked_to_a_client_phone_deleted_meanwhile_is_422_and_releases_the_number(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client phone of org-a that is deleted right after the purchase checked it
    client_phone_deleted_right_after_its_check(monkeypatch, add_client_phone())
    # When org-a buys a number linked to it
    result = buy(clientPhoneNumber=CLIENT_PHONE)
    # Then 422 names clientPhoneNumber, the bought number is released, and nothing is recorded or charged
    assert result.status == 422
    assert result.body["field"] == "clientPhoneNumber"
    assert owned_numbers(twilio_layer) == []
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 100


def test_a_number_linked_while_its_client_phone_is_deleted_loses_the_link_with_the_phone(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number, and a client phone whose delete has read its links (none) and waits for Twilio,
    # while the number is linked to that phone
    number = bought()
    phone_id = add_client_phone()
    find_caller_id = gateway.find_caller_id

    def linked_meanwhile(account: str, phone_number: str, tagged_for: str | None = None) -> Any:
        assert update(number["id"], {"clientPhoneNumber": CLIENT_PHONE}).status == 200
        return find_caller_id(account, phone_number, tagged_for)

    monkeypatch.setattr(gateway, "find_caller_id", linked_meanwhile)
    # When the delete commits
    result = call("delete_phone_number", org=org, path_params={"id": phone_id})
    # Then the phone is gone and the number with no link to it: no link outlives its phone
    assert result.status == 200, result.body
    assert numbers.get_number(org, phone_id) is None
    record = numbers.get_number(org, number["id"])
    assert isinstance(record, numbers.TwilioNumberRecord)
    assert record.client_phone_number is None


def test_buy_with_a_short_balance_is_402_before_calling_twilio(
    aws: dict[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given an org with 39 tokens
    open_org("org-poor", 39)
    # When it buys a number (40 tokens)
    result = buy("org-poor")
    # Then 402, Twilio never heard of it and the balance is unchanged
    assert result.status == 402
    assert result.body == {
        "error": "insufficient_tokens",
        "message": "This call costs 40 tokens and the balance is 39.",
        "required": 40,
        "balance": 39,
    }
    assert twilio_calls(twilio_layer) == []
    assert ledger.get_balance("org-poor") == 39
    assert ledger_entries("org-poor") == []


def test_buy_when_twilio_fails_is_502_with_twilio_code_and_free_once_reconciled(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Twilio fails the purchase with an internal error (which does not say whether it sold the number)
    twilio_layer.inject_fault("POST", BUY_PATH, status=500, code=20500)
    # When org-a buys a number
    result = buy()
    # Then 502 with Twilio's code, nothing recorded, the hold kept for the reconciler
    assert result.status == 502
    assert result.body["twilioCode"] == 20500
    assert numbers.list_numbers(org).records == []
    assert ledger_statuses(org) == ["held"]
    # And once the reconciler finds that Twilio sold nothing, the hold is refunded
    assert found(reconcile_now(monkeypatch)) == {"purchase_never_made": 1}
    assert ledger.get_balance(org) == 100
    assert ledger_statuses(org) == ["refunded"]


# ------------------------------------------------------------------ compensation
def fail_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    """The final transaction (record + charge) fails as if DynamoDB were down."""

    def unavailable(*_: object) -> None:
        raise ServiceUnavailable("The database is busy; retry in a moment.")

    monkeypatch.setattr(meter, "transact", unavailable)


def test_buy_releases_the_number_when_recording_fails(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB fails when the bought number is recorded
    fail_recording(monkeypatch)
    # When org-a buys a number
    result = buy()
    # Then 503 JSON, the number was bought then released again, and nothing is charged or recorded
    assert result.status == 503
    assert result.body["error"] == "service_unavailable"
    [purchase] = [r for r in twilio_calls(twilio_layer) if r.method == "POST"]
    [release] = [r for r in twilio_calls(twilio_layer) if r.method == "DELETE"]
    assert release.path.endswith(f"/IncomingPhoneNumbers/{purchase.response_json['sid']}.json")
    assert release.status == 204
    assert owned_numbers(twilio_layer) == []
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 100
    assert ledger_statuses(org) == ["refunded"]


def test_buy_whose_commit_applied_but_reported_a_failure_keeps_the_number_it_charged(
    org: str, twilio_layer: TwilioEmulator, dynamodb_faults: DynamoDBFaults
) -> None:
    # Given DynamoDB applies the purchase's commit (record + charge) but its answer is lost
    dynamodb_faults.arm("transact_write_items", applied_answer_lost(), when=writes_table(get_settings().numbers_table))
    # When org-a buys a number
    result = buy()
    # Then the purchase stands as committed: answered, recorded, charged once, and not released at Twilio
    assert result.status == 201, result.body
    assert owned_numbers(twilio_layer) == [result.body["phoneNumber"]]
    assert [r.method for r in twilio_calls(twilio_layer) if r.method == "DELETE"] == []
    [recorded] = numbers.list_twilio_numbers(org).records
    assert recorded.phone_number_sid == result.body["phoneNumberSid"]
    assert result.headers["X-Tokens-Charged"] == "40"
    assert ledger.get_balance(org) == 60
    assert ledger_statuses(org) == ["charged"]


def test_buy_logs_the_sid_to_reconcile_when_release_fails_too(
    org: str,
    twilio_layer: TwilioEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given DynamoDB fails when the number is recorded, and Twilio fails to release it, each time it is asked
    fail_recording(monkeypatch)
    twilio_layer.inject_fault("DELETE", NUMBER_PATH, status=500, code=20500, times=retry.DEFAULT_POLICY.max_attempts)
    # When org-a buys a number
    result = buy()
    # Then still 503, the number is left at Twilio with its intent and hold, and an error names it
    assert result.status == 503
    assert ledger_statuses(org) == ["held"]
    [left_over] = twilio_layer.incoming_numbers(account_of(org))
    [failure] = [record for record in caplog.records if "COMPENSATION_FAILED" in record.getMessage()]
    assert failure.levelno == logging.ERROR
    reconcile = {key: getattr(failure, key, None) for key in ("phoneNumberSid", "phoneNumber", "orgId")}
    assert reconcile == {"phoneNumberSid": left_over["sid"], "phoneNumber": left_over["phone_number"], "orgId": org}
    # And, DynamoDB back, the reconciler records it and charges it as the purchase would have been
    monkeypatch.setattr(meter, "transact", transact)
    assert found(reconcile_now(monkeypatch)) == {"purchase_recorded_late": 1}
    assert [record.phone_number_sid for record in numbers.list_twilio_numbers(org).records] == [left_over["sid"]]
    assert ledger.get_balance(org) == 60
    assert ledger_statuses(org) == ["charged"]


# ------------------------------------------------------------------ Idempotency-Key
def test_replay_with_same_key_and_body_returns_the_first_number_uncharged(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a purchase made with an Idempotency-Key
    key = {"Idempotency-Key": "buy-1"}
    first = buy(headers=key)
    # When the client retries it with the same key and body
    second = buy(headers=key)
    # Then the same number comes back, one number is owned and 40 tokens were charged once
    assert (first.status, second.status) == (201, 201)
    assert second.body == first.body
    assert owned_numbers(twilio_layer) == [first.body["phoneNumber"]]
    assert ledger.get_balance(org) == 60
    assert ledger_statuses(org) == ["charged"]
    assert (first.headers["X-Tokens-Charged"], second.headers["X-Tokens-Charged"]) == ("40", "0")
    assert second.headers["X-Tokens-Remaining"] == "60"


def test_same_key_with_another_body_is_422_and_buys_nothing_more(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a purchase made with an Idempotency-Key
    key = {"Idempotency-Key": "buy-1"}
    first = buy(headers=key)
    # When the same key comes with another body
    second = buy(headers=key, friendlyName="Other")
    # Then 422 naming the header; still one number, charged once
    assert first.status == 201
    assert second.status == 422
    assert second.body["field"] == "Idempotency-Key"
    assert owned_numbers(twilio_layer) == [first.body["phoneNumber"]]
    assert ledger.get_balance(org) == 60


def test_the_same_key_used_by_two_orgs_buys_two_numbers(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given two orgs that happen to use the same Idempotency-Key
    open_org("org-b", 100)
    key = {"Idempotency-Key": "buy-1"}
    # When each buys a number with it
    for_a, for_b = buy("org-a", headers=key), buy("org-b", headers=key)
    # Then each got its own number and paid for it
    assert (for_a.status, for_b.status) == (201, 201)
    assert (for_a.body["orgId"], for_b.body["orgId"]) == ("org-a", "org-b")
    assert owned_numbers(twilio_layer, "org-a") == [for_a.body["phoneNumber"]]
    assert owned_numbers(twilio_layer, "org-b") == [for_b.body["phoneNumber"]]
    assert for_a.body["phoneNumber"] != for_b.body["phoneNumber"]
    assert (ledger.get_balance("org-a"), ledger.get_balance("org-b")) == (60, 60)


def test_a_key_whose_first_attempt_failed_at_twilio_is_resumed_and_charged_once(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase with an Idempotency-Key that Twilio failed (it did not say whether it sold a number)
    key = {"Idempotency-Key": "buy-1"}
    twilio_layer.inject_fault("POST", BUY_PATH, status=500, code=20500)
    assert buy(headers=key).status == 502
    # When the client retries it with the same key
    retried = buy(headers=key)
    # Then the same purchase (same tag) happens this time, paid by its first hold, charged once
    assert retried.status == 201
    assert owned_numbers(twilio_layer) == [retried.body["phoneNumber"]]
    first_try, second_try = purchase_requests(twilio_layer)
    assert first_try["FriendlyName"] == second_try["FriendlyName"] == tagged(retried.body["id"], "bought")
    assert retried.headers["X-Tokens-Charged"] == "40"
    assert ledger.get_balance(org) == 60
    assert found(reconcile_now(monkeypatch)) == {}
    assert ledger_statuses(org) == ["charged"]


def test_a_key_retried_after_twilio_sold_the_number_but_its_answer_was_lost_answers_that_number(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase with an Idempotency-Key that Twilio made, its answer lost (502)
    key = {"Idempotency-Key": "buy-1"}
    twilio_layer.inject_fault("POST", BUY_PATH, processed=True)
    assert buy(headers=key).status == 502
    [sold] = twilio_layer.incoming_numbers(account_of(org))
    # When the client retries it with the same key
    retried = buy(headers=key)
    # Then it answers with the number Twilio sold, buys nothing more, and charges once, even once reconciled
    assert retried.status == 201
    assert retried.body["phoneNumberSid"] == sold["sid"]
    assert owned_numbers(twilio_layer) == [sold["phone_number"]]
    assert len(purchase_requests(twilio_layer)) == 1
    assert found(reconcile_now(monkeypatch)) == {}
    assert ledger.get_balance(org) == 60
    assert ledger_statuses(org) == ["charged"]


def test_a_key_retried_after_the_reconciler_recorded_its_purchase_replays_it_uncharged(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase with an Idempotency-Key whose answer was lost, which the reconciler then recorded and charged
    key = {"Idempotency-Key": "buy-1"}
    twilio_layer.inject_fault("POST", BUY_PATH, processed=True)
    assert buy(headers=key).status == 502
    assert found(reconcile_now(monkeypatch)) == {"purchase_recorded_late": 1}
    # When the client retries it with the same key
    retried = buy(headers=key)
    # Then it answers with that number, uncharged: one number, 40 tokens in all
    assert retried.status == 201
    [recorded] = numbers.list_twilio_numbers(org).records
    assert retried.body["id"] == recorded.id
    assert retried.headers["X-Tokens-Charged"] == "0"
    assert len(owned_numbers(twilio_layer)) == 1
    assert ledger.get_balance(org) == 60


def test_a_key_whose_purchase_is_under_way_is_409_in_progress_with_retry_after(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase with an Idempotency-Key, and the same request arriving while Twilio is being asked
    key = {"Idempotency-Key": "buy-1"}
    meanwhile: list[HttpResult] = []
    real_buy = gateway.buy_number

    def buy_while_retried(*args: Any, **kwargs: Any) -> Any:
        meanwhile.append(buy(headers=key))
        return real_buy(*args, **kwargs)

    monkeypatch.setattr(gateway, "buy_number", buy_while_retried)
    # When the first one completes
    first = buy(headers=key)
    # Then the one in between was told to come back later, and the purchase was made and charged once
    [during] = meanwhile
    assert (during.status, during.body["error"]) == (409, "in_progress")
    assert int(during.headers["Retry-After"]) > 0
    assert first.status == 201
    assert len(owned_numbers(twilio_layer)) == 1
    assert ledger.get_balance(org) == 60


# ------------------------------------------------------------------ GetTwilioPhoneNumberByOrg
def test_list_by_org_returns_the_orgs_active_numbers_newest_first(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a bought two numbers and org-b one
    top_up(org, 100)
    open_org("org-b", 100)
    older, newer = bought(), bought()
    bought("org-b")
    # When org-a lists its Twilio numbers
    result = call("get_twilio_numbers_by_org", org=org)
    # Then it sees its own two, newest first, as bought, and pays 5
    assert result.status == 200
    assert result.body == [newer, older]
    assert ledger.get_balance(org) == 200 - 80 - 5


def test_list_by_org_leaves_out_released_numbers(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given two numbers of org-a, one of them released
    top_up(org, 100)
    kept, released = bought(), bought()
    assert delete(released["id"]).status == 200
    # When org-a lists its Twilio numbers
    # Then only the kept one is there
    assert listed_by_org() == [kept]


# ------------------------------------------------------------------ GetTwilioPhoneNumberByClientPhoneNumber
@pytest.mark.parametrize("raw", ["06 12 34 56 78", "+33612345678"], ids=["national", "e164"])
def test_lookup_by_client_phone_finds_the_linked_number(org: str, twilio_layer: TwilioEmulator, raw: str) -> None:
    # Given a Twilio number of org-a linked to its client phone +33612345678
    add_client_phone()
    number = bought(clientPhoneNumber=CLIENT_PHONE)
    # When org-a looks the client phone up (URL-encoded in the path)
    result = by_client_phone(raw)
    # Then it gets the InboundClientNumber, for 5 tokens
    assert result.status == 200
    assert result.body == {
        "clientPhoneNumber": CLIENT_PHONE,
        "twilioNumber": number["phoneNumber"],
        "phoneNumberSid": number["phoneNumberSid"],
        "orgId": "org-a",
        "id": number["id"],
    }
    assert result.headers["X-Tokens-Charged"] == "5"
    assert ledger.get_balance(org) == 55


def test_lookup_of_a_client_phone_without_linked_number_is_404_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a client phone of org-a and a Twilio number not linked to it
    add_client_phone()
    bought()
    # When org-a looks the client phone up
    result = by_client_phone(CLIENT_PHONE)
    # Then 404, and only the purchase was charged
    assert result.status == 404
    assert result.body["error"] == "not_found"
    assert ledger.get_balance(org) == 60


def test_lookup_does_not_find_another_orgs_link(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-b linked a number to +33612345678
    open_org("org-b", 100)
    add_client_phone("org-b")
    bought("org-b", clientPhoneNumber=CLIENT_PHONE)
    # When org-a looks that phone up
    # Then it is not found
    assert by_client_phone(CLIENT_PHONE).status == 404


def test_lookup_of_an_unparseable_phone_is_422_naming_it(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a path parameter that is no phone number
    # When org-a looks it up
    result = by_client_phone("not-a-phone")
    # Then 422 names clientPhoneNumber, and nothing is charged
    assert result.status == 422
    assert result.body["field"] == "clientPhoneNumber"
    assert ledger.get_balance(org) == 100


# ------------------------------------------------------------------ updatePhoneNumber
def test_update_renames_and_reroutes_at_twilio_and_in_the_table(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When org-a changes its friendly name and voice URL
    result = update(number["id"], {"friendlyName": "Sales", "voiceUrl": "https://voice.robotappel.com/twilio/sales"})
    # Then the TwilioNumber says so, Twilio and the table too, and 5 tokens are charged
    assert result.status == 200
    assert result.body == number | {"friendlyName": "Sales", "voiceUrl": "https://voice.robotappel.com/twilio/sales"}
    [owned] = twilio_layer.incoming_numbers(account_of(org))
    assert (owned["friendly_name"], owned["voice_url"]) == (
        tagged(number["id"], "Sales"),
        "https://voice.robotappel.com/twilio/sales",
    )
    assert listed_by_org() == [result.body]
    assert result.headers["X-Tokens-Charged"] == "5"
    assert ledger.get_balance(org) == 100 - 40 - 5 - 5


def test_two_updates_racing_leave_the_record_and_twilio_with_the_later_one(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number, and a second update that runs whole while the first one's Twilio change is made
    number = bought()
    first = {"friendlyName": "First", "voiceUrl": "https://voice.robotappel.com/twilio/first"}
    second = {"friendlyName": "Second", "voiceUrl": "https://voice.robotappel.com/twilio/second"}
    real_update = gateway.update_number
    meanwhile: list[HttpResult] = []

    def second_update_meanwhile(*args: Any, **kwargs: Any) -> Any:
        changed = real_update(*args, **kwargs)
        if kwargs.get("friendly_name") == tagged(number["id"], "First") and not meanwhile:
            monkeypatch.setattr(gateway, "update_number", real_update)
            meanwhile.append(update(number["id"], second))
        return changed

    monkeypatch.setattr(gateway, "update_number", second_update_meanwhile)
    # When the first update commits after the second did
    result = update(number["id"], first)
    # Then neither was lost silently: the first applied on top of the second, at Twilio and in the table alike
    assert (meanwhile[0].status, result.status) == (200, 200), result.body
    [owned] = twilio_layer.incoming_numbers(account_of(org))
    [listed] = listed_by_org()
    assert (owned["friendly_name"], owned["voice_url"]) == (tagged(number["id"], "First"), first["voiceUrl"])
    assert (listed["friendlyName"], listed["voiceUrl"]) == ("First", first["voiceUrl"])
    assert result.body == listed


def test_unlinking_a_number_that_has_no_link_is_a_charged_no_op(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number linked to nothing
    number = bought()
    # When org-a unlinks it (what Swagger UI's "unlink" example sends)
    result = update(number["id"], {"clientPhoneNumber": ""})
    # Then the call succeeds (it was a 500: an empty update expression), changes nothing and is charged
    assert result.status == 200, result.body
    assert result.body["clientPhoneNumber"] is None
    assert result.body["friendlyName"] == number["friendlyName"]
    assert ledger.get_balance(org) == 100 - 40 - 5


def test_update_links_then_unlinks_a_client_phone_without_calling_twilio(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a bought number and a client phone of org-a
    number = bought()
    add_client_phone()
    requests_before = len(twilio_calls(twilio_layer))
    # When org-a links them
    linked = update(number["id"], {"clientPhoneNumber": "06 12 34 56 78"})
    # Then the number is linked and found by the client phone
    assert linked.status == 200
    assert linked.body["clientPhoneNumber"] == CLIENT_PHONE
    assert by_client_phone(CLIENT_PHONE).body["id"] == number["id"]
    # When org-a unlinks them ("")
    unlinked = update(number["id"], {"clientPhoneNumber": ""})
    # Then the link is gone, in the table too; Twilio was not involved
    assert unlinked.status == 200
    assert unlinked.body["clientPhoneNumber"] is None
    assert by_client_phone(CLIENT_PHONE).status == 404
    record = numbers.get_number(org, number["id"])
    assert isinstance(record, numbers.TwilioNumberRecord)
    assert record.client_phone_number is None
    assert len(twilio_calls(twilio_layer)) == requests_before
    assert ledger.get_balance(org) == 100 - 40 - 5 - 5 - 5


def test_update_linking_an_unknown_client_phone_is_422_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number and no client phone
    number = bought()
    # When org-a links it to a phone that is not one of its client phones
    result = update(number["id"], {"clientPhoneNumber": CLIENT_PHONE})
    # Then 422 names clientPhoneNumber; nothing charged
    assert result.status == 422
    assert result.body["field"] == "clientPhoneNumber"
    assert ledger.get_balance(org) == 60


def test_update_linking_a_client_phone_deleted_meanwhile_is_422_and_keeps_the_number(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number, and a client phone deleted right after the update checked it
    number = bought()
    client_phone_deleted_right_after_its_check(monkeypatch, add_client_phone())
    # When org-a renames the number and links it to that phone
    result = update(number["id"], {"friendlyName": "Sales", "clientPhoneNumber": CLIENT_PHONE})
    # Then 422 names clientPhoneNumber, the number is unchanged, at Twilio too, and the update is not charged
    assert result.status == 422
    assert result.body["field"] == "clientPhoneNumber"
    record = numbers.get_number(org, number["id"])
    assert isinstance(record, numbers.TwilioNumberRecord)
    assert record.client_phone_number is None
    assert record.friendly_name == number["friendlyName"]
    [at_twilio] = twilio_layer.incoming_numbers(account_of(org))
    assert at_twilio["friendly_name"] == tagged(number["id"], number["friendlyName"])
    assert ledger.get_balance(org) == 60


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({"clientPhoneNumber": "not a number"}, {"clientPhoneNumber"}),
        ({"clientPhoneNumber": 33612345678}, {"clientPhoneNumber"}),
        ({"voiceUrl": "ftp://voice.example.test", "friendlyName": ""}, {"voiceUrl", "friendlyName"}),
    ],
    ids=["garbage-phone", "phone-as-number", "two-fields"],
)
def test_update_with_an_invalid_field_names_it_as_the_client_wrote_it(
    org: str, twilio_layer: TwilioEmulator, body: dict[str, Any], problems: set[str]
) -> None:
    # Given a field whose type is a union (an E.164 number, "" to unlink, or null)
    # When org-a sends an update with invalid values
    result = update("tn_x", body)
    # Then each problem names the field by its JSON key, not by the validator that refused it
    assert result.status == 422
    assert result.body["field"] in problems
    assert {problem["field"] for problem in result.body["problems"]} == problems


def test_update_with_an_empty_body_is_422_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When org-a sends an update that changes nothing
    result = update(number["id"], {})
    # Then 422, nothing charged, Twilio not called again
    assert result.status == 422
    assert result.body["error"] == "validation_error"
    assert ledger.get_balance(org) == 60
    assert len(purchase_requests(twilio_layer)) == 1
    assert len(twilio_calls(twilio_layer)) == 2  # the search and the purchase


def test_update_of_another_orgs_number_is_404_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a number of org-b
    open_org("org-b", 100)
    theirs = bought("org-b")
    # When org-a renames it
    result = update(theirs["id"], {"friendlyName": "Mine now"})
    # Then 404, nothing charged, the number unchanged
    assert result.status == 404
    assert result.body["error"] == "not_found"
    assert ledger.get_balance(org) == 100
    assert listed_by_org("org-b") == [theirs]


def test_update_when_twilio_fails_is_502_free_and_changes_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number, and Twilio failing the next update
    number = bought()
    twilio_layer.inject_fault("POST", NUMBER_PATH, status=500, code=20500)
    # When org-a renames it
    result = update(number["id"], {"friendlyName": "Sales"})
    # Then 502 with Twilio's code, nothing charged, the record unchanged
    assert result.status == 502
    assert result.body["error"] == "twilio_error"
    assert result.body["twilioCode"] == 20500
    assert ledger.get_balance(org) == 60
    assert listed_by_org() == [number]


def test_update_restores_twilio_when_recording_fails(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bought number, and DynamoDB failing when the update is recorded
    number = bought()
    fail_recording(monkeypatch)
    # When org-a renames it
    result = update(number["id"], {"friendlyName": "Sales", "voiceUrl": "https://voice.robotappel.com/twilio/sales"})
    # Then 503, Twilio has the old values back, and nothing is charged
    assert result.status == 503
    [owned] = twilio_layer.incoming_numbers(account_of(org))
    assert (owned["friendly_name"], owned["voice_url"]) == (
        tagged(number["id"], number["friendlyName"]),
        number["voiceUrl"],
    )
    assert ledger.get_balance(org) == 60


def test_update_of_a_released_number_is_404_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a number org-a deleted
    number = bought()
    delete(number["id"])
    # When org-a renames it
    result = update(number["id"], {"friendlyName": "Sales"})
    # Then 404, and only the purchase and the delete were charged
    assert result.status == 404
    assert ledger.get_balance(org) == 55


# ------------------------------------------------------------------ deletePhoneNumber (Twilio number)
def test_delete_releases_the_number_and_keeps_a_tombstone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When org-a deletes it
    result = delete(number["id"])
    # Then 200 with the three strings, the number released at Twilio, and 5 tokens charged
    assert result.status == 200
    assert result.body == {
        "phoneNumber": number["phoneNumber"],
        "twillioResponse": f"number {number['phoneNumberSid']} released",
        "dbResponse": f"twilio number {number['id']} marked released",
    }
    assert owned_numbers(twilio_layer) == []
    assert ledger.get_balance(org) == 55
    # And the record is kept as a tombstone, marked released, out of the live numbers' key range
    assert numbers.get_number(org, number["id"]) is None
    tombstone = stored_tombstone(org, number["id"])
    assert tombstone["status"] == "released"
    assert tombstone["releasedAt"]
    assert "clientPhoneNumber" not in tombstone


def test_deleted_number_is_gone_from_both_lists(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a deleted number
    number = bought()
    delete(number["id"])
    # When org-a lists its numbers both ways
    # Then it is in neither list
    assert listed_by_org() == []
    assert call("get_org_phone_number_list", org=org, path_params={"orgId": org}).body == []


def test_delete_of_a_number_already_released_at_twilio_is_200(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a number Twilio no longer has (released outside the API)
    number = bought()
    assert gateway.release_number(account_of(org), number["phoneNumberSid"])
    # When org-a deletes it
    result = delete(number["id"])
    # Then 200, saying it was already released, and it is marked released
    assert result.status == 200
    assert result.body["twillioResponse"] == f"number {number['phoneNumberSid']} was already released"
    assert stored_tombstone(org, number["id"])["status"] == "released"
    assert ledger.get_balance(org) == 55


def test_delete_twice_is_404_the_second_time_and_charged_once(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a deleted number
    number = bought()
    delete(number["id"])
    # When org-a deletes it again
    result = delete(number["id"])
    # Then 404, and only the first delete was charged
    assert result.status == 404
    assert ledger.get_balance(org) == 55


def test_delete_of_another_orgs_number_is_404_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a number of org-b
    open_org("org-b", 100)
    theirs = bought("org-b")
    # When org-a deletes it
    result = delete(theirs["id"])
    # Then 404, nothing charged, org-b still owns it
    assert result.status == 404
    assert result.body["error"] == "not_found"
    assert ledger.get_balance(org) == 100
    assert owned_numbers(twilio_layer, "org-b") == [theirs["phoneNumber"]]


def test_deleting_a_client_phone_unlinks_the_twilio_number_linked_to_it(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a Twilio number linked to a client phone
    phone_id = add_client_phone()
    number = bought(countryCode="US", clientPhoneNumber=CLIENT_PHONE)
    # When the client phone is deleted
    assert delete(phone_id).status == 200
    # Then no lookup finds the number through the deleted phone, and the number no longer carries the link
    lookup = call("get_twilio_number_by_client_phone", org=org, path_params={"clientPhoneNumber": CLIENT_PHONE})
    assert lookup.status == 404
    [listed] = listed_by_org()
    assert listed["id"] == number["id"]
    assert listed["clientPhoneNumber"] is None


def test_an_in_flight_purchase_holds_its_key_only_until_the_invocation_deadline(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase with an Idempotency-Key, observed while Twilio is being asked
    seen: list[dict[str, Any]] = []
    real_buy = gateway.buy_number

    def observing_buy(*args: Any, **kwargs: Any) -> Any:
        with made_by_the_test():
            table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().idempotency_table)
            seen.extend(table.scan()["Items"])
        return real_buy(*args, **kwargs)

    monkeypatch.setattr(gateway, "buy_number", observing_buy)
    # When it runs
    started = time.time()
    assert buy(headers={"Idempotency-Key": "deadline-key"}).status == 201
    # Then its lease on the key ends with the invocation (a timed-out purchase does not block the key)
    [record] = seen
    assert started < float(record["leaseUntil"]) <= started + timeout_of("buy_twilio_number") + 1
