"""A JSON body is read as JSON whatever its Content-Type says: `curl -d '{...}'` sends it as form-urlencoded.
A body that is not JSON gets a 422 that says what to send; Twilio's form-encoded callbacks are not JSON routes."""

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger, numbers
from tests.fixtures.lambdas import call
from tests.integration.test_admin import admin, as_admin  # noqa: F401  (admin: a fixture)

CONTENT_TYPES_THAT_ARE_NOT_JSON = (
    "application/x-www-form-urlencoded",  # curl's default for -d
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
)


@pytest.mark.parametrize("content_type", CONTENT_TYPES_THAT_ARE_NOT_JSON)
def test_a_json_body_is_read_as_json_whatever_its_content_type(
    org: str, twilio_layer: TwilioEmulator, content_type: str
) -> None:
    # Given a JSON body sent with a Content-Type that is not application/json
    body = '{"phoneNumber": "06 12 34 56 78"}'
    # When a route that reads a JSON body gets it
    result = call("add_client_phone", org=org, body=body, headers={"Content-Type": content_type})
    # Then the body is read as the JSON it is
    assert result.status == 201, result.body
    assert result.body["phoneNumber"] == "+33612345678"


@pytest.mark.usefixtures("admin")
def test_a_json_admin_body_sent_as_a_form_is_read_as_json(org: str) -> None:
    # Given the README's credit, sent by curl -d without a Content-Type (form-urlencoded)
    body = '{"tokens": 5, "reason": "Invoice 42"}'
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    # When an admin posts it
    result = as_admin("credit_tokens", body=body, headers=headers, path_params={"orgId": org})
    # Then the org is credited
    assert result.status == 200, result.body
    assert ledger.get_balance(org) == 105


def test_a_form_body_is_a_422_that_says_to_send_json(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a body that is a form, not JSON
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    onboarding = len(twilio_layer.requests_log)
    # When a route that reads a JSON body gets it
    result = call("add_client_phone", org=org, body="phoneNumber=0612345678", headers=headers)
    # Then a 422 names the body and says what to send; nothing is done, nothing charged
    assert result.status == 422, result.body
    assert (result.body["error"], result.body["field"]) == ("validation_error", "body")
    assert "application/json" in result.body["message"]
    assert "application/x-www-form-urlencoded" in result.body["message"]
    assert numbers.list_numbers(org).records == []
    assert ledger.get_balance(org) == 100
    assert twilio_layer.requests_log[onboarding:] == []
