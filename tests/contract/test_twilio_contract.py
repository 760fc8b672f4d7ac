"""Our Twilio traffic against Twilio's own OpenAPI specs (API 2010-04-01 and Numbers v2, pinned in
fetch_twilio_spec.py).

(a) every request the gateway sends and (b) every response the emulator gives are checked with openapi-core, each
against the spec of its Twilio host. Twilio's specs describe no error responses, so error bodies are checked
against Twilio's documented error shape.
"""

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import PathNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from local.twilio_emulator import RecordedRequest, TwilioEmulator
from robotappel.errors import DomainError
from robotappel.twilio import gateway
from tests.contract.fetch_twilio_spec import SpecName, twilio_spec_path
from tests.fixtures.aws import CALL_STATUS_URL
from tests.fixtures.twilio import CallbackReceiver

TWILIO_HOST = "https://api.twilio.com"
NUMBERS_HOST = "https://numbers.twilio.com"
BUNDLE_SID, ADDRESS_SID = "BU" + "1" * 32, "AD" + "2" * 32
VOICE_URL = "https://voice.example.test/inbound"
STATUS_URL = CALL_STATUS_URL
TWILIO_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": "^https://www\\.twilio\\.com/docs/errors/\\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}


@pytest.fixture(scope="session")
def twilio_openapi() -> dict[str, OpenAPI]:
    """Twilio's spec of each host the emulator stands in for."""
    # The specs are Twilio's published documents: validating their own correctness would only cost time.
    config = Config(spec_validator_cls=None)
    specs: dict[str, SpecName] = {TWILIO_HOST: "twilio_api_v2010", NUMBERS_HOST: "twilio_numbers_v2"}
    return {
        host: OpenAPI.from_dict(json.loads(twilio_spec_path(name).read_text()), config=config)
        for host, name in specs.items()
    }


def host_of(record: RecordedRequest) -> str:
    return NUMBERS_HOST if record.path.startswith("/v2/") else TWILIO_HOST


@pytest.fixture
def check(twilio_openapi: dict[str, OpenAPI], twilio_emulator: TwilioEmulator) -> Callable[[RecordedRequest], None]:
    credentials = f"{twilio_emulator.account_sid}:{twilio_emulator.auth_token}".encode()
    authorization = "Basic " + base64.b64encode(credentials).decode()

    def check_exchange(record: RecordedRequest) -> None:
        spec = twilio_openapi[host_of(record)]
        request = as_openapi_request(record, authorization)
        spec.validate_request(request)
        if record.status >= 400:
            jsonschema.validate(record.response_json, TWILIO_ERROR_SCHEMA)
            assert record.response_json["status"] == record.status
        else:
            spec.validate_response(request, as_openapi_response(record))

    return check_exchange


def as_openapi_request(record: RecordedRequest, authorization: str) -> MockRequest:
    is_form = record.method == "POST"
    return MockRequest(
        host_of(record),
        record.method.lower(),
        record.path,
        args=record.query,
        headers={"Authorization": authorization},
        data=urlencode(record.form).encode() if is_form else None,
        content_type="application/x-www-form-urlencoded" if is_form else "application/json",
    )


def as_openapi_response(record: RecordedRequest) -> MockResponse:
    if record.response_json is None:
        return MockResponse(b"", status_code=record.status, content_type="")
    return MockResponse(json.dumps(record.response_json).encode(), status_code=record.status)


def violations(records: list[RecordedRequest], check: Callable[[RecordedRequest], None]) -> list[str]:
    found = []
    for record in records:
        try:
            check(record)
        except Exception as exc:
            found.append(f"{record.method} {record.path} -> {record.status}: {exc!r}"[:600])
    return found


def expect_domain_error(call: Callable[[], object]) -> None:
    with pytest.raises(DomainError):
        call()


def exercise_every_gateway_call(emulator: TwilioEmulator, receiver: CallbackReceiver) -> None:
    """In a subaccount, as every org's call is made (its SID, with the parent's credentials)."""
    account = emulator.create_subaccount("ra:dev:org org-contract")["sid"]
    for country, number_type in [("FR", "local"), ("FR", "national"), ("GB", "mobile"), ("US", "tollFree")]:
        gateway.search_available_numbers(account, country, number_type, limit=2)  # type: ignore[arg-type]
    offered = gateway.search_available_numbers(account, "US", "local", area_code="415", contains="77", limit=3)
    bought = gateway.buy_number(account, offered[0], VOICE_URL, STATUS_URL, "Line", bundle_sid=BUNDLE_SID)
    gateway.update_number(account, bought.sid, friendly_name="Sales", voice_url=VOICE_URL + "/sales")
    gateway.release_number(account, bought.sid)
    gateway.release_number(account, bought.sid)
    gateway.request_caller_id_validation(account, "+33612345678", "Boss", receiver.url("/validationStatus"))
    caller_id_sid = receiver.next().form["OutgoingCallerIdSid"]
    gateway.find_caller_id(account, "+33612345678")
    gateway.delete_caller_id(account, caller_id_sid)
    gateway.delete_caller_id(account, caller_id_sid)
    gateway.find_caller_id(account, "+33612345678")
    exercise_french_regulations(emulator, account)
    for failing in (
        lambda: gateway.search_available_numbers(account, "US", "local", area_code="533"),
        lambda: gateway.buy_number(account, "+15005550000", VOICE_URL, STATUS_URL, "x"),
        lambda: gateway.buy_number(account, "+15005550001", VOICE_URL, STATUS_URL, "x"),
        lambda: gateway.request_caller_id_validation(account, "+15005550001", "x", STATUS_URL),
    ):
        expect_domain_error(failing)
    emulator.inject_fault("POST", r"IncomingPhoneNumbers\.json$", status=500, code=20500)
    emulator.inject_fault("GET", r"OutgoingCallerIds\.json$", status=429, code=20429, times=5)
    expect_domain_error(lambda: gateway.buy_number(account, "+15005550006", VOICE_URL, STATUS_URL, "x"))
    expect_domain_error(lambda: gateway.find_caller_id(account, "+33612345678"))


def exercise_french_regulations(emulator: TwilioEmulator, account: str) -> None:
    """Bundle, Regulation and Address fetches, and a French purchase refused for each missing, unapproved or
    mismatched piece, then made."""
    local = emulator.add_bundle("FR", "local", account_sid=account)
    national = emulator.add_bundle("FR", "national", account_sid=account)
    rejected = emulator.add_bundle("FR", "local", friendly_name="rejected", account_sid=account)
    address = emulator.add_address("FR", account_sid=account)
    abroad = emulator.add_address("BE", City="Bruxelles", PostalCode="1000", account_sid=account)
    bundle = gateway.fetch_bundle(account, local)
    assert bundle is not None
    gateway.fetch_regulation(account, bundle.regulation_sid)
    gateway.fetch_bundle(account, rejected)
    gateway.fetch_bundle(account, BUNDLE_SID)
    gateway.fetch_address(account, address)
    gateway.fetch_address(account, ADDRESS_SID)
    french = gateway.search_available_numbers(account, "FR", "local", limit=1)[0]
    for bundle_sid, address_sid in ((None, address), (rejected, address), (national, address), (local, None)):
        with pytest.raises(DomainError):
            gateway.buy_number(
                account, french, VOICE_URL, STATUS_URL, "Paris", bundle_sid=bundle_sid, address_sid=address_sid
            )
    with pytest.raises(DomainError):
        gateway.buy_number(account, french, VOICE_URL, STATUS_URL, "Paris", bundle_sid=local, address_sid=abroad)
    gateway.buy_number(account, french, VOICE_URL, STATUS_URL, "Paris", bundle_sid=local, address_sid=address)


@pytest.mark.usefixtures("twilio_layer")
def test_every_gateway_request_and_emulator_response_conforms_to_twilio_spec(
    twilio_emulator: TwilioEmulator,
    callback_receiver: CallbackReceiver,
    check: Callable[[RecordedRequest], None],
) -> None:
    # Given the gateway exercised through every call it makes, successes and Twilio errors alike
    exercise_every_gateway_call(twilio_emulator, callback_receiver)
    records = twilio_emulator.requests_log
    # When each exchange is checked against Twilio's OpenAPI spec
    found = violations(records, check)
    # Then none violates it, and successes, errors and both Twilio hosts were checked
    assert found == []
    statuses = {record.status for record in records}
    assert {200, 201, 204, 400, 404, 429, 500} <= statuses
    error_codes = {record.response_json["code"] for record in records if record.status >= 400}
    assert {21649, 21631} <= error_codes
    assert {host_of(record) for record in records} == {TWILIO_HOST, NUMBERS_HOST}
    used = {re.sub(r"[A-Z]{2}[0-9a-f]{32}", "{Sid}", record.path) for record in records}
    assert {
        "/v2/RegulatoryCompliance/Bundles/{Sid}",
        "/v2/RegulatoryCompliance/Regulations/{Sid}",
        "/2010-04-01/Accounts/{Sid}/Addresses/{Sid}.json",
    } <= used


@pytest.fixture
def twilio_session(twilio_emulator: TwilioEmulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (twilio_emulator.account_sid, twilio_emulator.auth_token)
        yield session


def test_emulator_endpoints_the_gateway_does_not_use_conform_too(
    twilio_emulator: TwilioEmulator,
    twilio_session: requests.Session,
    check: Callable[[RecordedRequest], None],
) -> None:
    # Given a number and a caller ID at the emulator
    account = f"{twilio_emulator.base_url}/2010-04-01/Accounts/{twilio_emulator.account_sid}"
    sid = twilio_session.post(f"{account}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["sid"]
    twilio_session.post(f"{account}/OutgoingCallerIds.json", data={"PhoneNumber": "+33612345678"})
    # When every other route is called, including a paged list and a missing resource
    twilio_session.get(f"{account}/IncomingPhoneNumbers.json", params={"PageSize": 1})
    twilio_session.get(f"{account}/IncomingPhoneNumbers/{sid}.json")
    twilio_session.get(f"{account}/IncomingPhoneNumbers/PN{'0' * 32}.json")
    twilio_session.get(f"{account}/AvailablePhoneNumbers/FR/Local.json", params={"InRegion": "Paris"})
    caller_ids = twilio_session.get(f"{account}/OutgoingCallerIds.json").json()["outgoing_caller_ids"]
    for caller_id in caller_ids:
        twilio_session.get(f"{account}/OutgoingCallerIds/{caller_id['sid']}.json")
        twilio_session.post(f"{account}/OutgoingCallerIds/{caller_id['sid']}.json", data={"FriendlyName": "B"})
    create_regulatory_documents(twilio_emulator, twilio_session)
    # Then every exchange conforms to Twilio's spec
    assert violations(twilio_emulator.requests_log, check) == []


def create_regulatory_documents(emulator: TwilioEmulator, session: requests.Session) -> None:
    """A client's Bundles (by country, type and end-user type, and by RegulationSid) and Addresses creates."""
    bundles = f"{emulator.base_url}/v2/RegulatoryCompliance/Bundles"
    identity = {"FriendlyName": "RobotAppel", "Email": "compliance@robotappel.example"}
    by_country = {"IsoCountry": "FR", "NumberType": "toll-free", "EndUserType": "business"}
    created = session.post(bundles, data=identity | by_country)
    assert created.status_code == 201, created.text
    session.post(bundles, data=identity | {"RegulationSid": created.json()["regulation_sid"]})
    session.post(bundles, data=identity | {"IsoCountry": "XX", "NumberType": "local", "EndUserType": "business"})
    address = {
        "CustomerName": "RobotAppel",
        "Street": "1 rue de Rivoli",
        "City": "Paris",
        "Region": "Île-de-France",
        "PostalCode": "75001",
        "IsoCountry": "FR",
    }
    account = f"{emulator.base_url}/2010-04-01/Accounts/{emulator.account_sid}"
    assert session.post(f"{account}/Addresses.json", data=address).status_code == 201


def test_accounts_resource_conforms_to_twilio_spec(
    twilio_emulator: TwilioEmulator,
    twilio_session: requests.Session,
    check: Callable[[RecordedRequest], None],
) -> None:
    # Given the main account's credentials
    accounts = f"{twilio_emulator.base_url}/2010-04-01/Accounts"
    # When they create subaccounts (named, unnamed, a name too long), fetch, list, update and close one, reopen it,
    # fetch an unknown account, and act in the subaccount
    created = twilio_session.post(f"{accounts}.json", data={"FriendlyName": "local org-a"})
    assert created.status_code == 201, created.text
    sid = created.json()["sid"]
    twilio_session.post(f"{accounts}.json")
    twilio_session.post(f"{accounts}.json", data={"FriendlyName": "x" * 65})
    twilio_session.get(f"{accounts}/{sid}.json")
    twilio_session.get(f"{accounts}.json", params={"Status": "active", "PageSize": "1"})
    twilio_session.get(f"{accounts}.json", params={"FriendlyName": "local org-a"})
    twilio_session.post(f"{accounts}/{sid}.json", data={"Status": "suspended"})
    twilio_session.post(f"{accounts}/{sid}.json", data={"Status": "active", "FriendlyName": "local org-a2"})
    twilio_session.post(f"{accounts}/{sid}/IncomingPhoneNumbers.json", data={"AreaCode": "415"})
    twilio_session.get(f"{accounts}/{sid}/IncomingPhoneNumbers.json")
    twilio_session.post(f"{accounts}/{sid}.json", data={"Status": "closed"})
    twilio_session.post(f"{accounts}/{sid}.json", data={"Status": "active"})
    twilio_session.get(f"{accounts}/{sid}/IncomingPhoneNumbers.json")
    twilio_session.get(f"{accounts}/AC{'0' * 32}.json")
    # Then every exchange conforms to Twilio's spec, successes and errors alike
    records = twilio_emulator.requests_log
    assert violations(records, check) == []
    assert {record.status for record in records} == {200, 201, 400, 403, 404}
    used = {(record.method, re.sub(r"AC[0-9a-f]{32}", "{Sid}", record.path)) for record in records}
    assert {
        ("POST", "/2010-04-01/Accounts.json"),
        ("GET", "/2010-04-01/Accounts.json"),
        ("GET", "/2010-04-01/Accounts/{Sid}.json"),
        ("POST", "/2010-04-01/Accounts/{Sid}.json"),
    } <= used


def test_check_rejects_an_account_with_a_status_twilio_does_not_have(
    twilio_emulator: TwilioEmulator, twilio_session: requests.Session, check: Callable[[RecordedRequest], None]
) -> None:
    # Given a conforming subaccount creation whose status is then made up
    twilio_session.post(f"{twilio_emulator.base_url}/2010-04-01/Accounts.json", data={"FriendlyName": "org-a"})
    record = twilio_emulator.requests_log[-1]
    check(record)
    broken = with_body(record, {**record.response_json, "status": "paused"})
    # When it is checked
    # Then the check fails: the spec's Account schema is applied
    with pytest.raises(InvalidData):
        check(broken)


def test_emulator_refuses_wrong_credentials_with_twilio_error_body(twilio_emulator: TwilioEmulator) -> None:
    # Given a client with a wrong auth token
    url = f"{twilio_emulator.base_url}/2010-04-01/Accounts/{twilio_emulator.account_sid}/IncomingPhoneNumbers.json"
    # When it lists numbers
    response = requests.get(url, auth=(twilio_emulator.account_sid, "wrong"), timeout=5)
    # Then it gets Twilio's 401 error body
    assert response.status_code == 401
    jsonschema.validate(response.json(), TWILIO_ERROR_SCHEMA)
    assert response.json()["code"] == 20003


def recorded_purchase(emulator: TwilioEmulator, session: requests.Session) -> RecordedRequest:
    account = f"{emulator.base_url}/2010-04-01/Accounts/{emulator.account_sid}"
    session.post(f"{account}/IncomingPhoneNumbers.json", data={"PhoneNumber": "+15005550006"})
    return emulator.requests_log[-1]


def with_body(record: RecordedRequest, body: dict[str, Any]) -> RecordedRequest:
    return record._replace(response_json=body)


def test_check_rejects_a_response_field_of_the_wrong_type(
    twilio_emulator: TwilioEmulator, twilio_session: requests.Session, check: Callable[[RecordedRequest], None]
) -> None:
    # Given a conforming purchase whose `beta` flag is then turned into a string
    record = recorded_purchase(twilio_emulator, twilio_session)
    check(record)
    broken = with_body(record, {**record.response_json, "beta": "no"})
    # When it is checked
    # Then the check fails
    with pytest.raises(InvalidData):
        check(broken)


def test_check_rejects_a_sid_of_the_wrong_shape(
    twilio_emulator: TwilioEmulator, twilio_session: requests.Session, check: Callable[[RecordedRequest], None]
) -> None:
    # Given a conforming purchase whose SID is not a phone-number SID
    record = recorded_purchase(twilio_emulator, twilio_session)
    broken = with_body(record, {**record.response_json, "sid": "XX123"})
    # When it is checked
    # Then the check fails
    with pytest.raises(InvalidData):
        check(broken)


def test_check_rejects_an_error_body_without_status(
    twilio_emulator: TwilioEmulator, twilio_session: requests.Session, check: Callable[[RecordedRequest], None]
) -> None:
    # Given an error body missing Twilio's `status`
    account = f"{twilio_emulator.base_url}/2010-04-01/Accounts/{twilio_emulator.account_sid}"
    twilio_session.post(f"{account}/IncomingPhoneNumbers.json", data={"PhoneNumber": "+15005550000"})
    record = twilio_emulator.requests_log[-1]
    broken = with_body(record, {k: v for k, v in record.response_json.items() if k != "status"})
    # When it is checked
    # Then the check fails
    with pytest.raises(jsonschema.ValidationError, match="status"):
        check(broken)


def test_check_rejects_a_bundle_with_a_status_twilio_does_not_have(
    twilio_emulator: TwilioEmulator, twilio_session: requests.Session, check: Callable[[RecordedRequest], None]
) -> None:
    # Given a conforming bundle fetch whose status is then made up
    bundle_sid = twilio_emulator.add_bundle("FR", "local")
    twilio_session.get(f"{twilio_emulator.base_url}/v2/RegulatoryCompliance/Bundles/{bundle_sid}")
    record = twilio_emulator.requests_log[-1]
    check(record)
    broken = with_body(record, {**record.response_json, "status": "approved"})
    # When it is checked
    # Then the check fails: the Numbers spec is the one applied
    with pytest.raises(InvalidData):
        check(broken)


def test_check_rejects_a_request_with_an_unknown_operation(check: Callable[[RecordedRequest], None]) -> None:
    # Given a request to a path Twilio does not have
    record = RecordedRequest("GET", f"/2010-04-01/Accounts/AC{'0' * 32}/Nope.json", {}, {}, 200, {})
    # When it is checked
    # Then the check fails
    with pytest.raises(PathNotFound):
        check(record)
