"""Hostile and malformed input: a clear 4xx in the spec's error format, nothing written, nothing charged, nothing
sent to Twilio."""

import base64
from collections.abc import Callable
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger, numbers
from tests.fixtures.lambdas import api_event, call, invoke

HUGE = "9" * 1_000_000
SQL = "0612345678' OR '1'='1"
NOSQL = {"$ne": None}

HOSTILE: dict[str, tuple[str, dict[str, Any], int]] = {
    "body that is not JSON": ("add_client_phone", {"body": "{not json"}, 422),
    "body that is a list": ("add_client_phone", {"body": []}, 422),
    "huge phone number": ("add_client_phone", {"body": {"phoneNumber": HUGE}}, 422),
    "phone number of the wrong type": ("add_client_phone", {"body": {"phoneNumber": 612345678}}, 422),
    "emoji phone number": ("add_client_phone", {"body": {"phoneNumber": "☎️☎️☎️"}}, 422),
    "SQL-looking phone number": ("add_client_phone", {"body": {"phoneNumber": SQL}}, 422),
    "NoSQL operator as phone number": ("add_client_phone", {"body": {"phoneNumber": NOSQL}}, 422),
    "missing phone number": ("add_client_phone", {"body": {"friendlyName": "x"}}, 422),
    "extra field": ("add_client_phone", {"body": {"phoneNumber": "0612345678", "orgId": "org-b"}}, 422),
    "name over 64 characters": (
        "add_client_phone",
        {"body": {"phoneNumber": "0612345678", "friendlyName": "x" * 65}},
        422,
    ),
    "unknown country": ("add_client_phone", {"body": {"phoneNumber": "0612345678", "country": "ZZ"}}, 422),
    "number type injection": ("buy_twilio_number", {"body": {"numberType": "local; DROP TABLE numbers"}}, 422),
    "javascript voice URL": ("buy_twilio_number", {"body": {"voiceUrl": "javascript:alert(1)"}}, 422),
    "SQL-looking area code": ("buy_twilio_number", {"body": {"areaCode": "' OR 1=1 --"}}, 422),
    "huge search pattern": ("buy_twilio_number", {"body": {"contains": HUGE}}, 422),
    "bundle of the wrong shape": ("buy_twilio_number", {"body": {"bundleSid": {"$gt": ""}}}, 422),
    "empty update": ("update_phone_number", {"body": {}, "path_params": {"id": "tn_x"}}, 404),
    "path traversal as client phone": (
        "get_twilio_number_by_client_phone",
        {"path_params": {"clientPhoneNumber": "../../etc/passwd"}},
        422,
    ),
    "NoSQL-looking id": ("delete_phone_number", {"path_params": {"id": "{'$ne': null}"}}, 404),
    "huge id": ("delete_phone_number", {"path_params": {"id": "x" * 5000}}, 422),
    "member asking for an org id with an injection": (
        "get_all_client_phone_numbers",
        {"query": {"id": "org-a' OR '1'='1"}},
        403,
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input_is_refused_cleanly(org: str, twilio_layer: TwilioEmulator, case: str) -> None:
    name, request, status = HOSTILE[case]
    onboarding = len(twilio_layer.requests_log)
    result = call(name, org=org, **request)
    assert result.status == status, result.body
    assert result.body["error"] in {"validation_error", "not_found", "forbidden"}
    assert result.body["message"]
    if status == 422:
        assert result.body["field"]
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 100
    assert twilio_layer.requests_log[onboarding:] == []


def test_a_plus_sent_unencoded_in_the_path_is_the_international_prefix(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a client calling .../GetTwilioPhoneNumberByClientPhoneNumber/+33612345678 without encoding the "+"
    event = api_event("get_twilio_number_by_client_phone", org=org, path_params={"clientPhoneNumber": "+33612345678"})
    event["path"] = "/phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/+33612345678"
    result = invoke("get_twilio_number_by_client_phone", event)
    # Then the number is understood (nothing is linked to it: 404, not a validation error)
    assert result.status == 404
    assert result.body["error"] == "not_found"


def _not_utf8(org: str) -> dict[str, Any]:
    """A body in Latin-1 ("Café"), as a gateway hands over bytes that are not text: base64-encoded."""
    event = api_event("add_client_phone", org=org)
    body = '{"phoneNumber": "06 12 34 56 78", "friendlyName": "Café"}'.encode("latin-1")
    return event | {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}


UNPARSEABLE_BODIES: dict[str, Callable[[str], dict[str, Any]]] = {
    "not JSON": lambda org: api_event("add_client_phone", org=org, body='{"phoneNumber": '),
    # Python refuses to convert integers of more than sys.get_int_max_str_digits() (4,300) digits.
    "a 200,000-digit number": lambda org: api_event("add_client_phone", org=org, body="1" * 200_000),
    "not UTF-8": _not_utf8,
    # json.loads recurses once per level: this depth is a RecursionError (not a ValueError) on any Python.
    "JSON nested 100,000 deep": lambda org: api_event("add_client_phone", org=org, body="[" * 100_000),
}


@pytest.mark.parametrize("case", list(UNPARSEABLE_BODIES))
def test_a_body_that_cannot_be_parsed_is_422_naming_body(org: str, twilio_layer: TwilioEmulator, case: str) -> None:
    # Given a body that is not JSON text
    event = UNPARSEABLE_BODIES[case](org)
    onboarding = len(twilio_layer.requests_log)
    # When a route that reads a JSON body gets it
    result = invoke("add_client_phone", event)
    # Then it is a validation error naming the body, not a failure of ours; nothing done, nothing charged
    assert result.status == 422, result.body
    assert (result.body["error"], result.body["field"]) == ("validation_error", "body")
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 100
    assert twilio_layer.requests_log[onboarding:] == []
