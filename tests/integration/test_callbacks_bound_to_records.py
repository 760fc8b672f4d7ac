"""Twilio's callbacks change the record their URL names and no other (issue #27 item 7, #21 item 3): one org's
callback never verifies, fails or counts a call on another org's record of the same number, and a replayed
callback changes nothing, however late."""

import boto3
import pytest

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import numbers
from robotappel.errors import DomainError
from robotappel.twilio import gateway, signatures
from tests.fixtures.aws import CALL_STATUS_URL, VALIDATION_STATUS_URL, open_org
from tests.fixtures.lambdas import HttpResult, call, call_webhook
from tests.fixtures.twilio import CallbackReceiver, org_account
from tests.integration.test_call_status import call_params
from tests.integration.test_twilio_numbers import add_client_phone, bought

pytestmark = pytest.mark.usefixtures("twilio_layer")

PHONE = "+33612345678"
FAILING_PHONE = "+33612340000"  # the emulator's verification of a number ending in 0000 fails
UNKNOWN_CALL_SID = "CA" + "9" * 32


def added_while_twilios_answer_is_lost(emulator: TwilioEmulator, org: str) -> numbers.ClientPhoneRecord:
    """`org`'s client phone PHONE, pending with its add's hold and no CallSid: Twilio's answer was lost."""
    emulator.inject_fault(method="POST", path_pattern=r"OutgoingCallerIds\.json$", drop_connection=True)
    call("add_client_phone", org=org, body={"phoneNumber": PHONE})
    record = numbers.find_client_phone(org, PHONE)
    assert record is not None
    assert (record.status, record.validation_call_sid) == ("pending", None)
    return record


def verified_client_phone(org: str, phone: str) -> numbers.ClientPhoneRecord:
    record = numbers.get_number(org, add_client_phone(org, phone))
    assert isinstance(record, numbers.ClientPhoneRecord)
    return record


def success(emulator: TwilioEmulator, org: str, call_sid: str = UNKNOWN_CALL_SID) -> dict[str, str]:
    """A verification's success, as `org`'s subaccount reports it."""
    account_sid = org_account(emulator, org)["sid"]
    return {"AccountSid": account_sid, "CallSid": call_sid, "To": PHONE, "VerificationStatus": "success"}


def validation_callback(emulator: TwilioEmulator, url: str, params: dict[str, str]) -> HttpResult:
    """Signed as Twilio signs it: with the auth token of the account it names."""
    return call_webhook("validation_status_webhook", url, auth_token_of(emulator, params), params)


def call_status(emulator: TwilioEmulator, url: str, params: dict[str, str]) -> HttpResult:
    """Signed as Twilio signs it: with the auth token of the account it names."""
    return call_webhook("call_status_webhook", url, auth_token_of(emulator, params), params)


def auth_token_of(emulator: TwilioEmulator, params: dict[str, str]) -> str:
    return str(emulator.account(params["AccountSid"])["auth_token"])


def status_of(record: numbers.NumberRecord) -> str:
    stored = numbers.get_number(record.org_id, record.id)
    assert isinstance(stored, numbers.ClientPhoneRecord)
    return stored.status


def calls_of(record: numbers.NumberRecord) -> int:
    stored = numbers.get_number(record.org_id, record.id)
    assert stored is not None
    return stored.total_calls


@pytest.fixture
def two_orgs(org: str) -> tuple[str, str]:
    open_org("org-b", 100)
    return org, "org-b"


# ------------------------------------------------------------------ validationStatus
def test_a_callback_on_the_path_without_an_id_verifies_no_record_its_call_sid_does_not_name(
    two_orgs: tuple[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given two orgs whose adds of the same phone lost Twilio's answer (both pending, no CallSid)
    records = [added_while_twilios_answer_is_lost(twilio_layer, org) for org in two_orgs]
    # When each org's subaccount sends a signed success callback for a call neither recorded, on the path without an id
    results = [validation_callback(twilio_layer, VALIDATION_STATUS_URL, success(twilio_layer, org)) for org in two_orgs]
    # Then it verifies neither: it cannot tell whose verification it is
    assert [(result.status, result.body) for result in results] == [(200, {"updated": 0})] * 2
    assert [status_of(record) for record in records] == ["pending", "pending"]


def test_a_callback_verifies_the_record_its_url_names_and_no_other_orgs(
    two_orgs: tuple[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given two orgs whose adds of the same phone lost Twilio's answer
    org_a_record, org_b_record = (added_while_twilios_answer_is_lost(twilio_layer, org) for org in two_orgs)
    # When the success callback of org-b's verification arrives, its URL naming org-b's record
    url = f"{VALIDATION_STATUS_URL}/{org_b_record.id}"
    result = validation_callback(twilio_layer, url, success(twilio_layer, org_b_record.org_id))
    # Then org-b's phone is verified, and org-a's is still pending
    assert (result.status, result.body) == (200, {"updated": 1})
    assert (status_of(org_a_record), status_of(org_b_record)) == ("pending", "verified")


def test_a_callback_naming_a_record_of_another_phone_changes_nothing(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a pending phone whose add lost Twilio's answer, and a callback about another phone naming it
    record = added_while_twilios_answer_is_lost(twilio_layer, org)
    params = success(twilio_layer, org) | {"To": "+33612345679"}
    # When it arrives, then nothing changes
    assert validation_callback(twilio_layer, f"{VALIDATION_STATUS_URL}/{record.id}", params).body == {"updated": 0}
    assert status_of(record) == "pending"


def test_a_replayed_failure_changes_nothing_once_the_verification_restarted(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone whose verification failed, then restarted (Twilio recorded a new call)
    created = call("add_client_phone", org=org, body={"phoneNumber": FAILING_PHONE}).body
    first = numbers.find_client_phone(org, FAILING_PHONE)
    assert first is not None
    assert first.validation_call_sid
    url = f"{VALIDATION_STATUS_URL}/{created['id']}"
    failure = {
        "AccountSid": org_account(twilio_layer, org)["sid"],
        "To": FAILING_PHONE,
        "CallSid": first.validation_call_sid,
        "VerificationStatus": "failed",
    }
    validation_callback(twilio_layer, url, failure)
    assert call("add_client_phone", org=org, body={"phoneNumber": FAILING_PHONE}).status == 201
    # When the first call's failure is delivered again
    result = validation_callback(twilio_layer, url, failure)
    # Then the restarted verification is still pending
    assert result.body == {"updated": 0}
    assert status_of(first) == "pending"


# ------------------------------------------------------------------ callStatus
def test_a_call_counts_on_the_record_its_url_names_only(
    two_orgs: tuple[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given two orgs that both have the same client phone
    org_a_phone, org_b_phone = (verified_client_phone(org, PHONE) for org in two_orgs)
    # When a completed call placed from it is reported on org-a's record's URL
    params = call_params(twilio_layer, org_a_phone.org_id, to="+14155550100", from_=PHONE, direction="outbound-api")
    result = call_status(twilio_layer, f"{CALL_STATUS_URL}/{org_a_phone.id}", params)
    # Then it counts for org-a's phone only
    assert result.body == {"counted": 1}
    assert (calls_of(org_a_phone), calls_of(org_b_phone)) == (1, 0)


def test_a_call_on_the_path_without_an_id_counts_on_the_twilio_number_only(
    two_orgs: tuple[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given org-a's Twilio number, which org-b also has as a client phone
    org_a, org_b = two_orgs
    number = bought(org_a)
    org_b_phone = verified_client_phone(org_b, number["phoneNumber"])
    # When the number's StatusCallback from before ids (no record in its URL) reports a completed call to it
    result = call_status(twilio_layer, CALL_STATUS_URL, call_params(twilio_layer, org_a, to=number["phoneNumber"]))
    # Then it counts for org-a's number, not for org-b's phone
    assert result.body == {"counted": 1}
    assert (calls_of(numbers.get_number(org_a, number["id"])), calls_of(org_b_phone)) == (1, 0)  # type: ignore[arg-type]


def test_an_outbound_call_from_a_client_phone_on_the_path_without_an_id_counts_nowhere(
    two_orgs: tuple[str, str], twilio_layer: TwilioEmulator
) -> None:
    # Given two orgs that both have the same client phone
    phones = [verified_client_phone(org, PHONE) for org in two_orgs]
    # When each org's subaccount reports a completed call from it without a record in the URL
    results = [
        call_status(
            twilio_layer,
            CALL_STATUS_URL,
            call_params(twilio_layer, org, to="+14155550100", from_=PHONE, direction="outbound-api"),
        )
        for org in two_orgs
    ]
    # Then no org's phone counts it: the callback cannot tell which record's call it was
    assert [result.body for result in results] == [{"counted": 0}] * 2
    assert [calls_of(phone) for phone in phones] == [0, 0]


def test_a_counted_calls_marker_never_expires(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a completed call counted for a number
    number = bought()
    params = call_params(twilio_layer, org, to=number["phoneNumber"])
    assert call_status(twilio_layer, f"{CALL_STATUS_URL}/{number['id']}", params).body == {"counted": 1}
    # When its marker is read, then it has no expiry: DynamoDB's TTL would delete it, and a replay count again
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().numbers_table)
    marker = table.get_item(Key={"orgId": org, "sk": f"call#{params['CallSid']}"})["Item"]
    assert "expiresAt" not in marker
    # And a replay on either path counts nothing
    assert call_status(twilio_layer, f"{CALL_STATUS_URL}/{number['id']}", params).body == {"counted": 0}
    assert call_status(twilio_layer, CALL_STATUS_URL, params).body == {"counted": 0}


# ------------------------------------------------------------------ the Twilio emulator, as strict as Twilio
def test_the_emulator_signs_the_whole_callback_url_with_the_record_id(
    twilio_layer: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a validation request in a subaccount whose StatusCallback names a record
    account = twilio_layer.create_subaccount()
    url = callback_receiver.url("/phoneNumber/twilio/validationStatus/cp_0193a1b2c3d4e5f6a7b8c9")
    gateway.request_caller_id_validation(account["sid"], PHONE, "Boss", url)
    # When its callback arrives, then it is signed with the subaccount's token for that URL, not for the one without
    # the record
    callback = callback_receiver.next()
    assert callback.form["AccountSid"] == account["sid"]
    assert signatures.is_valid_signature(url, callback.form, callback.signature, account["auth_token"])
    assert not signatures.is_valid_signature(
        url.rsplit("/", 1)[0], callback.form, callback.signature, account["auth_token"]
    )


@pytest.mark.parametrize("url", ["/phoneNumber/twilio/callStatus/tn_1", "ftp://api.example.test/x", "https:///x"])
def test_the_emulator_refuses_a_status_callback_that_is_not_an_absolute_url_as_twilio_does(
    twilio_layer: TwilioEmulator, url: str
) -> None:
    # When the API would give Twilio a callback URL it cannot call, in a subaccount, then Twilio refuses the request
    # (21609)
    account_sid = twilio_layer.create_subaccount()["sid"]
    with pytest.raises(DomainError):
        gateway.buy_number(account_sid, "+15005550006", "https://voice.robotappel.com/twilio/inbound", url, "Support")
    with pytest.raises(DomainError):
        gateway.request_caller_id_validation(account_sid, PHONE, "Boss", url)
    codes = [request.response_json["code"] for request in twilio_layer.requests_log if request.status == 400]
    assert codes == [21609, 21609]
    assert twilio_layer.every_incoming_number() == []
