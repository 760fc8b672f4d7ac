"""The Twilio emulator's accounts, as Twilio's: subaccounts of the main account, every resource in its own account,
whose credentials reach which account, suspended and closed accounts, callbacks signed with the owner's token."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from local.twilio_emulator import TwilioEmulator, TwilioError
from local.twilio_emulator import accounts as emulator_accounts
from tests.fixtures.twilio import CallbackReceiver

Auth = tuple[str, str]
PHONE = "+33612345678"


def main_auth(emulator: TwilioEmulator) -> Auth:
    return emulator.account_sid, emulator.auth_token


def own_auth(account: dict[str, Any]) -> Auth:
    return account["sid"], account["auth_token"]


def call(emulator: TwilioEmulator, method: str, path: str, auth: Auth, **form: str) -> requests.Response:
    """`path` under /2010-04-01 (or /v2/... for Numbers v2); GET sends `form` as the query."""
    url = emulator.base_url + (path if path.startswith("/v2/") else f"/2010-04-01{path}")
    data = form if method == "POST" else None
    params = form if method == "GET" else None
    return requests.request(method, url, auth=auth, data=data, params=params, timeout=5)


def in_account(account_sid: str, path: str) -> str:
    return f"/Accounts/{account_sid}{path}"


def buy(emulator: TwilioEmulator, account_sid: str, auth: Auth, **form: str) -> requests.Response:
    return call(emulator, "POST", in_account(account_sid, "/IncomingPhoneNumbers.json"), auth, **form)


def error_code(response: requests.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def sub(twilio_emulator: TwilioEmulator) -> dict[str, Any]:
    return twilio_emulator.create_subaccount("stage org-a")


@pytest.fixture
def other_sub(twilio_emulator: TwilioEmulator) -> dict[str, Any]:
    return twilio_emulator.create_subaccount("stage org-b")


@pytest.fixture
def small_emulator() -> Iterator[TwilioEmulator]:
    emulator = TwilioEmulator("AC" + "1" * 32, "main-token", max_subaccounts=2).start()
    yield emulator
    emulator.stop()


# --- the Accounts resource ---


def test_creating_a_subaccount_returns_it_active_owned_by_the_main_account_with_its_own_token(
    twilio_emulator: TwilioEmulator,
) -> None:
    # Given the main account's credentials
    # When they create a subaccount
    created = call(twilio_emulator, "POST", "/Accounts.json", main_auth(twilio_emulator), FriendlyName="org-a")
    # Then it is a new active account of the main one, with an auth token of its own
    assert created.status_code == 201
    account = created.json()
    assert account["owner_account_sid"] == twilio_emulator.account_sid
    assert account["sid"] != twilio_emulator.account_sid
    assert (account["status"], account["friendly_name"]) == ("active", "org-a")
    assert account["auth_token"] not in ("", twilio_emulator.auth_token)
    assert account["uri"] == f"/2010-04-01/Accounts/{account['sid']}.json"


def test_a_subaccount_created_without_a_name_gets_twilios_default_name(twilio_emulator: TwilioEmulator) -> None:
    # Given no FriendlyName
    # When a subaccount is created
    created = call(twilio_emulator, "POST", "/Accounts.json", main_auth(twilio_emulator))
    # Then it is named as Twilio names it
    assert created.json()["friendly_name"].startswith("SubAccount Created at ")


def test_a_friendly_name_longer_than_64_characters_is_refused(twilio_emulator: TwilioEmulator) -> None:
    # Given a FriendlyName of 65 characters
    name = "x" * (emulator_accounts.MAX_FRIENDLY_NAME_LENGTH + 1)
    # When a subaccount is created with it
    created = call(twilio_emulator, "POST", "/Accounts.json", main_auth(twilio_emulator), FriendlyName=name)
    # Then Twilio refuses it, and no subaccount was made
    assert created.status_code == 400
    assert len(twilio_emulator.accounts()) == 1


def test_the_main_account_lists_itself_then_its_subaccounts(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given two subaccounts
    # When the main account lists accounts
    listed = call(twilio_emulator, "GET", "/Accounts.json", main_auth(twilio_emulator)).json()
    # Then it sees itself and both
    assert [a["sid"] for a in listed["accounts"]] == [twilio_emulator.account_sid, sub["sid"], other_sub["sid"]]


def test_the_accounts_list_filters_by_status_and_friendly_name(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given one of two subaccounts suspended
    twilio_emulator.update_account(other_sub["sid"], status="suspended")
    auth = main_auth(twilio_emulator)
    # When accounts are listed by status, and by name
    suspended = call(twilio_emulator, "GET", "/Accounts.json", auth, Status="suspended").json()["accounts"]
    named = call(twilio_emulator, "GET", "/Accounts.json", auth, FriendlyName="stage org-a").json()["accounts"]
    # Then each filter keeps only its match
    assert [a["sid"] for a in suspended] == [other_sub["sid"]]
    assert [a["sid"] for a in named] == [sub["sid"]]


def test_the_accounts_list_is_paged(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given the main account and one subaccount
    # When accounts are listed one per page
    first = call(twilio_emulator, "GET", "/Accounts.json", main_auth(twilio_emulator), PageSize="1").json()
    # Then the first page holds the main account and points to the next
    assert [a["sid"] for a in first["accounts"]] == [twilio_emulator.account_sid]
    assert first["next_page_uri"] is not None


def test_a_subaccount_sees_only_itself(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given two subaccounts
    # When one lists accounts with its own credentials
    listed = call(twilio_emulator, "GET", "/Accounts.json", own_auth(sub)).json()
    # Then it sees only itself
    assert [a["sid"] for a in listed["accounts"]] == [sub["sid"]]


def test_a_subaccount_cannot_fetch_the_main_account(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount's credentials
    # When they fetch the main account
    fetched = call(twilio_emulator, "GET", f"/Accounts/{twilio_emulator.account_sid}.json", own_auth(sub))
    # Then Twilio refuses them as wrong credentials
    assert error_code(fetched) == (401, emulator_accounts.AUTHENTICATE)


def test_a_subaccount_cannot_create_subaccounts(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount's credentials
    # When they create a subaccount
    created = call(twilio_emulator, "POST", "/Accounts.json", own_auth(sub), FriendlyName="nested")
    # Then Twilio refuses: subaccounts cannot contain subaccounts
    assert error_code(created) == (400, emulator_accounts.SUBACCOUNTS_CANNOT_NEST)


def test_a_subaccount_cannot_change_its_own_status(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount's credentials
    # When they suspend that subaccount
    updated = call(twilio_emulator, "POST", f"/Accounts/{sub['sid']}.json", own_auth(sub), Status="suspended")
    # Then only the main account's credentials may
    assert error_code(updated) == (403, emulator_accounts.FORBIDDEN)
    assert twilio_emulator.account(sub["sid"])["status"] == "active"


def test_the_main_account_cannot_suspend_itself(twilio_emulator: TwilioEmulator) -> None:
    # Given the main account's credentials
    # When they suspend the main account
    path = f"/Accounts/{twilio_emulator.account_sid}.json"
    updated = call(twilio_emulator, "POST", path, main_auth(twilio_emulator), Status="suspended")
    # Then it is refused
    assert error_code(updated) == (403, emulator_accounts.FORBIDDEN)


def test_a_closed_subaccount_cannot_be_reopened(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a closed subaccount
    twilio_emulator.update_account(sub["sid"], status="closed")
    # When the main account reactivates it
    path = f"/Accounts/{sub['sid']}.json"
    updated = call(twilio_emulator, "POST", path, main_auth(twilio_emulator), Status="active")
    # Then Twilio refuses: a closed account is closed for good
    assert error_code(updated) == (400, emulator_accounts.CLOSED_FOR_GOOD)
    assert twilio_emulator.account(sub["sid"])["status"] == "closed"


def test_closing_a_subaccount_releases_its_numbers(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount holding a number
    assert buy(twilio_emulator, sub["sid"], main_auth(twilio_emulator), AreaCode="415").status_code == 201
    # When it is closed
    twilio_emulator.update_account(sub["sid"], status="closed")
    # Then its number is released
    assert twilio_emulator.incoming_numbers(sub["sid"]) == []


def test_subaccounts_beyond_the_limit_are_refused_with_twilios_error(small_emulator: TwilioEmulator) -> None:
    # Given an emulator allowing two subaccounts, both made
    small_emulator.create_subaccount("one")
    small_emulator.create_subaccount("two")
    # When a third is created
    created = call(small_emulator, "POST", "/Accounts.json", main_auth(small_emulator), FriendlyName="three")
    # Then Twilio's "Reached maximum number of subaccounts" refuses it
    assert error_code(created) == (400, emulator_accounts.TOO_MANY_SUBACCOUNTS)


def test_the_subaccount_helper_refuses_beyond_the_limit_as_the_api_does(small_emulator: TwilioEmulator) -> None:
    # Given an emulator allowing two subaccounts, both made
    small_emulator.create_subaccount()
    small_emulator.create_subaccount()
    # When a test makes a third
    # Then it gets Twilio's error
    with pytest.raises(TwilioError) as refused:
        small_emulator.create_subaccount()
    assert refused.value.code == emulator_accounts.TOO_MANY_SUBACCOUNTS


def test_reset_leaves_only_the_main_account(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount
    # When the emulator is reset
    twilio_emulator.reset()
    # Then only the main account is left, and the subaccount's credentials open nothing
    assert [a["sid"] for a in twilio_emulator.accounts()] == [twilio_emulator.account_sid]
    listed = call(twilio_emulator, "GET", "/Accounts.json", own_auth(sub))
    assert listed.status_code == 401


# --- every resource in its own account ---


def resource_of(emulator: TwilioEmulator, account_sid: str, kind: str) -> str:
    """The path, under its account, of a new resource of `kind` in that account."""
    auth = main_auth(emulator)
    if kind == "IncomingPhoneNumbers":
        sid = buy(emulator, account_sid, auth, AreaCode="415").json()["sid"]
    elif kind == "Addresses":
        sid = emulator.add_address("FR", account_sid=account_sid)
    else:
        call(emulator, "POST", in_account(account_sid, "/OutgoingCallerIds.json"), auth, PhoneNumber=PHONE)
        [caller_id] = wait_for_caller_ids(emulator, account_sid)
        sid = caller_id["sid"]
    return f"/{kind}/{sid}.json"


def wait_for_caller_ids(emulator: TwilioEmulator, account_sid: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = emulator.caller_ids(account_sid)
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no caller ID was verified in {account_sid}")


@pytest.mark.parametrize("kind", ["IncomingPhoneNumbers", "OutgoingCallerIds", "Addresses"])
def test_a_resource_of_one_account_is_not_found_through_another_accounts_url(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any], kind: str
) -> None:
    # Given a resource of one subaccount, found through its own account's URL
    path = resource_of(twilio_emulator, sub["sid"], kind)
    auth = main_auth(twilio_emulator)
    assert call(twilio_emulator, "GET", in_account(sub["sid"], path), auth).status_code == 200
    # When it is fetched through the other subaccount's URL, and the main account's
    elsewhere = [in_account(account, path) for account in (other_sub["sid"], twilio_emulator.account_sid)]
    # Then neither knows it
    assert [call(twilio_emulator, "GET", other, auth).status_code for other in elsewhere] == [404, 404]


def test_an_accounts_number_list_holds_only_its_own_numbers(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given a number in each subaccount
    auth = main_auth(twilio_emulator)
    bought = [buy(twilio_emulator, s["sid"], auth, AreaCode="415").json()["sid"] for s in (sub, other_sub)]
    # When the first subaccount's numbers are listed
    listed = call(twilio_emulator, "GET", in_account(sub["sid"], "/IncomingPhoneNumbers.json"), auth).json()
    # Then only its own number is there
    assert [n["sid"] for n in listed["incoming_phone_numbers"]] == bought[:1]


def test_the_same_phone_is_verified_in_two_accounts_independently(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given a phone verified in one subaccount
    auth = main_auth(twilio_emulator)
    call(twilio_emulator, "POST", in_account(sub["sid"], "/OutgoingCallerIds.json"), auth, PhoneNumber=PHONE)
    [verified] = wait_for_caller_ids(twilio_emulator, sub["sid"])
    # When the other subaccount asks to verify it
    path = in_account(other_sub["sid"], "/OutgoingCallerIds.json")
    requested = call(twilio_emulator, "POST", path, auth, PhoneNumber=PHONE)
    # Then Twilio calls it (no 21450), and each account ends with a caller ID of its own
    assert requested.status_code == 200, requested.text
    [theirs] = wait_for_caller_ids(twilio_emulator, other_sub["sid"])
    assert theirs["sid"] != verified["sid"]
    assert theirs["account_sid"] == other_sub["sid"]


def test_a_phone_verified_in_an_account_is_refused_there_again(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given a phone verified in a subaccount
    path = in_account(sub["sid"], "/OutgoingCallerIds.json")
    call(twilio_emulator, "POST", path, main_auth(twilio_emulator), PhoneNumber=PHONE)
    wait_for_caller_ids(twilio_emulator, sub["sid"])
    # When that subaccount asks to verify it again
    again = call(twilio_emulator, "POST", path, main_auth(twilio_emulator), PhoneNumber=PHONE)
    # Then Twilio says it is already verified
    assert error_code(again) == (400, 21450)


def test_a_number_held_by_one_account_is_neither_offered_nor_sold_to_another(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given a number bought by one subaccount
    auth = main_auth(twilio_emulator)
    search = in_account(other_sub["sid"], "/AvailablePhoneNumbers/US/Local.json")
    phone = buy(twilio_emulator, sub["sid"], auth, AreaCode="415").json()["phone_number"]
    # When the other subaccount searches for it by all its digits, and buys it
    offered = call(twilio_emulator, "GET", search, auth, Contains=phone[2:])
    bought = buy(twilio_emulator, other_sub["sid"], auth, PhoneNumber=phone)
    # Then it is not offered, and not sold
    assert offered.json()["available_phone_numbers"] == []
    assert error_code(bought) == (400, 21422)


def test_a_released_number_is_offered_again(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any]
) -> None:
    # Given a number one subaccount bought then released
    auth = main_auth(twilio_emulator)
    number = buy(twilio_emulator, sub["sid"], auth, AreaCode="415").json()
    call(twilio_emulator, "DELETE", in_account(sub["sid"], f"/IncomingPhoneNumbers/{number['sid']}.json"), auth)
    # When the other subaccount searches for it by all its digits
    search = in_account(other_sub["sid"], "/AvailablePhoneNumbers/US/Local.json")
    offered = call(twilio_emulator, "GET", search, auth, Contains=number["phone_number"][2:])
    # Then it is offered (the search above finds a number that is not held)
    assert [n["phone_number"] for n in offered.json()["available_phone_numbers"]] == [number["phone_number"]]


@pytest.mark.parametrize("borrowed", ["BundleSid", "AddressSid"])
def test_a_french_number_cannot_be_bought_with_another_accounts_bundle_or_address(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any], borrowed: str
) -> None:
    # Given approved documents in each subaccount, and a French number
    documents = {
        s["sid"]: {
            "BundleSid": twilio_emulator.add_bundle("FR", "local", account_sid=s["sid"]),
            "AddressSid": twilio_emulator.add_address("FR", account_sid=s["sid"]),
        }
        for s in (sub, other_sub)
    }
    auth = main_auth(twilio_emulator)
    search = in_account(sub["sid"], "/AvailablePhoneNumbers/FR/Local.json")
    phone = call(twilio_emulator, "GET", search, auth).json()["available_phone_numbers"][0]["phone_number"]
    # When the first subaccount buys it with one document of the other's
    form = documents[sub["sid"]] | {borrowed: documents[other_sub["sid"]][borrowed]}
    refused = buy(twilio_emulator, sub["sid"], auth, PhoneNumber=phone, **form)
    # Then Twilio refuses as for a document it does not know; with its own documents the purchase is made
    assert error_code(refused)[1] == {"BundleSid": 21649, "AddressSid": 21631}[borrowed]
    assert buy(twilio_emulator, sub["sid"], auth, PhoneNumber=phone, **documents[sub["sid"]]).status_code == 201


def test_numbers_v2_acts_in_the_account_whose_credentials_are_used(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given a bundle of a subaccount
    bundle_sid = twilio_emulator.add_bundle("FR", "local", account_sid=sub["sid"])
    path = f"/v2/RegulatoryCompliance/Bundles/{bundle_sid}"
    # When it is fetched with the main account's credentials, and with the subaccount's
    with_main = call(twilio_emulator, "GET", path, main_auth(twilio_emulator))
    with_own = call(twilio_emulator, "GET", path, own_auth(sub))
    # Then only the subaccount's credentials see it (Twilio: non-2010 APIs need the subaccount's credentials)
    assert (with_main.status_code, with_own.status_code) == (404, 200)


def test_a_bundle_created_with_a_subaccounts_credentials_belongs_to_it(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given a subaccount's credentials
    form = {"FriendlyName": "org-a", "Email": "a@example.test", "IsoCountry": "FR"}
    form |= {"NumberType": "local", "EndUserType": "business"}
    # When they create a bundle
    created = call(twilio_emulator, "POST", "/v2/RegulatoryCompliance/Bundles", own_auth(sub), **form)
    # Then it is the subaccount's
    assert created.json()["account_sid"] == sub["sid"]


# --- whose credentials reach which account ---


def test_the_main_accounts_credentials_act_in_a_subaccount_named_in_the_url(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given the main account's credentials
    # When they buy a number in a subaccount
    bought = buy(twilio_emulator, sub["sid"], main_auth(twilio_emulator), AreaCode="415")
    # Then the number is the subaccount's
    assert bought.json()["account_sid"] == sub["sid"]
    assert [n["sid"] for n in twilio_emulator.incoming_numbers(sub["sid"])] == [bought.json()["sid"]]
    assert twilio_emulator.incoming_numbers() == []


def test_an_api_key_of_the_main_account_reaches_its_subaccounts(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given an API key of the main account
    twilio_emulator.add_api_key("SK" + "7" * 32, "key-secret")
    # When it lists a subaccount's numbers
    path = in_account(sub["sid"], "/IncomingPhoneNumbers.json")
    listed = call(twilio_emulator, "GET", path, ("SK" + "7" * 32, "key-secret"))
    # Then Twilio answers
    assert listed.status_code == 200


def test_an_api_key_of_a_subaccount_reaches_only_that_subaccount(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given an API key of a subaccount
    key = ("SK" + "8" * 32, "sub-key-secret")
    twilio_emulator.add_api_key(*key, account_sid=sub["sid"])
    # When it lists the subaccount's numbers, and the main account's
    statuses = [
        call(twilio_emulator, "GET", in_account(account_sid, "/IncomingPhoneNumbers.json"), key).status_code
        for account_sid in (sub["sid"], twilio_emulator.account_sid)
    ]
    # Then only the subaccount's are answered
    assert statuses == [200, 401]


def test_a_subaccounts_own_credentials_act_in_it(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount's own credentials
    # When they buy a number in it
    bought = buy(twilio_emulator, sub["sid"], own_auth(sub), AreaCode="415")
    # Then the number is bought there
    assert bought.status_code == 201
    assert bought.json()["account_sid"] == sub["sid"]


@pytest.mark.parametrize("target", ["main", "sibling"])
def test_a_subaccounts_credentials_reach_no_other_account(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], other_sub: dict[str, Any], target: str
) -> None:
    # Given a subaccount's credentials
    account_sid = twilio_emulator.account_sid if target == "main" else other_sub["sid"]
    # When they list the numbers of the main account, or of another subaccount
    listed = call(twilio_emulator, "GET", in_account(account_sid, "/IncomingPhoneNumbers.json"), own_auth(sub))
    # Then Twilio refuses them as wrong credentials
    assert error_code(listed) == (401, emulator_accounts.AUTHENTICATE)


def test_a_subaccounts_token_does_not_open_the_main_account(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given the main account's SID with the subaccount's token
    auth = (twilio_emulator.account_sid, sub["auth_token"])
    # When it lists the main account's numbers
    listed = call(twilio_emulator, "GET", in_account(twilio_emulator.account_sid, "/IncomingPhoneNumbers.json"), auth)
    # Then the credentials are wrong
    assert error_code(listed) == (401, emulator_accounts.AUTHENTICATE)


# --- suspended accounts ---


def test_a_suspended_subaccounts_resources_are_refused_to_the_main_account(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given a suspended subaccount
    twilio_emulator.update_account(sub["sid"], status="suspended")
    # When the main account's credentials buy a number in it
    bought = buy(twilio_emulator, sub["sid"], main_auth(twilio_emulator), AreaCode="415")
    # Then Twilio refuses: the account is not active
    assert error_code(bought) == (403, emulator_accounts.ACCOUNT_NOT_ACTIVE)
    assert twilio_emulator.incoming_numbers(sub["sid"]) == []


def test_a_suspended_subaccounts_own_credentials_are_refused(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any]
) -> None:
    # Given a suspended subaccount
    twilio_emulator.update_account(sub["sid"], status="suspended")
    # When its own credentials list its numbers
    listed = call(twilio_emulator, "GET", in_account(sub["sid"], "/IncomingPhoneNumbers.json"), own_auth(sub))
    # Then Twilio refuses them
    assert error_code(listed) == (401, emulator_accounts.AUTHENTICATE)


def test_a_reactivated_subaccount_works_again(twilio_emulator: TwilioEmulator, sub: dict[str, Any]) -> None:
    # Given a subaccount suspended, then reactivated through the API
    path = f"/Accounts/{sub['sid']}.json"
    auth = main_auth(twilio_emulator)
    call(twilio_emulator, "POST", path, auth, Status="suspended")
    reactivated = call(twilio_emulator, "POST", path, auth, Status="active")
    # When it buys a number
    bought = buy(twilio_emulator, sub["sid"], own_auth(sub), AreaCode="415")
    # Then Twilio sells it
    assert reactivated.json()["status"] == "active"
    assert bought.status_code == 201


# --- callbacks signed by the owner account ---


def test_a_verification_callback_is_signed_with_the_subaccounts_token(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], callback_receiver: CallbackReceiver
) -> None:
    # Given a validation request in a subaccount, made with the main account's credentials
    url = callback_receiver.url("/validationStatus")
    path = in_account(sub["sid"], "/OutgoingCallerIds.json")
    call(twilio_emulator, "POST", path, main_auth(twilio_emulator), PhoneNumber=PHONE, StatusCallback=url)
    # When Twilio calls back
    received = callback_receiver.next()
    # Then the callback names the subaccount and is signed with its token, not the main account's
    assert received.form["AccountSid"] == sub["sid"]
    assert RequestValidator(sub["auth_token"]).validate(url, received.form, received.signature)
    assert not RequestValidator(twilio_emulator.auth_token).validate(url, received.form, received.signature)


def test_a_call_status_callback_is_signed_with_the_token_of_the_numbers_account(
    twilio_emulator: TwilioEmulator, sub: dict[str, Any], callback_receiver: CallbackReceiver
) -> None:
    # Given a number of a subaccount whose StatusCallback is ours
    url = callback_receiver.url("/callStatus")
    phone = buy(twilio_emulator, sub["sid"], main_auth(twilio_emulator), AreaCode="415", StatusCallback=url).json()
    # When a call reaches it
    twilio_emulator.simulate_call(phone["phone_number"], "+33612345678", "CA" + "3" * 32)
    received = callback_receiver.next()
    # Then the callback names the subaccount and is signed with its token
    assert received.form["AccountSid"] == sub["sid"]
    assert RequestValidator(sub["auth_token"]).validate(url, received.form, received.signature)
