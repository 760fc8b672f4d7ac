"""What a customer may make the platform's Twilio account do at the platform's expense (issue #27): where its
numbers fetch their call instructions, and which phones Twilio calls to verify them."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import transact
from robotappel.ids import iso
from robotappel.numbers.call_policy import VERIFICATION_CALL_PERIOD, VERIFICATION_CALLS_PER_PERIOD
from robotappel.tenants.subaccounts import account_of
from tests.fixtures.aws import VALIDATION_STATUS_URL, clear_layer_caches, open_org
from tests.fixtures.lambdas import HttpResult, call, call_webhook
from tests.fixtures.twilio import org_account
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
    """What was posted to Twilio but the parent's subaccount creation (an org's onboarding opens one)."""
    return [r for r in emulator.requests_log if r.method == "POST" and r.path != "/2010-04-01/Accounts.json"]


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
    before = twilio_layer.incoming_numbers(account_of(org))
    # When org-a points its calls at a host that is not the platform's
    result: HttpResult = update(number["id"], {"voiceUrl": voice_url})
    # Then 422 naming voiceUrl, Twilio's number is untouched, and nothing more is charged
    assert (result.status, result.body["field"]) == (422, "voiceUrl")
    assert twilio_layer.incoming_numbers(account_of(org)) == before
    assert ledger.get_balance(org) == 60


def test_a_voice_url_on_the_platforms_host_is_accepted(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a, when it buys a number whose calls go to another path of the platform's voice webhook host
    number = bought(voiceUrl=PLATFORM_VOICE_URL)
    # Then Twilio sends its calls there
    [owned] = twilio_layer.incoming_numbers(account_of(org))
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


# ------------------------------------------------------------------ verification calls
NOT_VERIFIABLE = {
    "French premium rate": "+33899123456",
    "French shared cost": "+33810123456",
    "international premium rate": "+979123456789",
    "satellite": "+881612345678",
    "a mobile of a country not called": "+8613812345678",
}
VERIFIABLE = {
    "French mobile": "+33612345678",
    "French landline": "+33123456789",
    "French VoIP": "+33970123456",
    "a landline of Réunion": "+262262123456",
    "a US number": "+14155550100",
}
FAILING_PHONE = "+33612340000"  # the emulator's verification of a number ending in 0000 fails


def add(phone: str, org: str = "org-a") -> HttpResult:
    return call("add_client_phone", org=org, body={"phoneNumber": phone})


def verification_requests(emulator: TwilioEmulator) -> list[Any]:
    return [request for request in twilio_requests(emulator) if request.path.endswith("/OutgoingCallerIds.json")]


@pytest.mark.parametrize("phone", NOT_VERIFIABLE.values(), ids=NOT_VERIFIABLE.keys())
def test_adding_a_phone_the_platform_does_not_call_is_422_number_type_not_allowed_and_free(
    org: str, twilio_layer: TwilioEmulator, phone: str
) -> None:
    # Given org-a with 100 tokens
    # When it adds a phone whose verification call the platform would pay dearly for
    result = add(phone)
    # Then 422 number_type_not_allowed naming phoneNumber, Twilio is not asked to call, and nothing is charged
    assert (result.status, result.body["error"], result.body["field"]) == (
        422,
        "number_type_not_allowed",
        "phoneNumber",
    )
    assert verification_requests(twilio_layer) == []
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("phone", VERIFIABLE.values(), ids=VERIFIABLE.keys())
def test_a_mobile_fixed_line_or_voip_phone_of_an_allowed_country_is_called(
    org: str, twilio_layer: TwilioEmulator, phone: str
) -> None:
    assert add(phone).status == 201
    assert len(verification_requests(twilio_layer)) == 1


def test_the_countries_setting_replaces_the_default_countries(
    org: str, twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage that calls only French phones
    monkeypatch.setenv("VERIFICATION_COUNTRIES", "FR")
    clear_layer_caches()
    # When org-a adds a US phone, then it is refused
    assert add(VERIFIABLE["a US number"]).body["error"] == "number_type_not_allowed"


def validation_callback(
    emulator: TwilioEmulator, record: numbers.ClientPhoneRecord, params: dict[str, str]
) -> HttpResult:
    """Twilio's callback for `record` from its org's subaccount, to the URL Twilio was given (the emulator's own
    cannot reach the test URL)."""
    account = org_account(emulator, record.org_id)
    url = f"{VALIDATION_STATUS_URL}/{record.id}"
    return call_webhook(
        "validation_status_webhook", url, account["auth_token"], {**params, "AccountSid": account["sid"]}
    )


def fail_verification(emulator: TwilioEmulator, org: str = "org-a") -> None:
    """The org's pending phone failed its verification (the person never typed the code)."""
    [record] = numbers.list_client_phones(org).records
    params = {
        "CallSid": str(record.validation_call_sid),
        "To": record.phone_number,
        "VerificationStatus": "failed",
    }
    assert validation_callback(emulator, record, params).status == 200


def test_a_fourth_verification_call_to_one_phone_within_the_hour_is_429_with_retry_after_and_free(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone whose verification failed three times within the hour
    for _ in range(VERIFICATION_CALLS_PER_PERIOD):
        assert add(FAILING_PHONE).status == 201
        fail_verification(twilio_layer)
    balance = ledger.get_balance(org)
    # When org-a adds it once more
    result = add(FAILING_PHONE)
    # Then 429 with Retry-After (about an hour), Twilio is not asked to call it again, and nothing is charged
    assert (result.status, result.body["error"]) == (429, "rate_limited")
    assert 0 < int(result.headers["Retry-After"]) <= VERIFICATION_CALL_PERIOD.total_seconds()
    assert len(verification_requests(twilio_layer)) == VERIFICATION_CALLS_PER_PERIOD
    assert ledger.get_balance(org) == balance


def test_deleting_and_adding_a_phone_again_does_not_reset_its_verification_calls(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given a phone added, and deleted, three times within the hour
    for _ in range(VERIFICATION_CALLS_PER_PERIOD):
        created = add(FAILING_PHONE).body
        assert call("delete_phone_number", org=org, path_params={"id": created["id"]}).status == 200
    # When org-a adds it once more, then 429
    assert add(FAILING_PHONE).status == 429


def test_the_limit_is_per_org(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given org-a had a phone called three times within the hour
    for _ in range(VERIFICATION_CALLS_PER_PERIOD):
        add(FAILING_PHONE)
        fail_verification(twilio_layer)
    # When org-b adds the same phone, then Twilio calls it for org-b
    open_org("org-b", 100)
    assert add(FAILING_PHONE, org="org-b").status == 201


def test_a_verification_call_older_than_the_period_no_longer_counts(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given three verification calls to a phone, the first of them more than an hour ago
    for _ in range(VERIFICATION_CALLS_PER_PERIOD):
        add(FAILING_PHONE)
        fail_verification(twilio_layer)
    calls = numbers.verification_calls(org, FAILING_PHONE)
    long_ago = iso(datetime.now(UTC) - VERIFICATION_CALL_PERIOD - timedelta(minutes=1))
    transact([numbers.save_verification_calls(calls, (long_ago, *calls.times[1:]), expires_at=0)])
    # When org-a adds it again, then Twilio calls it
    assert add(FAILING_PHONE).status == 201


# ------------------------------------------------------------------ who verified what
def caller_ids_of(emulator: TwilioEmulator, phone: str, org: str = "org-a") -> list[dict[str, Any]]:
    """The caller IDs of `phone` in the org's subaccount."""
    return [caller_id for caller_id in emulator.caller_ids(account_of(org)) if caller_id["phone_number"] == phone]


def test_adding_a_phone_another_org_verified_answers_as_any_add_and_tells_nothing(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given org-a verified a phone (a caller ID of its subaccount), and org-b adds a phone nobody has
    add(VERIFIABLE["French mobile"])
    [record] = numbers.list_client_phones(org).records
    params = {"To": record.phone_number, "CallSid": str(record.validation_call_sid), "VerificationStatus": "success"}
    validation_callback(twilio_layer, record, params)
    open_org("org-b", 100)
    fresh = add(VERIFIABLE["French landline"], org="org-b")
    org_a_caller_id = caller_ids_of(twilio_layer, VERIFIABLE["French mobile"])
    # When org-b adds org-a's phone
    result = add(VERIFIABLE["French mobile"], org="org-b")
    # Then it is answered and charged as any add: nothing says that another org verified it
    assert (result.status, fresh.status) == (201, 201)
    assert set(result.body) == set(fresh.body)
    assert (result.body["status"], len(result.body["validationCode"])) == ("pending", 6)
    assert (result.headers["X-Tokens-Charged"], result.headers["X-Tokens-Remaining"]) == ("10", "80")
    # And org-a's caller ID is untouched, and org-b's phone waits, pending, for its own verification: asked for in
    # org-b's subaccount
    assert caller_ids_of(twilio_layer, VERIFIABLE["French mobile"]) == org_a_caller_id
    phone = numbers.find_client_phone("org-b", VERIFIABLE["French mobile"])
    assert phone is not None
    assert (phone.status, phone.hold) == ("pending", None)
    [asked] = [r for r in twilio_layer.requests_log if r.form.get("PhoneNumber") == VERIFIABLE["French mobile"]][-1:]
    assert asked.path == f"/2010-04-01/Accounts/{account_of('org-b')}/OutgoingCallerIds.json"
