"""The product's flows over HTTP, through `make run`'s server, as a client would drive them with curl.

The server and its Twilio emulator are shared by the session, so every test uses numbers of its own and checks
balances as differences.
"""

import random
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.fixtures.server import LocalServer
from tests.fixtures.twilio import verified_caller_id_sid

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]
TIMEOUT = 30


def fresh_french_mobile() -> str:
    """A valid French mobile number no other test uses (never ending in 0000: the emulator fails those)."""
    return f"+3367{random.randint(1_000_000, 9_999_998):07d}"


class Client:
    def __init__(self, server: LocalServer, org_id: str = "org-demo") -> None:
        self.server, self.org_id = server, org_id

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {**self.server.headers(self.org_id), **(headers or {})}
        return requests.request(method, self.server.url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def balance(self) -> int:
        return int(self.request("GET", "/tokens/balance").json()["balance"])

    def client_phones(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/phoneNumber/getAllClientPhoneNumbers").json())

    def org_list(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/phoneNumber/getOrgPhoneNumberList").json())

    def twilio_numbers(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/phoneNumber/GetTwilioPhoneNumberByOrg").json())

    def wait_until_verified(self, phone: str) -> list[dict[str, Any]]:
        """Lists client phones until the emulator's signed callback has verified `phone` (each list costs 5)."""
        for _ in range(20):
            listed = self.client_phones()
            if any(p["phoneNumber"] == phone and p["status"] == "verified" for p in listed):
                return listed
            time.sleep(0.25)
        raise AssertionError(f"{phone} was never verified: {listed}")


def test_client_phone_flow_add_verify_list_delete(local_server: LocalServer) -> None:
    client = Client(local_server)
    phone = fresh_french_mobile()
    start = client.balance()

    # When the org adds its phone (national format)
    added = client.request("POST", "/phoneNumber/addClientPhone", json={"phoneNumber": "0" + phone[3:]})
    # Then 201 with the E.164 number and Twilio's code, 10 tokens charged
    assert added.status_code == 201
    assert added.json()["phoneNumber"] == phone
    assert added.headers["X-Tokens-Charged"] == "10"
    assert client.balance() == start - 10

    # When the emulator has called back (signed), the list shows the phone verified
    before_lists = client.balance()
    listed = client.wait_until_verified(phone)
    list_calls = (before_lists - client.balance()) // 5
    [entry] = [p for p in listed if p["phoneNumber"] == phone]
    assert entry["id"] == added.json()["id"]

    # When it deletes the phone, then it is gone, and the whole flow cost exactly 10 + 5 per list + 5
    deleted = client.request("DELETE", f"/phoneNumber/deletePhoneNumber/{entry['id']}")
    assert deleted.status_code == 200
    assert set(deleted.json()) == {"phoneNumber", "twillioResponse", "dbResponse"}
    assert phone not in [p["phoneNumber"] for p in client.client_phones()]
    assert client.balance() == start - 10 - 5 * list_calls - 5 - 5


def test_twilio_number_flow_buy_list_lookup_count_update_delete(local_server: LocalServer) -> None:
    client = Client(local_server)
    phone = fresh_french_mobile()
    assert client.request("POST", "/phoneNumber/addClientPhone", json={"phoneNumber": phone}).status_code == 201
    start = client.balance()

    # When the org buys a US number linked to its client phone
    bought = client.request(
        "POST",
        "/phoneNumber/buyTwilioNumberAndActivate",
        json={"countryCode": "US", "areaCode": "415", "clientPhoneNumber": phone, "friendlyName": "Support"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert bought.status_code == 201, bought.text
    number = bought.json()
    assert client.balance() == start - 40

    # Then it appears in both lists (5 each) and the lookup by client phone finds it (5)
    assert number["id"] in [n["id"] for n in client.twilio_numbers()]
    rows = {row["id"]: row for row in client.org_list()}
    assert rows[number["id"]]["direction"] == "inbound"
    lookup = client.request("GET", f"/phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{quote(phone)}")
    assert lookup.status_code == 200
    assert lookup.json()["twilioNumber"] == number["phoneNumber"]
    assert client.balance() == start - 40 - 15

    # When Twilio reports the same completed call twice (signed), it counts once
    call_sid = "CA" + uuid.uuid4().hex
    for _ in range(2):
        assert local_server.twilio.simulate_call(to=number["phoneNumber"], from_=phone, call_sid=call_sid) == 200
    rows = {row["id"]: row for row in client.org_list()}
    assert rows[number["id"]]["totalCalls"] == "1"
    assert client.balance() == start - 40 - 15 - 5

    # When it renames the number (5), then the name is applied
    updated = client.request("PATCH", f"/phoneNumber/updatePhoneNumber/{number['id']}", json={"friendlyName": "Night"})
    assert updated.status_code == 200
    assert updated.json()["friendlyName"] == "Night"

    # When it deletes the number (5), then it is released and gone from both lists (5 each)
    assert client.request("DELETE", f"/phoneNumber/deletePhoneNumber/{number['id']}").status_code == 200
    assert number["id"] not in [n["id"] for n in client.twilio_numbers()]
    assert number["id"] not in [row["id"] for row in client.org_list()]
    assert number["phoneNumber"] not in [n["phone_number"] for n in local_server.twilio.every_incoming_number()]
    assert client.balance() == start - 40 - 15 - 5 - 5 - 5 - 10


def test_parallel_calls_never_overdraw_a_balance(local_server: LocalServer) -> None:
    """50 parallel 5-token calls from an org that can pay for 10 of them (admin tops up a dedicated org)."""
    from concurrent.futures import ThreadPoolExecutor

    client = Client(local_server, "org-other")
    spare = client.balance() % 5
    # Given org-other spends down to exactly 50 tokens (+ what is not a multiple of 5)
    while client.balance() - spare > 50:
        client.client_phones()
    start = client.balance()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(lambda _: client.request("GET", "/phoneNumber/GetTwilioPhoneNumberByOrg").status_code, range(50))
        )
    assert statuses.count(200) == start // 5
    assert statuses.count(402) == 50 - start // 5
    assert client.balance() == start % 5


def test_two_orgs_resources_land_in_their_own_subaccounts(local_server: LocalServer) -> None:
    # Given two seeded orgs (org-other topped up: another test spends its balance down)
    topped_up = requests.post(
        f"{local_server.url}/admin/orgs/org-other/credits",
        json={"tokens": 100, "reason": "e2e: subaccounts"},
        headers=local_server.headers("org-admin"),
        timeout=TIMEOUT,
    )
    assert topped_up.status_code == 200, topped_up.text
    bought: dict[str, tuple[str, str]] = {}  # org -> (its client phone, its Twilio number)
    # When each adds a client phone and buys a number
    for org_id in ("org-demo", "org-other"):
        client, phone = Client(local_server, org_id), fresh_french_mobile()
        assert client.request("POST", "/phoneNumber/addClientPhone", json={"phoneNumber": phone}).status_code == 201
        purchase = client.request("POST", "/phoneNumber/buyTwilioNumberAndActivate", json={"countryCode": "US"})
        assert purchase.status_code == 201, purchase.text
        bought[org_id] = (phone, purchase.json()["phoneNumber"])
    # Then each org's caller ID and number are in its own subaccount, which is neither the other's nor the parent
    demo, other = local_server.subaccounts["org-demo"], local_server.subaccounts["org-other"]
    assert len({demo, other, local_server.twilio.account_sid}) == 3
    for org_id, account_sid in (("org-demo", demo), ("org-other", other)):
        phone, number = bought[org_id]
        assert verified_caller_id_sid(local_server.twilio, phone, account_sid)
        assert number in {n["phone_number"] for n in local_server.twilio.incoming_numbers(account_sid)}
    assert bought["org-other"][1] not in {n["phone_number"] for n in local_server.twilio.incoming_numbers(demo)}
