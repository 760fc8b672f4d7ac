"""GET /tokens/ledger (free): what an org was charged for and credited, newest first, a page at a time."""

import pytest

from robotappel.dal import ledger
from robotappel.tokens.meter import TokenMeter
from tests.fixtures.aws import open_operator_org, open_org, token_ledger_stream, top_up
from tests.fixtures.lambdas import HttpResult, call

LIST_ROUTE = "GET /phoneNumber/getAllClientPhoneNumbers"


def read_ledger(org: str = "org-a", role: str = "member", key_id: str = "", **query: str) -> HttpResult:
    token_ledger_stream().deliver()  # on AWS the ledger trails the balance by the stream's delay
    return call("get_token_ledger", org=org, role=role, key_id=key_id, query=query or None)


def test_the_ledger_shows_credits_and_charges_newest_first(org: str) -> None:
    # Given org-a opened with 100 tokens, charged 5 for a list, topped up with 20, and holding 10 for a call
    TokenMeter(org, LIST_ROUTE, 5, "request-1").charge()
    top_up(org, 20)
    TokenMeter(org, "POST /phoneNumber/addClientPhone", 10, "request-2").hold()
    # When it reads its ledger
    result = read_ledger()
    # Then 200, newest first, each entry as it stands now, and nothing charged for reading it
    assert result.status == 200
    entries = [
        (entry["route"], entry["tokens"], entry["status"], entry.get("reason")) for entry in result.body["entries"]
    ]
    assert entries == [
        ("POST /phoneNumber/addClientPhone", 10, "held", None),
        ("credit", 20, "credited", "test top-up"),
        (LIST_ROUTE, 5, "charged", None),
        ("credit", 100, "credited", "opening balance"),
    ]
    assert result.body["entries"][2]["requestId"] == "request-1"
    assert result.body["nextCursor"] is None
    assert ledger.get_balance(org) == 100 - 5 + 20 - 10
    assert "X-Tokens-Charged" not in result.headers


def test_the_ledger_is_paged_by_cursor(org: str) -> None:
    # Given org-a's opening credit and 4 charges
    for request in range(4):
        TokenMeter(org, LIST_ROUTE, 5, f"request-{request}").charge()
    # When it reads 2 entries at a time
    first = read_ledger(limit="2")
    second = read_ledger(limit="2", cursor=first.body["nextCursor"])
    third = read_ledger(limit="2", cursor=second.body["nextCursor"])
    # Then 2, 2 and 1 entries, the last page without a cursor, none twice
    assert [len(result.body["entries"]) for result in (first, second, third)] == [2, 2, 1]
    assert third.body["nextCursor"] is None
    ids = [entry["entryId"] for result in (first, second, third) for entry in result.body["entries"]]
    assert len(set(ids)) == 5
    assert third.body["entries"][0]["route"] == "credit"


def test_a_member_may_not_read_another_orgs_ledger(org: str) -> None:
    open_org("org-b", 10)
    result = read_ledger(orgId="org-b")
    assert (result.status, result.body["error"]) == (403, "forbidden")


def test_an_admin_reads_another_orgs_ledger(org: str) -> None:
    admin_key = open_operator_org("org-admin", 0)
    result = read_ledger(org="org-admin", role="admin", key_id=admin_key, orgId=org)
    assert result.status == 200
    assert [entry["tokens"] for entry in result.body["entries"]] == [100]


def test_an_admin_naming_an_org_that_does_not_exist_gets_404(aws: dict[str, str]) -> None:
    admin_key = open_operator_org("org-admin", 0)
    result = read_ledger(org="org-admin", role="admin", key_id=admin_key, orgId="org-ghost")
    assert (result.status, result.body["error"]) == (404, "org_not_found")


def test_another_orgs_cursor_is_422(org: str) -> None:
    TokenMeter(org, LIST_ROUTE, 5, "request-1").charge()
    cursor = read_ledger(limit="1").body["nextCursor"]
    open_org("org-b", 10)
    result = read_ledger(org="org-b", cursor=cursor)
    assert (result.status, result.body["field"]) == (422, "cursor")


@pytest.mark.parametrize("limit", ["0", "1001"])
def test_a_limit_out_of_1_to_1000_is_422(org: str, limit: str) -> None:
    result = read_ledger(limit=limit)
    assert (result.status, result.body["field"]) == (422, "limit")
