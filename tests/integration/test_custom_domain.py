"""Behind a custom domain with a base path (issue #27 item 7): API Gateway leaves the base path at the start of each
request's path; the routes still match and Twilio's callbacks are checked on the URL Twilio signed."""

from collections.abc import Iterator
from typing import Any

import pytest

from local import events
from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from tests.fixtures.aws import clear_layer_caches
from tests.fixtures.lambdas import invoke, load_function
from tests.fixtures.twilio import org_account
from tests.integration.test_call_status import call_params
from tests.integration.test_twilio_numbers import bought

pytestmark = pytest.mark.usefixtures("twilio_layer")

BASE_PATH = "/numbers"
PUBLIC_BASE_URL = "https://api.robotappel.test" + BASE_PATH


@pytest.fixture
def custom_domain(org: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stage served at https://api.robotappel.test/numbers (a base path mapping of a custom domain). The
    functions read it at init: they start cold with it, and the next tests start cold without it."""
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    clear_layer_caches()
    load_function.cache_clear()
    yield org
    load_function.cache_clear()


def through_the_custom_domain(event: dict[str, Any]) -> dict[str, Any]:
    """The event API Gateway sends for a request to the custom domain: the base path before the route's path."""
    event["path"] = BASE_PATH + event["path"]
    event["requestContext"] |= {"path": event["path"], "domainName": "api.robotappel.test"}
    event["headers"] |= {"Host": "api.robotappel.test"}
    return event


def test_a_route_behind_the_base_path_is_found(custom_domain: str, twilio_layer: TwilioEmulator) -> None:
    # When org-a asks for its balance through the custom domain
    result = invoke("get_token_balance", through_the_custom_domain(events.api_event("get_token_balance", org="org-a")))
    # Then the route answers
    assert (result.status, result.body) == (200, {"orgId": "org-a", "balance": ledger.get_balance("org-a")})


def test_a_callback_behind_the_base_path_is_checked_on_the_url_twilio_signed(
    custom_domain: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a number bought behind the custom domain: its StatusCallback is the public URL of its record
    number = bought()
    account = org_account(twilio_layer, "org-a")
    [owned] = twilio_layer.incoming_numbers(account["sid"])
    assert owned["status_callback"] == f"{PUBLIC_BASE_URL}/phoneNumber/twilio/callStatus/{number['id']}"
    # When the org's subaccount posts a completed call there, signed for that URL
    params = call_params(twilio_layer, "org-a", to=number["phoneNumber"])
    event = events.twilio_callback_event("call_status_webhook", owned["status_callback"], account["auth_token"], params)
    result = invoke("call_status_webhook", through_the_custom_domain(event))
    # Then the signature holds and the call counts
    assert (result.status, result.body) == (200, {"counted": 1})
