"""What a customer may make the platform's Twilio account do at the platform's expense (issue #27): where its
numbers fetch their call instructions, and which phones Twilio calls to verify them."""

from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from tests.fixtures.aws import clear_layer_caches
from tests.fixtures.lambdas import HttpResult
from tests.integration.test_twilio_numbers import bought, buy, update

pytestmark = pytest.mark.usefixtures("twilio_layer")

PLATFORM_VOICE_URL = "https://voice.robotappel.com/twilio/custom"
FOREIGN_VOICE_URLS = {
    "another host": "https://attacker.example/twiml",
    "a metadata address": "https://169.254.169.254/latest/meta-data",
    "userinfo and an odd port": "https://user:pass@10.0.0.1:22/x",
    "the platform's host with userinfo": "https://user:pass@voice.robotappel.com/twilio/inbound",
    "the platform's host on another port": "https://voice.robotappel.com:8443/twilio/inbound",
    "a host that ends like the platform's": "https://evilvoice.robotappel.com.attacker.example/x",
}


def twilio_requests(emulator: TwilioEmulator) -> list[Any]:
    return [request for request in emulator.requests_log if request.method == "POST"]


# ------------------------------------------------------------------ voiceUrl
@pytest.mark.parametrize("voice_url", FOREIGN_VOICE_URLS.values(), ids=FOREIGN_VOICE_URLS.keys())
def test_buy_with_a_voice_url_off_the_platforms_hosts_is_422_naming_it_and_free(
    org: str, twilio_layer: TwilioEmulator, voice_url: str
) -> None:
    # Given org-a with 100 tokens
    # When it buys a number whose calls would fetch their instructions from a host that is not the platform's
    result = buy(voiceUrl=voice_url)
    # Then 422 naming voiceUrl, before Twilio is asked anything, and nothing is charged
    assert (result.status, result.body["field"]) == (422, "voiceUrl")
    assert twilio_requests(twilio_layer) == []
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("voice_url", FOREIGN_VOICE_URLS.values(), ids=FOREIGN_VOICE_URLS.keys())
def test_update_to_a_voice_url_off_the_platforms_hosts_is_422_naming_it_and_changes_nothing(
    org: str, twilio_layer: TwilioEmulator, voice_url: str
) -> None:
    # Given a bought number
    number = bought()
    before = twilio_layer.incoming_numbers()
    # When org-a points its calls at a host that is not the platform's
    result: HttpResult = update(number["id"], {"voiceUrl": voice_url})
    # Then 422 naming voiceUrl, Twilio's number is untouched, and nothing more is charged
    assert (result.status, result.body["field"]) == (422, "voiceUrl")
    assert twilio_layer.incoming_numbers() == before
    assert ledger.get_balance(org) == 60


def test_a_voice_url_on_the_platforms_host_is_accepted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a, when it buys a number whose calls go to another path of the platform's voice webhook host
    number = bought(voiceUrl=PLATFORM_VOICE_URL)
    # Then Twilio sends its calls there
    [owned] = twilio_layer.incoming_numbers()
    assert (number["voiceUrl"], owned["voice_url"]) == (PLATFORM_VOICE_URL, PLATFORM_VOICE_URL)


def test_the_allow_list_setting_replaces_the_default_host(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage whose allow-list names another host only
    monkeypatch.setenv("VOICE_URL_HOSTS", "ivr.robotappel.com")
    clear_layer_caches()
    # When org-a buys numbers pointing at that host, and at the default one
    allowed, refused = buy(voiceUrl="https://ivr.robotappel.com/x"), buy(voiceUrl=PLATFORM_VOICE_URL)
    # Then the listed host is accepted and the other refused
    assert (allowed.status, refused.status, refused.body["field"]) == (201, 422, "voiceUrl")
