"""Client phones (addClientPhone, validationStatus, getAllClientPhoneNumbers, deletePhoneNumber) against moto
and the Twilio emulator."""

from datetime import UTC, datetime, timedelta

import pytest
from twilio.request_validator import RequestValidator

from local.twilio_emulator import TwilioEmulator, resources
from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import transact
from robotappel.errors import ServiceUnavailable
from robotappel.numbers.verification import VERIFICATION_WINDOW
from robotappel.twilio import gateway
from robotappel.twilio.gateway import ValidationRequest
from robotappel.twilio.tags import tagged
from tests.fixtures.aws import VALIDATION_STATUS_URL, ledger_entries, open_org
from tests.fixtures.lambdas import HttpResult, call, call_webhook
from tests.fixtures.twilio import org_account, verified_caller_id_sid
from tests.iam.calls import made_by_the_test

CALLBACK_URL = VALIDATION_STATUS_URL


def add(org: str = "org-a", phone: str = "06 12 34 56 78", **extra: str) -> HttpResult:
    return call("add_client_phone", org=org, body={"phoneNumber": phone, **extra})


def verification_callback(emulator: TwilioEmulator, params: dict[str, str], signature: str | None = None) -> HttpResult:
    """Signed as Twilio signs it: with the auth token of the account it names."""
    auth_token = emulator.account(params["AccountSid"])["auth_token"]
    return call_webhook("validation_status_webhook", CALLBACK_URL, auth_token, params, signature)


def pending_record(org: str) -> numbers.ClientPhoneRecord:
    [record] = numbers.list_client_phones(org).records
    return record


def success_params(emulator: TwilioEmulator, record: numbers.ClientPhoneRecord) -> dict[str, str]:
    """What the org's subaccount posts when the person typed the code (the emulator's own callback cannot reach the
    test URL)."""
    account_sid = org_account(emulator, record.org_id)["sid"]
    return {
        "AccountSid": account_sid,
        "CallSid": str(record.validation_call_sid),
        "To": record.phone_number,
        "VerificationStatus": "success",
        "OutgoingCallerIdSid": verified_caller_id_sid(emulator, record.phone_number, account_sid),
    }


def caller_id_sids(emulator: TwilioEmulator, org: str) -> list[str]:
    """The caller IDs in the org's subaccount."""
    return [caller_id["sid"] for caller_id in emulator.caller_ids(org_account(emulator, org)["sid"])]


# ------------------------------------------------------------------ addClientPhone
def test_add_registers_the_number_in_e164_as_pending_and_charges_10(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a with 100 tokens
    # When it adds a French number in national format
    result = add(friendlyName="Front desk")
    # Then 201 with the E.164 number, Twilio's 6-digit code, an id and the pending status
    assert result.status == 201
    assert set(result.body) == {"id", "phoneNumber", "validationCode", "status"}
    assert result.body["phoneNumber"] == "+33612345678"
    assert result.body["status"] == "pending"
    assert len(result.body["validationCode"]) == 6
    # And Twilio was asked to call it back to our webhook, naming the record, and 10 tokens were charged
    [request] = [r for r in twilio_layer.requests_log if r.path.endswith("/OutgoingCallerIds.json")]
    assert request.form["StatusCallback"] == f"{CALLBACK_URL}/{result.body['id']}"
    assert ledger.get_balance(org) == 90
    assert result.headers["X-Tokens-Charged"] == "10"
    assert [e["status"] for e in ledger_entries(org)] == ["charged"]


def test_add_invalid_number_is_422_naming_the_field_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    requests_before = len(twilio_layer.requests_log)
    result = add(phone="12")
    assert result.status == 422
    assert result.body["error"] == "validation_error"
    assert result.body["field"] == "phoneNumber"
    assert ledger.get_balance(org) == 100
    assert twilio_layer.requests_log[requests_before:] == []


def test_add_same_number_twice_is_409_and_charged_once(org: str, twilio_layer: TwilioEmulator) -> None:
    add()
    result = add(phone="+33612345678")
    assert result.status == 409
    assert result.body["error"] == "already_exists"
    assert ledger.get_balance(org) == 90


def test_add_that_twilio_refuses_stores_and_charges_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given Twilio refuses the validation request (400, 21421: it did nothing)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=400, code=21421)
    # When the org adds a number
    result = add()
    # Then Twilio's refusal is the answer, the record written ahead is gone again and the hold refunded
    assert (result.status, result.body["field"]) == (422, "phoneNumber")
    assert numbers.list_numbers(org).records == []
    assert add().status == 201  # nor is the guard left behind
    assert sorted(e["status"] for e in ledger_entries(org)) == ["charged", "refunded"]


def test_add_when_twilio_fails_keeps_the_pending_record_and_its_hold(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given Twilio answers 500 to the validation request (it may have acted all the same)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    # When the org adds a number
    result = add()
    # Then 502 with Twilio's code, and nothing charged
    assert result.status == 502
    assert result.body["twilioCode"] == 20500
    assert [e["status"] for e in ledger_entries(org)] == ["held"]
    # And the record written ahead stays pending with its open hold, for the callback or the reconciler
    record = pending_record(org)
    assert (record.status, record.open_work, record.validation_call_sid) == ("pending", "verification", None)
    assert record.hold is not None
    assert record.hold.entry_id == ledger_entries(org)[0]["entryId"]
    assert ledger.get_balance(org) == 90


def test_add_writes_the_record_before_twilio_is_asked_and_tags_the_request_with_its_id(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a Twilio whose answer to the validation request is lost (a dropped connection)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", drop_connection=True)
    # When the org adds a number
    add(friendlyName="Front desk")
    # Then the request Twilio got names the record the add wrote before asking
    [request] = [r for r in twilio_layer.requests_log if r.path.endswith("/OutgoingCallerIds.json")]
    assert request.form["FriendlyName"] == tagged(pending_record(org).id, "Front desk")


def test_add_records_twilios_call_sid_and_settles_its_hold(org: str, twilio_layer: TwilioEmulator) -> None:
    # When the org adds a number and Twilio answers
    add()
    # Then the record holds Twilio's CallSid, no hold any more, and is still open work until verified
    [request] = [r for r in twilio_layer.requests_log if r.path.endswith("/OutgoingCallerIds.json")]
    record = pending_record(org)
    assert record.validation_call_sid == request.response_json["call_sid"]
    assert record.hold is None
    assert record.open_work == "verification"


def test_add_with_a_short_balance_is_402_before_calling_twilio(
    aws: dict[str, str], twilio_layer: TwilioEmulator
) -> None:
    open_org("org-poor", 9)
    requests_before = len(twilio_layer.requests_log)
    result = add(org="org-poor")
    assert result.status == 402
    assert result.body == {
        "error": "insufficient_tokens",
        "message": "This call costs 10 tokens and the balance is 9.",
        "required": 10,
        "balance": 9,
    }
    assert twilio_layer.requests_log[requests_before:] == []


def failed_verification(emulator: TwilioEmulator, org: str) -> numbers.ClientPhoneRecord:
    """The org's pending phone failed: the person never typed the code (Twilio keeps no caller ID)."""
    record = pending_record(org)
    params = {
        "AccountSid": org_account(emulator, org)["sid"],
        "CallSid": str(record.validation_call_sid),
        "To": record.phone_number,
        "VerificationStatus": "failed",
    }
    assert verification_callback(emulator, params).status == 200
    return pending_record(org)


def test_a_failed_phone_added_again_restarts_its_verification_and_costs_an_add(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone whose verification failed
    add(phone="+33612340000")
    failed = failed_verification(twilio_layer, org)
    assert failed.status == "failed"
    # When the org adds it again
    result = add(phone="+33612340000")
    # Then Twilio is asked to call it again, on the same record, pending with the new CallSid, for 10 more tokens
    assert (result.status, result.body["id"], result.body["status"]) == (201, failed.id, "pending")
    restarted = pending_record(org)
    assert restarted.status == "pending"
    assert restarted.validation_call_sid not in (None, failed.validation_call_sid)
    assert [e["status"] for e in ledger_entries(org)] == ["charged", "charged"]
    assert ledger.get_balance(org) == 80


def test_a_phone_pending_past_the_verification_window_may_be_added_again(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone pending for longer than the verification window (Twilio never verified it)
    add(phone="+33612340000")
    item = pending_record(org)
    old = (datetime.now(UTC) - VERIFICATION_WINDOW - timedelta(minutes=1)).isoformat()
    transact([numbers.save_number(item, item.model_copy(update={"created_at": old}))])
    # When the org adds it again
    result = add(phone="+33612340000")
    # Then its verification restarts on the same record, for 10 more tokens
    assert (result.status, result.body["id"]) == (201, item.id)
    assert pending_record(org).created_at > old
    assert ledger.get_balance(org) == 80


def test_a_verified_phone_added_again_is_409(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a verified phone
    add()
    verification_callback(twilio_layer, success_params(twilio_layer, pending_record(org)))
    # When the org adds it again
    result = add()
    # Then 409 already_exists, nothing charged
    assert (result.status, result.body["error"]) == (409, "already_exists")
    assert ledger.get_balance(org) == 90


# ------------------------------------------------------------------ validationStatus webhook
def test_signed_success_callback_verifies_the_phone(org: str, twilio_layer: TwilioEmulator) -> None:
    add()
    item = pending_record(org)
    result = verification_callback(twilio_layer, success_params(twilio_layer, item))
    assert result.status == 200
    [listed] = call("get_all_client_phone_numbers", org=org).body
    assert listed["status"] == "verified"
    assert listed["verifiedAt"]


def test_a_settled_callback_takes_the_phone_out_of_the_open_work(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a pending phone, open work for the reconciler until settled
    add()
    assert pending_record(org).open_work == "verification"
    # When its verification callback arrives
    verification_callback(twilio_layer, success_params(twilio_layer, pending_record(org)))
    # Then it is no longer open work
    assert pending_record(org).open_work is None


def test_failed_callback_marks_the_phone_failed(org: str, twilio_layer: TwilioEmulator) -> None:
    add()
    params = success_params(twilio_layer, pending_record(org)) | {"VerificationStatus": "failed"}
    verification_callback(twilio_layer, params)
    assert pending_record(org).status == "failed"


def test_repeated_callback_changes_nothing_more(org: str, twilio_layer: TwilioEmulator) -> None:
    add()
    params = success_params(twilio_layer, pending_record(org))
    verification_callback(twilio_layer, params)
    first = pending_record(org)
    # When Twilio delivers the same callback again, then a contradicting one
    assert verification_callback(twilio_layer, params).status == 200
    verification_callback(twilio_layer, params | {"VerificationStatus": "failed"})
    # Then the record is as the first delivery left it
    assert pending_record(org) == first


def test_a_callback_before_the_add_recorded_twilios_answer_verifies_the_phone(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Twilio verifies the phone and its callback arrives while the add is between Twilio's answer and its
    # commit (the CallSid not recorded yet)
    real_request = gateway.request_caller_id_validation
    delivered: list[dict[str, str]] = []

    def answered_after_the_callback(
        account: str, phone: str, friendly_name: str, status_callback: str
    ) -> ValidationRequest:
        validation = real_request(account, phone, friendly_name, status_callback)
        params = {
            "AccountSid": account,
            "CallSid": validation.call_sid,
            "To": phone,
            "VerificationStatus": "success",
            "OutgoingCallerIdSid": verified_caller_id_sid(twilio_layer, phone, account),
        }
        auth_token = twilio_layer.account(account)["auth_token"]
        callback = call_webhook("validation_status_webhook", status_callback, auth_token, params)
        assert callback.status == 200
        delivered.append(params)
        return validation

    monkeypatch.setattr(gateway, "request_caller_id_validation", answered_after_the_callback)
    # When the org adds the phone
    result = add()
    # Then the add succeeds, the phone is verified with its caller ID and CallSid, and 10 tokens are charged once
    assert result.status == 201
    [params] = delivered
    record = pending_record(org)
    assert (record.status, record.caller_id_sid) == ("verified", params["OutgoingCallerIdSid"])
    assert (record.validation_call_sid, record.hold) == (params["CallSid"], None)
    assert [e["status"] for e in ledger_entries(org)] == ["charged"]


@pytest.mark.parametrize("signature", ["", "forged-signature="])
def test_callback_without_a_valid_signature_is_403_and_changes_nothing(
    org: str, twilio_layer: TwilioEmulator, signature: str
) -> None:
    add()
    result = verification_callback(twilio_layer, success_params(twilio_layer, pending_record(org)), signature)
    assert result.status == 403
    assert result.body["error"] == "forbidden"
    assert pending_record(org).status == "pending"


def test_callback_signed_for_other_params_is_403(org: str, twilio_layer: TwilioEmulator) -> None:
    add()
    params = success_params(twilio_layer, pending_record(org))
    signed_for_failure = RequestValidator(org_account(twilio_layer, org)["auth_token"]).compute_signature(
        CALLBACK_URL, params | {"VerificationStatus": "failed"}
    )
    assert verification_callback(twilio_layer, params, signed_for_failure).status == 403


# ------------------------------------------------------------------ getAllClientPhoneNumbers
def test_list_returns_the_orgs_phones_newest_first(org: str, twilio_layer: TwilioEmulator) -> None:
    add(phone="+33612345678")
    add(phone="+33612345679")
    result = call("get_all_client_phone_numbers", org=org)
    assert [p["phoneNumber"] for p in result.body] == ["+33612345679", "+33612345678"]
    assert set(result.body[0]) == {
        "id",
        "orgId",
        "phoneNumber",
        "friendlyName",
        "status",
        "createdAt",
        "verifiedAt",
        "automatedCalling",
        "automatedCallingRule",
    }


def test_listing_never_calls_twilio_even_for_a_stale_pending_phone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a pending phone an hour old that Twilio verified, its callback lost
    add()
    item = pending_record(org)
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    transact([numbers.save_number(item, item.model_copy(update={"created_at": old}))])
    verified_caller_id_sid(twilio_layer, "+33612345678")
    requests_before = len(twilio_layer.requests_log)
    # When the org lists its phones
    [listed] = call("get_all_client_phone_numbers", org=org).body
    # Then the list shows what is recorded (the reconciler settles it), without asking Twilio
    assert listed["status"] == "pending"
    assert len(twilio_layer.requests_log) == requests_before


# ------------------------------------------------------------------ deletePhoneNumber (client phone)
def test_delete_removes_caller_id_and_record_and_charges_5(org: str, twilio_layer: TwilioEmulator) -> None:
    created = add().body
    verification_callback(twilio_layer, success_params(twilio_layer, pending_record(org)))
    result = call("delete_phone_number", org=org, path_params={"id": created["id"]})
    assert result.status == 200
    assert set(result.body) == {"phoneNumber", "twillioResponse", "dbResponse"}
    assert result.body["phoneNumber"] == "+33612345678"
    assert all(isinstance(value, str) for value in result.body.values())
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 85
    # And the number can be registered again
    assert add().status == 201


def test_deleting_a_phone_whose_add_lost_twilios_answer_refunds_the_adds_hold(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone whose add never got Twilio's answer: pending, with the add's open hold
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    add()
    # When the org deletes it
    result = call("delete_phone_number", org=org, path_params={"id": pending_record(org).id})
    # Then the delete costs 5, and the add's 10 come back
    assert result.status == 200
    assert sorted((e["tokens"], e["status"]) for e in ledger_entries(org)) == [(5, "charged"), (10, "refunded")]
    assert ledger.get_balance(org) == 95


def test_a_delete_whose_twilio_answer_was_lost_deletes_the_phone(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a verified phone, and Twilio deleting its caller ID but the answer lost
    created = add().body
    verification_callback(twilio_layer, success_params(twilio_layer, pending_record(org)))
    twilio_layer.inject_fault(method="DELETE", path_pattern=r"OutgoingCallerIds/\w+\.json$", processed=True)
    # When the org deletes the phone
    result = call("delete_phone_number", org=org, path_params={"id": created["id"]})
    # Then the deletion, sent again, finds the caller ID gone: the record goes with it, and the delete is charged
    # (a 502 would leave the phone verified without its caller ID until the client tried again)
    assert result.status == 200, result.body
    assert "already deleted" in result.body["twillioResponse"]
    assert numbers.list_numbers(org).records == []
    assert twilio_layer.every_caller_id() == []
    assert ledger.get_balance(org) == 85


def test_a_phone_deleted_while_it_is_being_added_is_a_409_and_only_the_delete_is_charged(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the org deletes its phone while the add waits for Twilio's answer
    real_request = gateway.request_caller_id_validation
    deleted: list[int] = []

    def deleted_meanwhile(account: str, phone: str, friendly_name: str, status_callback: str) -> ValidationRequest:
        validation = real_request(account, phone, friendly_name, status_callback)
        with made_by_the_test():
            number_id = pending_record(org).id
        deleted.append(call("delete_phone_number", org=org, path_params={"id": number_id}).status)
        return validation

    monkeypatch.setattr(gateway, "request_caller_id_validation", deleted_meanwhile)
    # When the add gets Twilio's answer
    result = add()
    # Then it answers 409, the phone stays deleted, and only the delete's 5 tokens are charged
    assert (deleted, result.status, result.body["error"]) == ([200], 409, "deleted")
    assert numbers.list_numbers(org).records == []
    assert sorted((e["tokens"], e["status"]) for e in ledger_entries(org)) == [(5, "charged"), (10, "refunded")]


def test_deleting_a_phone_without_its_caller_id_never_deletes_another_orgs_caller_id_of_that_number(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a's phone whose add never got Twilio's answer (its record knows no caller ID)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    add()
    # And org-b, which verified the same number
    open_org("org-b", 100)
    add("org-b")
    verification_callback(twilio_layer, success_params(twilio_layer, pending_record("org-b")))
    [caller_id_of_b] = twilio_layer.every_caller_id()
    # When org-a deletes its phone
    result = call("delete_phone_number", org=org, path_params={"id": pending_record(org).id})
    # Then org-a's phone is gone, and org-b's caller ID is still at Twilio, its phone still verified
    assert result.status == 200, result.body
    assert numbers.list_client_phones(org).records == []
    assert twilio_layer.every_caller_id() == [caller_id_of_b]
    assert pending_record("org-b").status == "verified"


def test_deleting_a_phone_without_its_caller_id_never_deletes_a_caller_id_made_at_the_console(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a's phone whose add never got Twilio's answer, and a caller ID of that number made by hand (untagged)
    twilio_layer.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", status=500, code=20500)
    add()
    account_sid = org_account(twilio_layer, org)["sid"]
    by_hand = resources.caller_id(account_sid, "+33612345678", "Reception, verified in the console")
    twilio_layer.api.caller_ids[by_hand["sid"]] = by_hand
    # When org-a deletes its phone
    result = call("delete_phone_number", org=org, path_params={"id": pending_record(org).id})
    # Then the caller ID made by hand is left alone
    assert result.status == 200, result.body
    assert caller_id_sids(twilio_layer, org) == [by_hand["sid"]]


def test_delete_of_another_orgs_phone_is_404_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    created = add().body
    open_org("org-b", 50)
    result = call("delete_phone_number", org="org-b", path_params={"id": created["id"]})
    assert result.status == 404
    assert ledger.get_balance("org-b") == 50
    assert len(numbers.list_numbers(org).records) == 1


def test_delete_when_twilio_fails_keeps_the_record_and_charges_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    created = add().body
    twilio_layer.inject_fault(method="GET", path_pattern=r"OutgoingCallerIds\.json$", status=503, code=20503)
    result = call("delete_phone_number", org=org, path_params={"id": created["id"]})
    assert result.status == 502
    assert len(numbers.list_numbers(org).records) == 1
    assert ledger.get_balance(org) == 90


def test_verification_nobody_recorded_deletes_the_caller_id_again(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given Twilio verified a phone the org did not record (deleted while Twilio called it)
    account_sid = org_account(twilio_layer, org)["sid"]
    request = gateway.request_caller_id_validation(account_sid, "+33612345678", "orphan", CALLBACK_URL)
    caller_id_sid = verified_caller_id_sid(twilio_layer, "+33612345678", account_sid)
    params = {
        "AccountSid": account_sid,
        "CallSid": request.call_sid,
        "To": "+33612345678",
        "VerificationStatus": "success",
        "OutgoingCallerIdSid": caller_id_sid,
    }
    # When its verification callback arrives
    assert verification_callback(twilio_layer, params).status == 200
    # Then the caller ID nobody may use is deleted at Twilio
    assert caller_id_sid not in caller_id_sids(twilio_layer, org)


def test_verification_of_a_phone_another_org_has_keeps_its_caller_id(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a's verified phone, and a stray callback for the same phone with an unknown CallSid
    add()
    params = success_params(twilio_layer, pending_record(org))
    verification_callback(twilio_layer, params)
    # When the stray callback arrives
    verification_callback(twilio_layer, params | {"CallSid": "CA" + "9" * 32})
    # Then org-a's caller ID is untouched
    assert params["OutgoingCallerIdSid"] in caller_id_sids(twilio_layer, org)


def test_delete_reads_everything_before_twilio_acts(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified phone, and DynamoDB failing the lookup of a Twilio number linked to it
    created = add().body
    params = success_params(twilio_layer, pending_record(org))
    verification_callback(twilio_layer, params)

    def unavailable(*_: object) -> None:
        raise ServiceUnavailable("The database is busy; retry in a moment.")

    monkeypatch.setattr(numbers, "twilio_numbers_linked_to", unavailable)
    # When the org deletes the phone
    result = call("delete_phone_number", org=org, path_params={"id": created["id"]})
    # Then the call fails before Twilio is touched: the caller ID the record points to still exists
    assert result.status == 503
    assert params["OutgoingCallerIdSid"] in caller_id_sids(twilio_layer, org)
    assert pending_record(org).caller_id_sid == params["OutgoingCallerIdSid"]
    assert ledger.get_balance(org) == 90
