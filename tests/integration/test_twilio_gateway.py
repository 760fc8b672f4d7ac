"""The Twilio gateway over HTTP against the local emulator: every call, Twilio's magic numbers and faults."""

import sys

import phonenumbers
import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.errors import Conflict, InvalidInput, RateLimited, UpstreamFailure
from robotappel.models.phone import NumberType
from robotappel.numbers.automated_calling import assess
from robotappel.twilio import gateway, signatures
from tests.fixtures.aws import CALL_STATUS_URL
from tests.fixtures.twilio import CallbackReceiver, FrenchDocuments, french_documents

pytestmark = pytest.mark.usefixtures("twilio_layer")

VOICE_URL = "https://voice.example.test/inbound"
STATUS_URL = CALL_STATUS_URL
BUY_PATH = r"IncomingPhoneNumbers\.json$"
# SIDs for calls that never reach a lookup of them (a US number, a fault first).
BUNDLE_SID, ADDRESS_SID = "BU" + "1" * 32, "AD" + "2" * 32


def main() -> str:
    """The main account: the gateway alone, as any account's resources are reached (the credentials' own)."""
    return gateway.parent_account_sid()


@pytest.fixture
def french(twilio_emulator: TwilioEmulator) -> FrenchDocuments:
    return french_documents(twilio_emulator)


def buy(phone_number: str = "+15005550006") -> gateway.IncomingNumber:
    return gateway.buy_number(main(), phone_number, VOICE_URL, STATUS_URL, "Support line")


def buy_regulated(phone_number: str, bundle_sid: str | None, address_sid: str | None) -> gateway.IncomingNumber:
    return gateway.buy_number(
        main(), phone_number, VOICE_URL, STATUS_URL, "Support line", bundle_sid=bundle_sid, address_sid=address_sid
    )


def test_search_offers_distinct_valid_numbers_of_the_country(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio has numbers in France
    # When we search five local numbers
    found = gateway.search_available_numbers(main(), "FR", "local", limit=5)
    # Then five different numbers come back, each valid for France
    assert len(set(found)) == 5
    assert all(phonenumbers.region_code_for_number(phonenumbers.parse(n)) == "FR" for n in found)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in found)


def test_search_honours_area_code_and_contains(twilio_emulator: TwilioEmulator) -> None:
    # Given US numbers in area code 415
    # When we search for ones containing 77
    found = gateway.search_available_numbers(main(), "US", "local", area_code="415", contains="77", limit=3)
    # Then every number offered is in that area code and contains 77
    assert found
    assert all(n.startswith("+1415") and "77" in n[2:] for n in found)


def test_search_with_a_character_twilio_does_not_allow_in_contains_is_refused_not_crashed(
    twilio_emulator: TwilioEmulator,
) -> None:
    # Given a Contains pattern with "+", which Twilio's spec does not allow (digits, letters and "*" only)
    # When we search with it
    with pytest.raises(UpstreamFailure) as raised:
        gateway.search_available_numbers(main(), "FR", "local", contains="+33162")
    # Then Twilio answers that a parameter is invalid
    assert raised.value.details == {"twilioCode": 20001}


def test_search_in_magic_area_code_533_finds_no_numbers(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio's test area code that has no numbers
    # When we search in it
    with pytest.raises(Conflict) as raised:
        gateway.search_available_numbers(main(), "US", "local", area_code="533")
    # Then the caller is told no numbers are available
    assert raised.value.error_code == "no_numbers_available"


def test_buying_a_number_activates_it_with_our_webhooks(twilio_emulator: TwilioEmulator) -> None:
    # Given a number offered by Twilio
    phone_number = gateway.search_available_numbers(main(), "FR", "national", limit=1)[0]
    # When we buy it, with the bundle and address France requires
    bundle, address = twilio_emulator.add_bundle("FR", "national"), twilio_emulator.add_address("FR")
    bought = buy_regulated(phone_number, bundle, address)
    # Then Twilio owns it for us with our voice and status callback URLs
    assert (bought.phone_number, bought.voice_url, bought.friendly_name) == (phone_number, VOICE_URL, "Support line")
    [owned] = twilio_emulator.incoming_numbers()
    assert (owned["sid"], owned["status_callback"]) == (bought.sid, STATUS_URL)


def test_bundle_and_address_are_passed_through_when_buying(twilio_emulator: TwilioEmulator) -> None:
    # Given a regulatory bundle and address
    # When we buy a number with them
    gateway.buy_number(
        main(), "+15005550006", VOICE_URL, STATUS_URL, "x", bundle_sid=BUNDLE_SID, address_sid=ADDRESS_SID
    )
    # Then Twilio received them
    [owned] = twilio_emulator.incoming_numbers()
    assert (owned["bundle_sid"], owned["address_sid"]) == (BUNDLE_SID, ADDRESS_SID)


def french_number(number_type: NumberType = "local") -> str:
    return gateway.search_available_numbers(main(), "FR", number_type, limit=1)[0]


@pytest.mark.parametrize("number_type", ["local", "national", "tollFree"])
def test_buying_a_french_number_without_a_bundle_is_refused_as_bundle_required(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments, number_type: NumberType
) -> None:
    # Given a FrenchDocuments number offered by Twilio
    phone_number = french_number(number_type)
    # When we buy it with an address but no regulatory bundle
    with pytest.raises(InvalidInput) as raised:
        buy_regulated(phone_number, None, french.address)
    # Then Twilio refuses it (21649) and nothing is bought
    assert (raised.value.field, raised.value.error_code) == ("bundleSid", "bundle_required")
    assert twilio_emulator.incoming_numbers() == []


def test_buying_a_french_number_with_a_bundle_that_is_not_approved_is_refused_as_such(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments
) -> None:
    # Given a FrenchDocuments number and a bundle Twilio rejected
    phone_number = french_number()
    # When we buy the number with that bundle and an address
    with pytest.raises(InvalidInput) as raised:
        buy_regulated(phone_number, french.rejected, french.address)
    # Then Twilio refuses the bundle (21649) and nothing is bought
    assert (raised.value.field, raised.value.error_code) == ("bundleSid", "bundle_not_approved")
    assert twilio_emulator.incoming_numbers() == []


def test_buying_a_french_number_without_an_address_is_refused_as_address_required(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments
) -> None:
    # Given a FrenchDocuments number
    phone_number = french_number()
    # When we buy it with an approved bundle but no address
    with pytest.raises(InvalidInput) as raised:
        buy_regulated(phone_number, french.local, None)
    # Then Twilio refuses it (21631) and nothing is bought
    assert (raised.value.field, raised.value.error_code) == ("addressSid", "address_required")
    assert twilio_emulator.incoming_numbers() == []


def test_buying_a_french_number_with_an_approved_bundle_and_an_address_succeeds(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments
) -> None:
    # Given a FrenchDocuments number
    phone_number = french_number()
    # When we buy it with an approved bundle and an address
    bought = buy_regulated(phone_number, french.local, french.address)
    # Then Twilio sells it, tied to both
    [owned] = twilio_emulator.incoming_numbers()
    assert (owned["sid"], owned["bundle_sid"], owned["address_sid"]) == (bought.sid, french.local, french.address)


def test_a_contains_pattern_as_long_as_the_number_finds_a_reserved_range(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio's FrenchDocuments local numbers
    # When we search with a pattern for the reserved range 0162 that spans the whole national number
    found = gateway.search_available_numbers(main(), "FR", "local", contains="162******", limit=5)
    # Then every number starts with it, is valid and may place automated calls
    assert len(found) == 5
    assert all(number.startswith("+33162") for number in found)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(number)) for number in found)
    assert all(assess(number).status == "allowed" for number in found)


def test_no_plus_33_number_of_the_overseas_range_is_offered(twilio_emulator: TwilioEmulator) -> None:
    # Given 09475-09479, the overseas departments' range (+590, +594, +596, +262 numbers)
    # When FrenchDocuments national numbers in 0947 are searched
    found = gateway.search_available_numbers(main(), "FR", "national", contains="947******", limit=20)
    # Then none of the overseas range is offered as a +33 number
    assert found
    assert not any(number.startswith(("+339475", "+339476", "+339477", "+339478", "+339479")) for number in found)


def test_fetch_bundle_tells_its_status_and_regulation(twilio_emulator: TwilioEmulator, french: FrenchDocuments) -> None:
    # Given an approved and a rejected bundle of the account, made for FrenchDocuments local numbers
    # When we fetch them
    approved, rejected = gateway.fetch_bundle(main(), french.local), gateway.fetch_bundle(main(), french.rejected)
    # Then each has Twilio's status, and its Regulation says what it is valid for
    assert approved is not None
    assert rejected is not None
    assert (approved.status, rejected.status) == ("twilio-approved", "twilio-rejected")
    regulation = gateway.fetch_regulation(main(), approved.regulation_sid)
    assert (regulation.iso_country, regulation.number_type) == ("FR", "local")


def test_fetch_address_tells_its_country(twilio_emulator: TwilioEmulator, french: FrenchDocuments) -> None:
    address = gateway.fetch_address(main(), french.address)
    assert address is not None
    assert address.iso_country == "FR"
    assert gateway.fetch_address(main(), "AD" + "9" * 32) is None


def test_fetch_bundle_does_not_import_the_sdks_numbers_domain(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments
) -> None:
    # Given the Lambda build ships no compiled modules of the SDK's domains other than `api`
    # When we fetch a bundle and its Regulation
    bundle = gateway.fetch_bundle(main(), french.local)
    assert bundle is not None
    gateway.fetch_regulation(main(), bundle.regulation_sid)
    # Then the SDK's `numbers` domain was not imported for it
    assert "twilio.rest.numbers" not in sys.modules


def test_fetch_bundle_of_an_unknown_bundle_is_none(twilio_emulator: TwilioEmulator) -> None:
    # Given a bundle SID the account does not have
    # When we fetch it
    # Then there is none
    assert gateway.fetch_bundle(main(), "BUnope") is None


def test_fetch_bundle_retries_a_rate_limit(
    twilio_emulator: TwilioEmulator, french: FrenchDocuments, fast_twilio_retries: list[float]
) -> None:
    # Given Twilio throttles the next bundle fetch
    twilio_emulator.inject_fault("GET", r"/Bundles/", status=429, code=20429)
    # When we fetch a bundle
    bundle = gateway.fetch_bundle(main(), french.local)
    # Then the retry got it
    assert bundle is not None
    assert (bundle.status, len(fast_twilio_retries)) == ("twilio-approved", 1)


def test_fetch_bundle_when_twilio_fails_is_an_upstream_failure_with_the_code(
    twilio_emulator: TwilioEmulator,
) -> None:
    # Given Twilio fails the bundle fetch with an internal error
    twilio_emulator.inject_fault("GET", r"/Bundles/", status=500, code=20500)
    # When we fetch a bundle
    with pytest.raises(UpstreamFailure) as raised:
        gateway.fetch_bundle(main(), BUNDLE_SID)
    # Then Twilio's code is carried
    assert raised.value.details == {"twilioCode": 20500}


def test_buying_the_magic_unavailable_number_is_a_conflict(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio's test number that is never available
    # When we buy it
    with pytest.raises(Conflict) as raised:
        buy("+15005550000")
    # Then the conflict says the number is unavailable
    assert raised.value.error_code == "number_unavailable"


def test_buying_the_magic_invalid_number_names_the_phone_number_field(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio's test number that is invalid
    # When we buy it
    with pytest.raises(InvalidInput) as raised:
        buy("+15005550001")
    # Then the phone number is blamed
    assert raised.value.field == "phoneNumber"


def test_update_changes_friendly_name_and_voice_url(twilio_emulator: TwilioEmulator) -> None:
    # Given a number we own
    sid = buy().sid
    # When we update its name and voice URL
    updated = gateway.update_number(main(), sid, friendly_name="Sales", voice_url="https://voice.example.test/sales")
    # Then Twilio has the new values
    assert (updated.friendly_name, updated.voice_url) == ("Sales", "https://voice.example.test/sales")


def test_release_removes_the_number_and_a_second_release_says_already_gone(
    twilio_emulator: TwilioEmulator,
) -> None:
    # Given a number we own
    sid = buy().sid
    # When we release it twice
    first, second = gateway.release_number(main(), sid), gateway.release_number(main(), sid)
    # Then the first released it and the second found it already gone (20404)
    assert (first, second) == (True, False)
    assert twilio_emulator.incoming_numbers() == []


def test_validation_request_returns_a_six_digit_code(twilio_emulator: TwilioEmulator) -> None:
    # Given a FrenchDocuments mobile number to verify
    # When we ask Twilio to verify it
    request = gateway.request_caller_id_validation(main(), "+33612345678", "Boss", STATUS_URL)
    # Then Twilio gives the 6-digit code the person will type, and the call it places
    assert request.validation_code.isdigit()
    assert len(request.validation_code) == 6
    assert request.call_sid.startswith("CA")
    assert request.phone_number == "+33612345678"


def test_validation_request_for_magic_invalid_number_is_invalid_input(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio's invalid test number
    # When we ask to verify it
    # Then the phone number is refused
    with pytest.raises(InvalidInput):
        gateway.request_caller_id_validation(main(), "+15005550001", "x", STATUS_URL)


def test_verified_number_gets_a_signed_success_callback_and_becomes_a_caller_id(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a validation request with our status callback
    url = callback_receiver.url("/phoneNumber/twilio/validationStatus")
    request = gateway.request_caller_id_validation(main(), "+33612345678", "Boss", url)
    # When the person completes the verification call
    callback = callback_receiver.next()
    # Then we receive a success callback signed with our auth token, and the caller ID exists
    assert callback.form["VerificationStatus"] == "success"
    assert callback.form["CallSid"] == request.call_sid
    assert signatures.is_valid_signature(url, callback.form, callback.signature, twilio_emulator.auth_token)
    caller_id = gateway.find_caller_id(main(), "+33612345678")
    assert caller_id is not None
    assert caller_id.sid == callback.form["OutgoingCallerIdSid"]


def test_tampered_callback_fails_signature_check(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a signed validation callback
    url = callback_receiver.url("/phoneNumber/twilio/validationStatus")
    gateway.request_caller_id_validation(main(), "+33612345678", "Boss", url)
    callback = callback_receiver.next()
    # When one parameter is changed on the way
    tampered = {**callback.form, "VerificationStatus": "failed"}
    # Then the signature no longer matches
    assert not signatures.is_valid_signature(url, tampered, callback.signature, twilio_emulator.auth_token)


def test_number_ending_in_0000_fails_verification_and_is_no_caller_id(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a number whose owner never types the code
    url = callback_receiver.url("/cb")
    gateway.request_caller_id_validation(main(), "+33612340000", "Nobody", url)
    # When the verification call ends
    callback = callback_receiver.next()
    # Then the callback says failed and no caller ID exists
    assert callback.form["VerificationStatus"] == "failed"
    assert gateway.find_caller_id(main(), "+33612340000") is None


def test_validating_an_already_verified_number_is_a_conflict(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a verified caller ID
    gateway.request_caller_id_validation(main(), "+33612345678", "Boss", callback_receiver.url("/cb"))
    callback_receiver.next()
    # When we ask to verify it again
    with pytest.raises(Conflict) as raised:
        gateway.request_caller_id_validation(main(), "+33612345678", "Boss", callback_receiver.url("/cb"))
    # Then Twilio says it is already verified
    assert raised.value.error_code == "already_verified"


def test_delete_caller_id_removes_it_and_a_second_delete_says_already_gone(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver
) -> None:
    # Given a verified caller ID
    gateway.request_caller_id_validation(main(), "+33612345678", "Boss", callback_receiver.url("/cb"))
    sid = callback_receiver.next().form["OutgoingCallerIdSid"]
    # When we delete it twice
    first, second = gateway.delete_caller_id(main(), sid), gateway.delete_caller_id(main(), sid)
    # Then it is gone, and the second delete is not an error
    assert (first, second) == (True, False)
    assert twilio_emulator.caller_ids() == []


def test_caller_id_pages_list_every_caller_id_a_page_at_a_time(
    twilio_emulator: TwilioEmulator, callback_receiver: CallbackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three verified caller IDs, and pages of two
    phones = ["+33612345671", "+33612345672", "+33612345673"]
    for phone in phones:
        gateway.request_caller_id_validation(main(), phone, f"ra:cp_{phone[-1]} Desk", callback_receiver.url("/cb"))
        callback_receiver.next()
    monkeypatch.setattr(gateway, "PAGE_SIZE", 2)
    # When we list them
    pages = [page.items for page in gateway.caller_id_pages(main())]
    # Then two pages hold all three, with their FriendlyName
    assert [len(page) for page in pages] == [2, 1]
    listed = [caller_id for page in pages for caller_id in page]
    assert sorted(caller_id.phone_number for caller_id in listed) == phones
    assert {caller_id.friendly_name for caller_id in listed} == {"ra:cp_1 Desk", "ra:cp_2 Desk", "ra:cp_3 Desk"}


def test_find_caller_id_of_unknown_number_is_none(twilio_emulator: TwilioEmulator) -> None:
    # Given no caller ID for this number
    # When we look it up
    # Then there is none
    assert gateway.find_caller_id(main(), "+33698765432") is None


def test_twilio_server_error_is_an_upstream_failure_with_the_twilio_code(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio fails once with an internal error
    twilio_emulator.inject_fault("POST", BUY_PATH, status=500, code=20500)
    # When we buy a number
    with pytest.raises(UpstreamFailure) as raised:
        buy()
    # Then it is an upstream failure carrying Twilio's code, and the POST was not retried
    assert raised.value.details == {"twilioCode": 20500}
    assert len(twilio_emulator.requests_log) == 1


def test_a_short_rate_limit_is_absorbed_by_retries(
    twilio_emulator: TwilioEmulator, fast_twilio_retries: list[float]
) -> None:
    # Given Twilio throttles the next two requests
    twilio_emulator.inject_fault("POST", BUY_PATH, status=429, code=20429, times=2)
    # When we buy a number
    bought = buy()
    # Then the purchase succeeded on the third attempt after two backoffs
    assert bought.phone_number == "+15005550006"
    assert len(fast_twilio_retries) == 2


def test_a_rate_limit_storm_becomes_rate_limited_after_bounded_retries(
    twilio_emulator: TwilioEmulator, fast_twilio_retries: list[float]
) -> None:
    # Given Twilio throttles every request for a while
    twilio_emulator.inject_fault("POST", BUY_PATH, status=429, code=20429, times=50)
    # When we buy a number
    with pytest.raises(RateLimited):
        buy()
    # Then we gave up after three attempts
    assert len(twilio_emulator.requests_log) == 3


def test_connection_dropped_after_sending_a_purchase_is_not_retried(twilio_emulator: TwilioEmulator) -> None:
    # Given Twilio drops the connection once the purchase request is sent
    twilio_emulator.inject_fault("POST", BUY_PATH, drop_connection=True)
    # When we buy a number
    with pytest.raises(UpstreamFailure):
        buy()
    # Then it was sent once only: a retry could have bought twice
    assert len(twilio_emulator.requests_log) == 1


def test_each_twilio_host_has_its_own_base_url(
    twilio_emulator: TwilioEmulator, monkeypatch: pytest.MonkeyPatch, fast_twilio_retries: list[float]
) -> None:
    # Given api.twilio.com stood in for by the emulator, and numbers.twilio.com by an address where nothing listens
    from robotappel.config import get_settings
    from robotappel.twilio.client import get_twilio_client

    monkeypatch.setenv("TWILIO_NUMBERS_BASE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    get_twilio_client.cache_clear()
    # When we call each host
    # Then the API's calls reach the emulator, and the Numbers API's go where its own setting says
    assert gateway.search_available_numbers(main(), "US", "local", limit=1)
    with pytest.raises(UpstreamFailure):
        gateway.fetch_bundle(main(), BUNDLE_SID)


def test_unreachable_twilio_is_retried_then_an_upstream_failure(
    twilio_emulator: TwilioEmulator, monkeypatch: pytest.MonkeyPatch, fast_twilio_retries: list[float]
) -> None:
    # Given nothing listens at Twilio's address
    from robotappel.config import get_settings
    from robotappel.twilio.client import get_twilio_client

    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    get_twilio_client.cache_clear()
    # When we buy a number
    with pytest.raises(UpstreamFailure):
        buy()
    # Then the connection was attempted three times (nothing was sent, so retrying was safe)
    assert len(fast_twilio_retries) == 2
