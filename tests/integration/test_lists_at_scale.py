"""Lists at scale (SPEC): the three list routes page with `limit` / `cursor` and X-Next-Cursor, each page charged;
a cursor is bound to its org and list; released numbers are out of the live listing's key range; an admin naming
an org that does not exist gets 404 before any charge."""

from collections.abc import Iterator
from typing import Any

import pytest

from local.twilio_emulator import TwilioEmulator
from robotappel.dal import dynamodb, ledger, numbers
from robotappel.dal.dynamodb import transact
from robotappel.ids import new_id, now_iso
from tests.fixtures.aws import open_operator_org, open_org, top_up
from tests.fixtures.lambdas import HttpResult, call

LISTS = ["get_all_client_phone_numbers", "get_twilio_numbers_by_org", "get_org_phone_number_list"]


def client_phone(org: str, phone: str) -> numbers.ClientPhoneRecord:
    record = numbers.ClientPhoneRecord(
        id=new_id(numbers.CLIENT_PHONE),
        org_id=org,
        phone_number=phone,
        friendly_name=phone,
        status="verified",
        created_at=now_iso(),
    )
    transact(numbers.put_client_phone(record))
    return record


def twilio_number(org: str, phone: str, linked_to: str | None = None) -> numbers.TwilioNumberRecord:
    record = numbers.TwilioNumberRecord(
        id=new_id(numbers.TWILIO_NUMBER),
        org_id=org,
        phone_number=phone,
        phone_number_sid="PN" + "0" * 24 + phone[-8:],
        friendly_name=phone,
        country_code="US",
        number_type="local",
        voice_url="https://voice.example.test/inbound",
        client_phone_number=linked_to,
        created_at=now_iso(),
    )
    transact([numbers.put_twilio_number(record)])
    return record


def client_phones(org: str, count: int) -> list[numbers.ClientPhoneRecord]:
    return [client_phone(org, f"+3361234{index:04d}") for index in range(count)]


def page(name: str, org: str = "org-a", **query: str) -> HttpResult:
    # events/get_org_phone_number_list.json names org-demo in its path: the caller's own org here
    path_params = {"orgId": org} if name == "get_org_phone_number_list" else None
    return call(name, org=org, path_params=path_params, query=query or None)


def every_page(name: str, limit: int) -> Iterator[HttpResult]:
    cursor: str | None = None
    while True:
        result = page(name, limit=str(limit), **({"cursor": cursor} if cursor else {}))
        assert result.status == 200, result.body
        yield result
        cursor = result.headers.get("X-Next-Cursor")
        if cursor is None:
            return


@pytest.fixture
def query_reads(aws: dict[str, str]) -> list[int]:
    """ScannedCount of every Query the layer makes: the items DynamoDB read (and bills) for it."""
    scanned: list[int] = []

    def count(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            scanned.append(int(parsed.get("ScannedCount", 0)))

    dynamodb.client().meta.events.register("after-call.dynamodb", count)
    return scanned


def test_a_list_comes_in_pages_newest_first_each_page_charged(org: str) -> None:
    # Given 5 client phones of org-a
    added = client_phones(org, 5)
    # When it lists them 2 at a time, following X-Next-Cursor
    pages = list(every_page("get_all_client_phone_numbers", limit=2))
    # Then 3 pages of 2, 2 and 1, newest first, the last without a cursor, and each page cost 5
    assert [[row["id"] for row in result.body] for result in pages] == [
        [added[4].id, added[3].id],
        [added[2].id, added[1].id],
        [added[0].id],
    ]
    assert [result.headers["X-Tokens-Charged"] for result in pages] == ["5", "5", "5"]
    assert ledger.get_balance(org) == 100 - 15


def test_a_page_that_ends_the_list_has_no_next_cursor(org: str) -> None:
    client_phones(org, 4)
    pages = list(every_page("get_all_client_phone_numbers", limit=2))
    assert [len(result.body) for result in pages] == [2, 2]


def test_without_limit_a_page_holds_up_to_1000_rows_and_no_cursor_when_all_fit(org: str) -> None:
    client_phones(org, 3)
    result = page("get_all_client_phone_numbers")
    assert len(result.body) == 3
    assert "X-Next-Cursor" not in result.headers


@pytest.mark.parametrize("name", LISTS)
def test_every_list_route_pages(org: str, name: str) -> None:
    # Given 3 client phones, each linked to a Twilio number of org-a
    for phone in client_phones(org, 3):
        twilio_number(org, "+1415555" + phone.phone_number[-4:], linked_to=phone.phone_number)
    # When the list is read 1 row at a time, then it is the same rows as in one page
    rows = [row for result in every_page(name, limit=1) for row in result.body]
    assert rows == page(name).body


def test_a_client_phone_on_a_later_page_still_shows_its_linked_twilio_number(org: str) -> None:
    # Given two client phones, each linked to a Twilio number (Twilio numbers come first in the org list)
    links = {
        phone.phone_number: twilio_number(org, "+1415555" + phone.phone_number[-4:], phone.phone_number).phone_number
        for phone in client_phones(org, 2)
    }
    # When the org list is read 2 rows at a time
    first, second = every_page("get_org_phone_number_list", limit=2)
    # Then the second page's client phones show the Twilio numbers of the first page
    assert [row["direction"] for row in first.body + second.body] == ["inbound", "inbound", "outbound", "outbound"]
    assert {row["phoneNumber"]: row["twilioNumber"] for row in second.body} == links


@pytest.mark.parametrize("name", LISTS)
def test_another_orgs_cursor_is_422_naming_cursor_and_free(org: str, name: str) -> None:
    # Given a cursor org-a got, and org-b with tokens
    for phone in client_phones(org, 2):
        twilio_number(org, "+1415555" + phone.phone_number[-4:])
    cursor = page(name, limit="1").headers["X-Next-Cursor"]
    open_org("org-b", 50)
    # When org-b passes it
    result = page(name, org="org-b", cursor=cursor)
    # Then 422 naming cursor, and nothing is charged
    assert (result.status, result.body["field"]) == (422, "cursor")
    assert ledger.get_balance("org-b") == 50


def test_a_cursor_of_another_list_is_422(org: str) -> None:
    client_phones(org, 2)
    cursor = page("get_all_client_phone_numbers", limit="1").headers["X-Next-Cursor"]
    result = page("get_org_phone_number_list", cursor=cursor)
    assert (result.status, result.body["field"]) == (422, "cursor")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "eyJvIjoib3JnLWEiLCJsIjoiY2xpZW50UGhvbmVzIiwiayI6MX0"])
def test_a_cursor_this_api_did_not_give_is_422(org: str, cursor: str) -> None:
    result = page("get_all_client_phone_numbers", cursor=cursor)
    assert (result.status, result.body["field"]) == (422, "cursor")
    assert ledger.get_balance(org) == 100


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
def test_a_limit_out_of_1_to_1000_is_422(org: str, limit: str) -> None:
    result = page("get_twilio_numbers_by_org", limit=limit)
    assert (result.status, result.body["field"]) == (422, "limit")


def test_released_numbers_cost_no_reads_in_the_live_listing(
    org: str, twilio_layer: TwilioEmulator, query_reads: list[int]
) -> None:
    # Given org-a bought 3 numbers and released 2 of them
    top_up(org, 100)
    bought = [call("buy_twilio_number", org=org, body={"countryCode": "US"}).body for _ in range(3)]
    for number in bought[:2]:
        assert call("delete_phone_number", org=org, path_params={"id": number["id"]}).status == 200
    kept = bought[2]
    query_reads.clear()
    # When it lists its Twilio numbers
    result = page("get_twilio_numbers_by_org")
    # Then it sees the live one, and the listing's query read exactly that one item
    assert [number["id"] for number in result.body] == [kept["id"]]
    assert query_reads == [1]


@pytest.mark.parametrize(("name", "query"), [("get_all_client_phone_numbers", {"id": "org-ghost"})])
def test_an_admin_naming_an_org_that_does_not_exist_gets_404_and_pays_nothing(
    aws: dict[str, str], name: str, query: dict[str, str]
) -> None:
    admin_key = open_operator_org("org-admin", 10)
    result = call(name, org="org-admin", role="admin", key_id=admin_key, query=query)
    assert (result.status, result.body["error"]) == (404, "org_not_found")
    assert ledger.get_balance("org-admin") == 10


def test_an_admin_naming_an_org_that_does_not_exist_in_the_path_gets_404_and_pays_nothing(aws: dict[str, str]) -> None:
    admin_key = open_operator_org("org-admin", 10)
    result = call(
        "get_org_phone_number_list", org="org-admin", role="admin", key_id=admin_key, path_params={"orgId": "org-ghost"}
    )
    assert (result.status, result.body["error"]) == (404, "org_not_found")
    assert ledger.get_balance("org-admin") == 10


def test_a_number_released_in_place_before_tombstones_moved_is_still_left_out(org: str) -> None:
    # Given a live number, then three released ones written in place, as releases wrote them before #16
    live = twilio_number(org, "+14155550100")
    for index in range(3):
        released = twilio_number(org, f"+1415555020{index}")
        transact([numbers.put_twilio_number(released.model_copy(update={"status": "released"}))])
    # When org-a reads a page of 1
    result = page("get_twilio_numbers_by_org", limit="1")
    # Then it gets the live one, and no cursor to an empty page
    assert [number["id"] for number in result.body] == [live.id]
    assert "X-Next-Cursor" not in result.headers
