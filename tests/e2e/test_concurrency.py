"""Races through `make run`'s server: what real concurrency must never break (SPEC: Tokens, idempotency).

The server runs each function in a pool of worker processes, like Lambda scaling out, and its moto DynamoDB
isolates writes like DynamoDB does, so parallel requests really race on the balance and on idempotency records.
It runs in a child process (its environment must not leak into this one), with orgs of its own whose balances
are exact, and a Twilio emulator of its own that the tests steer (a slow purchase) and inspect (numbers owned).
"""

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests
from boto3.dynamodb.conditions import Key

from local.twilio_emulator import TwilioEmulator
from tests.fixtures.ledger import assert_ledger_explains_every_balance
from tests.fixtures.server import moto_url, server_process, server_table, subaccount_of

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]
TIMEOUT = 60
T = TypeVar("T")

READS = "org-race-reads"  # 50 tokens: ten 5-token calls
BUYS = "org-race-buys"  # 125 tokens: three 40-token purchases, then one 5-token listing to check them
IDEMPOTENT = "org-race-idempotent"  # 80 tokens: two purchases, if a duplicate were ever bought
TOPPED_UP = "org-race-topped-up"  # 50 tokens, and ten credits of 5 racing its charges
OPERATOR = "org-race-operator"  # an admin key: credits TOPPED_UP
SEED = {
    "orgs": [
        {"orgId": TOPPED_UP, "apiKey": "race-topped-up-key", "role": "member", "tokens": 50},
        {"orgId": OPERATOR, "apiKey": "race-operator-key", "role": "admin", "tokens": 0},
        {"orgId": READS, "apiKey": "race-reads-key", "role": "member", "tokens": 50},
        {"orgId": BUYS, "apiKey": "race-buys-key", "role": "member", "tokens": 125},
        {"orgId": IDEMPOTENT, "apiKey": "race-idempotent-key", "role": "member", "tokens": 80},
    ]
}
BUY_PATH = "/phoneNumber/buyTwilioNumberAndActivate"
BUY_BODY = {"countryCode": "US", "areaCode": "415"}
LIST_PATH = "/phoneNumber/GetTwilioPhoneNumberByOrg"


@dataclass(frozen=True)
class RaceServer:
    url: str
    moto_url: str
    twilio: TwilioEmulator

    def request(self, method: str, path: str, org_id: str, **kwargs: Any) -> requests.Response:
        api_key = next(org["apiKey"] for org in SEED["orgs"] if org["orgId"] == org_id)
        headers = {"Authorization": f"Bearer {api_key}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def balance(self, org_id: str) -> int:
        return int(self.request("GET", "/tokens/balance", org_id).json()["balance"])

    def numbers_at_twilio(self, org_id: str) -> list[dict[str, Any]]:
        """The numbers in the org's Twilio subaccount, as the emulator holds them."""
        return self.twilio.incoming_numbers(subaccount_of(self.moto_url, org_id))

    def ledger(self, org_id: str) -> list[dict[str, Any]]:
        """The org's ledger entries (its opening credit included), read straight from the server's DynamoDB."""
        table = server_table(self.moto_url, "TokensTable")
        condition = Key("orgId").eq(org_id) & Key("sk").begins_with("ledger#")
        return list(table.query(KeyConditionExpression=condition, ConsistentRead=True)["Items"])


@pytest.fixture(scope="module")
def race_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RaceServer]:
    folder = tmp_path_factory.mktemp("race_server")
    seed_file, log_file = folder / "seed.json", folder / "server.log"
    seed_file.write_text(json.dumps(SEED))
    twilio = TwilioEmulator(account_sid="AC" + uuid.uuid4().hex, auth_token=uuid.uuid4().hex).start()
    try:
        with server_process(seed_file, log_file, twilio) as url:
            server = RaceServer(url=url, moto_url=moto_url(log_file), twilio=twilio)
            yield server
            assert_ledger_explains_every_balance(server_table(server.moto_url, "TokensTable"))
    finally:
        twilio.stop()


def at_once(count: int, call: Callable[[], T]) -> list[T]:
    """`count` calls released together, each from its own thread."""
    start = threading.Barrier(count)

    def released() -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(released) for _ in range(count)]
        return [future.result() for future in futures]


def charged_tokens(ledger: list[dict[str, Any]]) -> int:
    return sum(int(entry["tokens"]) for entry in ledger if entry["status"] == "charged")


def test_parallel_calls_charge_exactly_what_the_balance_covers(race_server: RaceServer) -> None:
    # Given an org with exactly 50 tokens
    assert race_server.balance(READS) == 50

    # When it makes 50 calls of a 5-token route at the same time
    responses = at_once(50, lambda: race_server.request("GET", LIST_PATH, READS))

    # Then exactly 10 succeed and 40 are refused with the spec's 402, never overdrawing the balance
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 10, statuses
    assert statuses.count(402) == 40, statuses
    for refused in (response for response in responses if response.status_code == 402):
        assert refused.json() | {"message": ""} == {
            "error": "insufficient_tokens",
            "message": "",
            "required": 5,
            "balance": 0,
        }
    assert race_server.balance(READS) == 0
    # And the ledger holds exactly the 10 charges, beside the opening credit
    ledger = race_server.ledger(READS)
    assert sorted(entry["status"] for entry in ledger) == ["charged"] * 10 + ["credited"]
    assert charged_tokens(ledger) == 50


def test_credits_racing_charges_are_all_in_the_ledger_and_explain_the_balance(race_server: RaceServer) -> None:
    # Given an org with 50 tokens
    assert race_server.balance(TOPPED_UP) == 50
    credit_path = f"/admin/orgs/{TOPPED_UP}/credits"
    calls: list[Callable[[], requests.Response]] = [
        lambda: race_server.request("GET", LIST_PATH, TOPPED_UP) for _ in range(30)
    ] + [
        lambda: race_server.request("POST", credit_path, OPERATOR, json={"tokens": 5, "reason": "race"})
        for _ in range(10)
    ]
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], requests.Response]) -> requests.Response:
        start.wait()
        return call()

    # When 30 charges of 5 and 10 credits of 5 are made at the same time
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        responses = list(pool.map(released, calls))

    # Then every credit is taken, charges succeed only while the balance covers them, never overdrawing it
    statuses = [response.status_code for response in responses]
    assert statuses[30:] == [200] * 10, [response.text for response in responses[30:]]
    charged = statuses[:30].count(200)
    assert statuses[:30].count(402) == 30 - charged
    assert 10 <= charged <= 20
    assert race_server.balance(TOPPED_UP) == 100 - 5 * charged
    # And the ledger has every credit and every charge, and explains every balance
    ledger = race_server.ledger(TOPPED_UP)
    assert sum(int(entry["tokens"]) for entry in ledger if entry["status"] == "credited") == 100
    assert charged_tokens(ledger) == 5 * charged
    assert_ledger_explains_every_balance(server_table(race_server.moto_url, "TokensTable"))


def test_parallel_purchases_buy_only_what_the_balance_covers(race_server: RaceServer) -> None:
    # Given an org whose 125 tokens cover three 40-token purchases (and the 5-token listing that checks them)
    assert race_server.balance(BUYS) == 125
    owned_before = {number["phone_number"] for number in race_server.numbers_at_twilio(BUYS)}

    # When it asks for 20 numbers at the same time
    responses = at_once(20, lambda: race_server.request("POST", BUY_PATH, BUYS, json=BUY_BODY))

    # Then exactly 3 are bought, 17 refused with 402 before reaching Twilio, and 3 x 40 tokens are charged
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 3, [response.text for response in responses]
    assert statuses.count(402) == 17, statuses
    bought = {response.json()["phoneNumber"] for response in responses if response.status_code == 201}
    owned_now = {number["phone_number"] for number in race_server.numbers_at_twilio(BUYS)}
    assert owned_now - owned_before == bought
    assert len(bought) == 3
    assert race_server.balance(BUYS) == 5
    assert charged_tokens(race_server.ledger(BUYS)) == 120
    # And the org's list shows exactly those 3 numbers
    listed = race_server.request("GET", LIST_PATH, BUYS)
    assert listed.status_code == 200
    assert {number["phoneNumber"] for number in listed.json()} == bought
    assert race_server.balance(BUYS) == 0


def test_a_purchase_retried_while_in_flight_is_bought_and_charged_once(race_server: RaceServer) -> None:
    # Given warm workers for two purchases at once (invalid bodies: 422, free), so neither waits for a cold start
    assert set(
        at_once(2, lambda: race_server.request("POST", BUY_PATH, IDEMPOTENT, json={"areaCode": "x"}).status_code)
    ) == {422}
    owned_before = len(race_server.numbers_at_twilio(IDEMPOTENT))
    # And Twilio slow to sell the next number
    race_server.twilio.inject_fault(
        method="POST", path_pattern=r"IncomingPhoneNumbers\.json$", status=None, delay=1.5, times=1
    )
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    def buy() -> requests.Response:
        return race_server.request("POST", BUY_PATH, IDEMPOTENT, json=BUY_BODY, headers=headers)

    # When the same purchase (same key, same body) is sent twice at the same time
    first, second = sorted(at_once(2, buy), key=lambda response: response.status_code)

    # Then one buys and the other is told the request is in progress
    assert (first.status_code, second.status_code) == (201, 409), (first.text, second.text)
    assert second.json()["error"] == "in_progress"
    # When it is retried once the first is done, it replays the purchase without charging again
    replay = buy()
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["X-Tokens-Charged"] == "0"
    # And one number was bought and 40 tokens charged, once
    assert len(race_server.numbers_at_twilio(IDEMPOTENT)) == owned_before + 1
    assert race_server.balance(IDEMPOTENT) == 40
    assert charged_tokens(race_server.ledger(IDEMPOTENT)) == 40
