"""France for real: purchases need an approved regulatory bundle (the org's default when the request names none),
and every number says whether an automated calling system may present it as caller ID (Arcep 2022-1583)."""

import pytest

from local import regulatory
from local.twilio_emulator import TwilioEmulator
from robotappel.dal import ledger
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from tests.fixtures.lambdas import HttpResult, call
from tests.fixtures.twilio import FrenchDocuments, french_documents, org_account

RESERVED_PREFIXES = tuple(
    "+33" + prefix for prefix in ("162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949")
)


@pytest.fixture
def documents(org: str, twilio_layer: TwilioEmulator) -> FrenchDocuments:
    """org-a's French bundles and addresses, in its subaccount."""
    return french_documents(twilio_layer, account_of(org))


def set_default(documents: FrenchDocuments, country: str = "FR", **body: str) -> HttpResult:
    return call(
        "set_regulatory_default",
        path_params={"countryCode": country},
        body={"numberType": "local", "bundleSid": documents.local, "addressSid": documents.address, **body},
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
def test_an_approved_bundle_becomes_the_orgs_default_for_free(org: str, documents: FrenchDocuments) -> None:
    # When the org registers its approved bundle and address for French local numbers
    result = set_default(documents)
    # Then it is the org's default, listed, and nothing was charged
    assert result.status == 200
    assert result.body["countryCode"] == "FR"
    assert result.body["numberType"] == "local"
    assert result.body["bundleSid"] == documents.local
    assert result.body["addressSid"] == documents.address
    listed = call("get_regulatory_defaults")
    assert listed.status == 200
    assert listed.body == [result.body]
    assert ledger.get_balance(org) == 100


def test_a_bundle_twilio_rejected_cannot_become_a_default(org: str, documents: FrenchDocuments) -> None:
    result = set_default(documents, bundleSid=documents.rejected)
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    assert result.body["field"] == "bundleSid"
    assert call("get_regulatory_defaults").body == []


def test_a_provisionally_approved_bundle_cannot_become_a_default(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    # Given a bundle Twilio approved provisionally (it may still reject it)
    provisional = twilio_layer.add_bundle(
        "FR", "local", friendly_name="RobotAppel provisional", account_sid=account_of("org-a")
    )
    # When the org makes it its default
    result = set_default(documents, bundleSid=provisional)
    # Then it is refused until Twilio approves it
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    assert "twilio-approved" in result.body["message"]


def test_a_bundle_made_for_another_number_type_cannot_become_a_default(org: str, documents: FrenchDocuments) -> None:
    # Given a bundle made for French local numbers
    # When the org makes it its default for French national numbers
    result = set_default(documents, numberType="national")
    # Then it is refused as Twilio would refuse every purchase with it, saying which bundle is needed
    assert result.status == 422
    assert result.body["error"] == "bundle_mismatch"
    assert result.body["field"] == "bundleSid"
    assert "NumberType=national" in result.body["message"]
    assert call("get_regulatory_defaults").body == []


def test_a_bundle_made_for_another_country_cannot_become_a_default(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    guadeloupe = twilio_layer.add_bundle("GP", "local", account_sid=account_of("org-a"))
    result = set_default(documents, bundleSid=guadeloupe)
    assert result.status == 422
    assert result.body["error"] == "bundle_mismatch"


def test_an_address_outside_france_cannot_be_the_default_of_french_local_numbers(
    org: str, documents: FrenchDocuments
) -> None:
    result = set_default(documents, addressSid=documents.address_abroad)
    assert result.status == 422
    assert result.body["error"] == "address_outside_country"
    assert result.body["field"] == "addressSid"


def test_an_address_twilio_does_not_have_cannot_be_a_default(org: str, documents: FrenchDocuments) -> None:
    result = set_default(documents, addressSid="AD" + "9" * 32)
    assert result.status == 422
    assert result.body["error"] == "address_not_found"


def test_a_put_without_address_keeps_the_stored_address(org: str, documents: FrenchDocuments) -> None:
    # Given the org's default for French local numbers, with its address
    set_default(documents)
    # When it changes the bundle, naming no address
    result = call(
        "set_regulatory_default",
        path_params={"countryCode": "FR"},
        body={"numberType": "local", "bundleSid": documents.local},
    )
    # Then the stored address is kept, not erased
    assert result.status == 200, result.body
    assert result.body["addressSid"] == documents.address
    assert call("get_regulatory_defaults").body[0]["addressSid"] == documents.address


def test_a_first_put_without_address_is_refused_naming_address_sid(org: str, documents: FrenchDocuments) -> None:
    result = call(
        "set_regulatory_default",
        path_params={"countryCode": "FR"},
        body={"numberType": "local", "bundleSid": documents.local},
    )
    assert result.status == 422
    assert result.body["error"] == "address_required"
    assert result.body["field"] == "addressSid"
    assert call("get_regulatory_defaults").body == []


def test_a_default_names_a_real_country(org: str, documents: FrenchDocuments) -> None:
    result = set_default(documents, country="XX")
    assert result.status == 422
    assert result.body["field"] == "countryCode"


def test_defaults_are_the_callers_orgs_only(org: str, documents: FrenchDocuments) -> None:
    set_default(documents)
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


def test_a_refusal_for_want_of_a_bundle_names_the_country_the_number_type_and_the_route(
    org: str, documents: FrenchDocuments
) -> None:
    # Given an org with a default for French local numbers only
    set_default(documents)
    [national] = gateway.search_available_numbers(account_of("org-a"), "FR", "national", limit=1)
    # When it buys a French national number (0948...)
    result = buy(phoneNumber=national)
    # Then the refusal says which number type needs a bundle, and where to set it
    assert result.status == 422
    assert result.body["error"] == "bundle_required"
    assert "FR national" in result.body["message"]
    assert "PUT /phoneNumber/regulatory/FR" in result.body["message"]
    assert '"numberType": "national"' in result.body["message"]


def test_a_french_purchase_uses_the_orgs_default_bundle_and_address(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    # Given the org's default for French local numbers
    set_default(documents)
    # When it buys a French local number naming no bundle
    result = buy()
    # Then the purchase carried the default's bundle and address, and was charged
    assert result.status == 201, result.body
    [purchase] = sent_purchases(twilio_layer)
    assert (purchase["BundleSid"], purchase["AddressSid"]) == (documents.local, documents.address)
    assert ledger.get_balance(org) == 60


def test_a_bundle_named_by_the_purchase_wins_over_the_default(org: str, documents: FrenchDocuments) -> None:
    set_default(documents)
    result = buy(bundleSid=documents.rejected, addressSid=documents.address)
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    assert ledger.get_balance(org) == 100


def test_a_national_number_bought_with_a_local_bundle_is_refused_as_twilio_refuses_it(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    # Given a French national number (0948...) and a bundle made for French local numbers
    [national] = gateway.search_available_numbers(account_of("org-a"), "FR", "national", limit=1)
    # When the org buys the number with that bundle
    result = buy(phoneNumber=national, bundleSid=documents.local, addressSid=documents.address)
    # Then Twilio refuses it (21649: the bundle is not valid for the number), and nothing is charged
    assert result.status == 422
    assert result.body["error"] == "bundle_not_approved"
    [refused] = [r for r in twilio_layer.requests_log if r.path.endswith("/IncomingPhoneNumbers.json")]
    assert (refused.status, refused.response_json["code"]) == (400, 21649)
    assert ledger.get_balance(org) == 100


def test_a_french_local_number_with_an_address_abroad_is_refused_as_twilio_refuses_it(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    result = buy(bundleSid=documents.local, addressSid=documents.address_abroad)
    assert result.status == 422
    assert result.body["error"] == "address_not_accepted"
    [refused] = [r for r in twilio_layer.requests_log if r.path.endswith("/IncomingPhoneNumbers.json")]
    assert refused.response_json["code"] == 21631


def test_an_automated_calling_purchase_buys_a_number_from_the_reserved_ranges(
    org: str, documents: FrenchDocuments
) -> None:
    # Given the org's default for French local numbers
    set_default(documents)
    # When it buys a number for automated calls
    result = buy(automatedCalling=True)
    # Then the number is in a range reserved for automated calling systems, and says so
    assert result.status == 201, result.body
    assert result.body["phoneNumber"].startswith(RESERVED_PREFIXES)
    assert result.body["automatedCalling"] == "allowed"
    assert "2022-1583" in result.body["automatedCallingRule"]


def test_an_automated_calling_purchase_searches_the_reserved_ranges_with_contains_patterns(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    # Given the org's default for French national numbers
    set_default(documents, numberType="national", bundleSid=documents.national)
    # When it buys a national number for automated calls
    result = buy(numberType="national", automatedCalling=True)
    # Then Twilio was searched for a reserved range (0948, 0949) by a Contains pattern, not at random
    assert result.status == 201, result.body
    searches = [r.query for r in twilio_layer.requests_log if "/AvailablePhoneNumbers/" in r.path]
    assert [search["Contains"] for search in searches] == [searches[0]["Contains"]]
    assert searches[0]["Contains"] in ("948******", "949******")
    assert result.body["phoneNumber"].startswith("+33" + searches[0]["Contains"].rstrip("*"))


def test_an_overseas_number_for_automated_calls_is_bought_in_its_reserved_range(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    # Given a bundle for Guadeloupe's national numbers and an address in France
    guadeloupe = twilio_layer.add_bundle("GP", "national", account_sid=account_of("org-a"))
    # When the org buys a Guadeloupe number for automated calls
    result = buy(
        countryCode="GP",
        numberType="national",
        automatedCalling=True,
        bundleSid=guadeloupe,
        addressSid=documents.address,
    )
    # Then it is a +590 9475 number, allowed by the overseas rule
    assert result.status == 201, result.body
    assert result.body["phoneNumber"].startswith("+5909475")
    assert result.body["automatedCalling"] == "allowed"
    assert "09475 to 09479" in result.body["automatedCallingRule"]


def test_a_client_may_search_a_reserved_range_with_a_contains_pattern(org: str, documents: FrenchDocuments) -> None:
    set_default(documents)
    result = buy(contains="377******")
    assert result.status == 201, result.body
    assert result.body["phoneNumber"].startswith("+33377")


def test_an_explicit_number_not_allowed_for_automated_calls_is_refused(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments
) -> None:
    set_default(documents)
    result = buy(phoneNumber="+33142000000", automatedCalling=True)
    assert result.status == 422
    assert result.body["field"] == "phoneNumber"
    assert sent_purchases(twilio_layer) == []
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("phone_number", ["+33612345678", "0756123456", "+33 7 61 23 45 67", "+590690123456"])
def test_a_french_mobile_asked_for_by_number_is_refused(
    org: str, twilio_layer: TwilioEmulator, documents: FrenchDocuments, phone_number: str
) -> None:
    # Given a purchase that asks for a French mobile, metropolitan or overseas, by its number, not by numberType
    result = buy(phoneNumber=phone_number, bundleSid=documents.local, addressSid=documents.address)
    # Then it is refused naming phoneNumber, before Twilio is asked, and free
    assert result.status == 422
    assert result.body["field"] == "phoneNumber"
    assert sent_purchases(twilio_layer) == []
    assert ledger.get_balance(org) == 100


def test_an_explicit_number_is_recorded_with_the_type_it_really_has(org: str, documents: FrenchDocuments) -> None:
    # Given a French 09 number offered by Twilio (a non-geographic number: Twilio's "national" type)
    [offer] = gateway.search_available_numbers(account_of("org-a"), "FR", "national", limit=1)
    assert offer.startswith("+339")
    set_default(documents, numberType="national", bundleSid=documents.national)
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


# ------------------------------------------------------------------ make run's documents
def test_make_run_makes_an_approved_bundle_per_french_number_type_and_a_french_address(
    org: str, twilio_layer: TwilioEmulator
) -> None:
    # Given the documents `make run` makes in a seeded org's subaccount and prints in its banner
    account_sid = org_account(twilio_layer, org)["sid"]
    documents = regulatory.make(twilio_layer, org, account_sid)
    printed = "\n".join(regulatory.banner_lines({org: account_sid}))
    # When each becomes the org's default for its French number type
    results = {
        number_type: call(
            "set_regulatory_default",
            path_params={"countryCode": "FR"},
            body={"numberType": number_type, "bundleSid": bundle, "addressSid": documents.address},
        )
        for number_type, bundle in documents.bundles.items()
    }
    # Then every one is accepted, and the banner names them all
    assert {number_type: result.status for number_type, result in results.items()} == dict.fromkeys(
        ("local", "national", "tollFree"), 200
    )
    assert all(sid in printed for sid in (*documents.bundles.values(), documents.address))
