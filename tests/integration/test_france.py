"""France for real: purchases need an approved regulatory bundle (the org's default when the request names none),
and every number says whether an automated calling system may present it as caller ID (Arcep 2022-1583)."""

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from robotappel.twilio import gateway
from tests.fixtures.lambdas import HttpResult, call

BUNDLE = "BU" + "0123456789abcdef" * 2
REJECTED_BUNDLE = "BU" + "0" * 32  # the emulator's bundle that Twilio rejected
ADDRESS = "AD" + "fedcba9876543210" * 2
RESERVED_PREFIXES = tuple(
    "+33" + prefix
    for prefix in (
        "162",
        "163",
        "270",
        "271",
        "377",
        "378",
        "424",
        "425",
        "568",
        "569",
        "948",
        "949",
        "9475",
        "9476",
        "9477",
        "9478",
        "9479",
    )
)


def set_default(country: str = "FR", **body: str) -> HttpResult:
    return call(
        "set_regulatory_default",
        path_params={"countryCode": country},
        body={"numberType": "local", "bundleSid": BUNDLE, "addressSid": ADDRESS, **body},
    )


def buy(**body: object) -> HttpResult:
    return call("buy_twilio_number", body={"countryCode": "FR", **body})


def sent_purchases(emulator: TwilioEmulator) -> list[dict[str, str]]:
    return [
        request.form
        for request in emulator.requests_log
        if request.method == "POST" and request.path.endswith("/IncomingPhoneNumbers.json")
    ]


# ------------------------------------------------------------------ regulatory defaults
def test_an_approved_bundle_becomes_the_orgs_default_for_free(org: str, twilio_layer: TwilioEmulator) -> None:
    # When the org registers its approved bundle and address for French local numbers
    result = set_default()
    # Then it is the org's default, listed, and nothing was charged
    assert result.status == 200
    assert result.body["countryCode"] == "FR"
    assert result.body["numberType"] == "local"
    assert result.body["bundleSid"] == BUNDLE
    assert result.body["addressSid"] == ADDRESS
    listed = call("get_regulatory_defaults")
    assert listed.status == 200
    assert listed.body == [result.body]
    assert ledger.get_balance(org) == 100


def test_a_bundle_twilio_rejected_cannot_become_a_default(org: str, twilio_layer: TwilioEmulator) -> None:
    result = set_default(bundleSid=REJECTED_BUNDLE)
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    assert result.body["field"] == "bundleSid"
    assert call("get_regulatory_defaults").body == []


def test_a_default_names_a_real_country(org: str, twilio_layer: TwilioEmulator) -> None:
    result = set_default(country="XX")
    assert result.status == 422
    assert result.body["field"] == "countryCode"


def test_defaults_are_the_callers_orgs_only(org: str, twilio_layer: TwilioEmulator) -> None:
    set_default()
    assert call("get_regulatory_defaults", org="org-b").body == []


# ------------------------------------------------------------------ purchases
def test_a_french_purchase_without_bundle_nor_default_is_refused_and_free(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given an org with no regulatory default
    # When it buys a French local number naming no bundle
    result = buy()
    # Then Twilio's refusal says what is missing, and nothing is charged
    assert result.status == 422
    assert result.body["error"] == "bundle_required"
    assert ledger.get_balance(org) == 100


def test_a_french_purchase_uses_the_orgs_default_bundle_and_address(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given the org's default for French local numbers
    set_default()
    # When it buys a French local number naming no bundle
    result = buy()
    # Then the purchase carried the default's bundle and address, and was charged
    assert result.status == 201, result.body
    [purchase] = sent_purchases(twilio_layer)
    assert (purchase["BundleSid"], purchase["AddressSid"]) == (BUNDLE, ADDRESS)
    assert ledger.get_balance(org) == 60


def test_a_bundle_named_by_the_purchase_wins_over_the_default(org: str, twilio_layer: TwilioEmulator) -> None:
    set_default()
    result = buy(bundleSid=REJECTED_BUNDLE, addressSid=ADDRESS)
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    assert ledger.get_balance(org) == 100


def test_an_automated_calling_purchase_buys_a_number_from_the_reserved_ranges(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given the org's default for French local numbers
    set_default()
    # When it buys a number for automated calls
    result = buy(automatedCalling=True)
    # Then the number is in a range reserved for automated calling systems, and says so
    assert result.status == 201, result.body
    assert result.body["phoneNumber"].startswith(RESERVED_PREFIXES)
    assert result.body["automatedCalling"] == "allowed"
    assert "2022-1583" in result.body["automatedCallingRule"]


def test_an_explicit_number_not_allowed_for_automated_calls_is_refused(org: str, twilio_layer: TwilioEmulator) -> None:
    set_default()
    result = buy(phoneNumber="+33142000000", automatedCalling=True)
    assert result.status == 422
    assert result.body["field"] == "phoneNumber"
    assert sent_purchases(twilio_layer) == []
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("phone_number", ["+33612345678", "0756123456", "+33 7 61 23 45 67"])
def test_a_french_mobile_asked_for_by_number_is_refused(
    org: str, twilio_layer: TwilioEmulator, phone_number: str
) -> None:
    # Given a purchase that asks for a French mobile by its number, not by numberType
    result = buy(phoneNumber=phone_number, bundleSid=BUNDLE, addressSid=ADDRESS)
    # Then it is refused naming phoneNumber, before Twilio is asked, and free
    assert result.status == 422
    assert result.body["field"] == "phoneNumber"
    assert sent_purchases(twilio_layer) == []
    assert ledger.get_balance(org) == 100


def test_an_explicit_number_is_recorded_with_the_type_it_really_has(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a French 09 number offered by Twilio (a non-geographic number: Twilio's "national" type)
    [offer] = gateway.search_available_numbers("FR", "national", limit=1)
    assert offer.startswith("+339")
    set_default(numberType="national")
    # When the org buys it by number, leaving numberType at its default ("local")
    result = buy(phoneNumber=offer)
    # Then the number is recorded as what it is
    assert result.status == 201, result.body
    assert result.body["numberType"] == "national"


# ------------------------------------------------------------------ every number says what it may do
def test_a_french_mobile_client_phone_says_it_may_not_place_automated_calls(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    call("add_client_phone", body={"phoneNumber": "06 12 34 56 78"})
    [phone] = call("get_all_client_phone_numbers").body
    assert phone["automatedCalling"] == "forbidden"
    assert "mobile" in phone["automatedCallingRule"]
    [row] = call("get_org_phone_number_list", path_params={"orgId": org}).body
    assert (row["automatedCalling"], row["automatedCallingRule"]) == (
        phone["automatedCalling"],
        phone["automatedCallingRule"],
    )


def test_a_client_phone_in_a_reserved_range_says_french_networks_cut_it(org: str, twilio_layer: TwilioEmulator) -> None:
    # Given a client phone in a range reserved for automated calling, held at another operator
    call("add_client_phone", body={"phoneNumber": "01 62 12 34 56"})
    # When it is listed
    [phone] = call("get_all_client_phone_numbers").body
    # Then it may not be the caller ID of automated calls: Twilio cannot authenticate it to French operators
    assert phone["automatedCalling"] == "forbidden"
    assert "1 October 2024" in phone["automatedCallingRule"]


def test_a_number_outside_the_rule_table_is_not_assessed(org: str, twilio_layer: TwilioEmulator) -> None:
    result = call("buy_twilio_number", body={"countryCode": "US"})
    assert result.status == 201
    assert result.body["automatedCalling"] == "not_assessed"
