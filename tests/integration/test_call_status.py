"""The callStatus webhook (calls counted per number) and getOrgPhoneNumberList (one row per number, with its call
count), through the handlers against moto and the Twilio emulator."""

from typing import Any

import boto3
import pytest
from twilio.request_validator import RequestValidator

from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from robotappel.config import get_settings
from robotappel.dal import ledger, numbers
from robotappel.numbers.automated_calling import assess
from tests.fixtures.aws import CALL_STATUS_URL, ledger_entries, open_operator_org, open_org
from tests.fixtures.lambdas import HttpResult, api_event, call, call_webhook, invoke
from tests.fixtures.twilio import org_account
from tests.integration.test_twilio_numbers import CLIENT_PHONE, add_client_phone, bought, delete

pytestmark = pytest.mark.usefixtures("twilio_layer")

CALLER = "+33698765432"
ORG_LIST_KEYS = {
    "id",
    "phoneNumber",
    "friendlyName",
    "status",
    "totalCalls",
    "createdAt",
    "direction",
    "twilioNumber",
    "phoneNumberSid",
    "automatedCalling",
    "automatedCallingRule",
}


def call_params(
    emulator: TwilioEmulator,
    org: str,
    to: str,
    call_sid: str = "CA" + "1" * 32,
    status: str = "completed",
    direction: str = "inbound",
    from_: str = CALLER,
) -> dict[str, str]:
    """What Twilio posts to a number's StatusCallback of `org`: from the org's subaccount."""
    return {
        "AccountSid": org_account(emulator, org)["sid"],
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": direction,
        "From": from_,
        "To": to,
        "Called": to,
        "Caller": from_,
        "CallDuration": "42",
    }


def call_status(emulator: TwilioEmulator, params: dict[str, str], signature: str | None = None) -> HttpResult:
    """The callback as Twilio sends it: signed with the auth token of the account it names."""
    auth_token = emulator.account(params["AccountSid"])["auth_token"]
    return call_webhook("call_status_webhook", CALL_STATUS_URL, auth_token, params, signature)


def org_list(org: str = "org-a", of_org: str | None = None, role: str = "member", key_id: str = "") -> HttpResult:
    return call("get_org_phone_number_list", org=org, role=role, key_id=key_id, path_params={"orgId": of_org or org})


def total_calls(org: str, number_id: str) -> str:
    [row] = [row for row in org_list(org).body if row["id"] == number_id]
    return str(row["totalCalls"])


# ------------------------------------------------------------------ callStatus webhook
def test_completed_call_is_counted_once_whatever_twilio_retries(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    params = call_params(twilio_layer, org, to=number["phoneNumber"])
    # When Twilio reports the same completed call twice
    first, second = call_status(twilio_layer, params), call_status(twilio_layer, params)
    # Then the first counted it, the repeat did not, and the list shows one call
    assert (first.status, first.body) == (200, {"counted": 1})
    assert (second.status, second.body) == (200, {"counted": 0})
    assert total_calls(org, number["id"]) == "1"


def test_each_completed_call_is_counted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When Twilio reports two different completed calls to it
    for call_sid in ("CA" + "1" * 32, "CA" + "2" * 32):
        call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"], call_sid=call_sid))
    # Then it has two calls
    assert total_calls(org, number["id"]) == "2"


def test_outbound_call_counts_for_the_number_it_was_placed_from(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When Twilio reports a completed call placed from it
    params = call_params(twilio_layer, org, to=CALLER, from_=number["phoneNumber"], direction="outbound-api")
    result = call_status(twilio_layer, params)
    # Then the number has one call
    assert result.body == {"counted": 1}
    assert total_calls(org, number["id"]) == "1"


def test_ringing_call_is_not_counted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number
    number = bought()
    # When Twilio reports a call that is ringing
    result = call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"], status="ringing"))
    # Then it is acknowledged but not counted
    assert (result.status, result.body) == (200, {"counted": 0})
    assert total_calls(org, number["id"]) == "0"


def test_a_call_that_ended_after_its_ringing_report_is_counted_once(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a call Twilio reported as ringing
    number = bought()
    call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"], status="ringing"))
    # When the same call is then reported completed
    result = call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"]))
    # Then it counts, once
    assert result.body == {"counted": 1}
    assert total_calls(org, number["id"]) == "1"


@pytest.mark.parametrize("signature", ["", "forged-signature="], ids=["unsigned", "forged"])
def test_callback_without_a_valid_signature_is_403_and_counts_nothing(
    org: str, twilio_layer: TwilioEmulator, signature: str
) -> None:
    # Given a bought number
    number = bought()
    # When a completed call is reported without a valid X-Twilio-Signature
    result = call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"]), signature)
    # Then 403, and nothing is counted
    assert result.status == 403
    assert result.body["error"] == "forbidden"
    assert total_calls(org, number["id"]) == "0"


def test_callback_signed_for_other_parameters_is_403(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a signature Twilio computed for a ringing call, with the org's subaccount's token
    number = bought()
    ringing = call_params(twilio_layer, org, to=number["phoneNumber"], status="ringing")
    auth_token = org_account(twilio_layer, org)["auth_token"]
    signature = RequestValidator(auth_token).compute_signature(CALL_STATUS_URL, ringing)
    # When the form is changed to a completed call on the way
    result = call_status(twilio_layer, ringing | {"CallStatus": "completed"}, signature)
    # Then 403, and nothing is counted
    assert result.status == 403
    assert total_calls(org, number["id"]) == "0"


def test_callback_is_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a bought number (org-a has 60 tokens left)
    number = bought()
    ledger_before = ledger_entries(org)
    # When Twilio reports a completed call
    result = call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"]))
    # Then no token moved and no token header is sent
    assert result.status == 200
    assert ledger.get_balance(org) == 60
    assert ledger_entries(org) == ledger_before
    assert "X-Tokens-Charged" not in result.headers


def test_call_to_a_released_number_is_not_counted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a number org-a deleted
    number = bought()
    delete(number["id"])
    # When a late callback reports a completed call to it
    result = call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"]))
    # Then it is acknowledged and nothing is counted on the tombstone
    assert (result.status, result.body) == (200, {"counted": 0})
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_settings().numbers_table)
    tombstone = table.get_item(Key={"orgId": org, "sk": numbers.released_sk(number["id"])})["Item"]
    assert tombstone["totalCalls"] == 0


# ------------------------------------------------------------------ getOrgPhoneNumberList
def test_list_has_an_outbound_row_per_client_phone_and_an_inbound_row_per_twilio_number(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given two client phones of org-a, one of them linked to a bought Twilio number
    linked_id = add_client_phone(phone=CLIENT_PHONE)
    unlinked_id = add_client_phone(phone="+33612345679")
    number = bought(clientPhoneNumber=CLIENT_PHONE, friendlyName="Hotline")
    # When org-a lists its phone numbers
    result = org_list()
    # Then one row per number: the linked client phone names its Twilio number, the other one none
    assert result.status == 200
    rows = {row["id"]: row for row in result.body}
    assert rows == {
        linked_id: client_row(org, linked_id)
        | {
            "twilioNumber": number["phoneNumber"],
            "phoneNumberSid": number["phoneNumberSid"],
        },
        unlinked_id: client_row(org, unlinked_id),
        number["id"]: {
            "id": number["id"],
            "phoneNumber": number["phoneNumber"],
            "friendlyName": "Hotline",
            "status": "active",
            "totalCalls": "0",
            "createdAt": number["createdAt"],
            "direction": "inbound",
            "twilioNumber": number["phoneNumber"],
            "phoneNumberSid": number["phoneNumberSid"],
            "automatedCalling": number["automatedCalling"],
            "automatedCallingRule": number["automatedCallingRule"],
        },
    }
    assert len(result.body) == 3


def client_row(org: str, number_id: str) -> dict[str, str]:
    """The row of an unlinked client phone, from its record."""
    record = numbers.get_number(org, number_id)
    assert record is not None
    return {
        "id": number_id,
        "phoneNumber": record.phone_number,
        "friendlyName": record.friendly_name,
        "status": record.status,
        "totalCalls": "0",
        "createdAt": record.created_at,
        "direction": "outbound",
        "twilioNumber": "",
        "phoneNumberSid": "",
        "automatedCalling": assess(record.phone_number, verified_caller_id=True).status,
        "automatedCallingRule": assess(record.phone_number, verified_caller_id=True).rule,
    }


def test_every_row_has_the_seeds_keys_and_the_automated_calling_pair_as_strings(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a client phone and a Twilio number that took a call
    add_client_phone()
    number = bought()
    call_status(twilio_layer, call_params(twilio_layer, org, to=number["phoneNumber"]))
    # When org-a lists its phone numbers
    rows: list[dict[str, Any]] = org_list().body
    # Then every row has exactly the seed's nine keys and automatedCalling(Rule), every value a string
    assert len(rows) == 2
    assert all(set(row) == ORG_LIST_KEYS for row in rows)
    assert all(isinstance(value, str) for row in rows for value in row.values())


def test_list_is_charged_5_to_the_caller(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a with 100 tokens
    # When it lists its phone numbers
    result = org_list()
    # Then it pays 5
    assert result.status == 200
    assert (result.headers["X-Tokens-Charged"], result.headers["X-Tokens-Remaining"]) == ("5", "95")
    assert ledger.get_balance(org) == 95


def test_list_without_org_id_is_the_callers_org(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a Twilio number of org-a
    number = bought()
    # When org-a calls /phoneNumber/getOrgPhoneNumberList without an org id
    event = api_event("get_org_phone_number_list", org=org)
    event |= {"resource": "/phoneNumber/getOrgPhoneNumberList", "path": "/phoneNumber/getOrgPhoneNumberList"}
    event["pathParameters"] = None
    result = invoke("get_org_phone_number_list", event)
    # Then it gets its own numbers, for 5 tokens
    assert result.status == 200
    assert [row["id"] for row in result.body] == [number["id"]]
    assert ledger.get_balance(org) == 55


def test_member_asking_for_another_org_is_403_and_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-b has a number
    open_org("org-b", 100)
    bought("org-b")
    # When member org-a lists org-b's numbers
    result = org_list(org, of_org="org-b")
    # Then 403, nothing charged
    assert result.status == 403
    assert result.body["error"] == "forbidden"
    assert ledger.get_balance(org) == 100


def test_admin_lists_another_org_and_pays_for_it_itself(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a has a Twilio number, and an admin org with 10 tokens
    number = bought()
    admin_key = open_operator_org("org-admin", 10)
    # When the admin lists org-a's numbers
    result = org_list("org-admin", of_org=org, role="admin", key_id=admin_key)
    # Then it sees org-a's number, and the admin's org pays 5, not org-a
    assert result.status == 200
    assert [row["id"] for row in result.body] == [number["id"]]
    assert ledger.get_balance("org-admin") == 5
    assert ledger.get_balance(org) == 60
