"""Nothing lost between us and Twilio (#15), over HTTP through `make run`'s server: adds racing Twilio's callbacks.

The server runs each function in worker processes, so a callback Twilio sends as soon as it answered really runs
beside the add it is about, which may not have recorded Twilio's answer yet.
"""

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import requests
from boto3.dynamodb.conditions import Key

from tests.fixtures.server import LocalServer, server_table

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]
TIMEOUT = 60
ADDS = 20
T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """The calls released together, each from its own thread."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(released, calls))


def org_of_its_own(server: LocalServer, tokens: int) -> dict[str, str]:
    """A new org with `tokens`, created and given a key over the admin routes; the headers of its key."""
    org_id = f"org-race-phones-{uuid.uuid4().hex[:8]}"
    admin = server.headers("org-admin")
    created = requests.post(
        f"{server.url}/admin/orgs", json={"orgId": org_id, "tokens": tokens}, headers=admin, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    key = requests.post(f"{server.url}/admin/orgs/{org_id}/apiKeys", json={}, headers=admin, timeout=TIMEOUT)
    return {"Authorization": f"Bearer {key.json()['apiKey']}", "orgId": org_id}


def statuses(server: LocalServer, org_id: str) -> list[str]:
    """The org's client phones' statuses, read straight from the server's DynamoDB (costs no tokens)."""
    table = server_table(server.moto_url, "NumbersTable")
    condition = Key("orgId").eq(org_id) & Key("sk").begins_with("number#cp_")
    return [item["status"] for item in table.query(KeyConditionExpression=condition, ConsistentRead=True)["Items"]]


def test_parallel_adds_whose_callbacks_come_at_once_are_all_verified_and_charged_once(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an org of its own, and Twilio's callbacks arriving before its answers: while each add has not recorded
    # Twilio's answer yet
    headers = org_of_its_own(local_server, tokens=ADDS * 10 + 5)
    org_id = headers.pop("orgId")
    monkeypatch.setattr(local_server.twilio.api, "calls_back_before_answering", True)
    # Fresh French mobiles (never ending in 0000: the emulator's verification of those fails)
    phones = [f"+3367{number:07d}" for number in random.sample(range(1_000_001, 9_999_999, 10), ADDS)]

    # When it adds 20 phones at once
    def add(phone: str) -> Callable[[], requests.Response]:
        body = {"phoneNumber": phone}
        url = f"{local_server.url}/phoneNumber/addClientPhone"
        return lambda: requests.post(url, json=body, headers=headers, timeout=TIMEOUT)

    responses = at_once([add(phone) for phone in phones])

    # Then every add succeeds, or is a 502 when Twilio's answer came too late for it (a loaded machine: the answer
    # waits for the callback's round trip), its phone then pending with the add's hold all the same
    assert {response.status_code for response in responses} <= {201, 502}, [r.text for r in responses]
    # And every phone ends verified: the callbacks found the records whose CallSid was not recorded yet
    deadline = time.monotonic() + TIMEOUT
    while statuses(local_server, org_id).count("verified") < ADDS and time.monotonic() < deadline:
        time.sleep(0.25)
    listed = requests.get(f"{local_server.url}/phoneNumber/getAllClientPhoneNumbers", headers=headers, timeout=TIMEOUT)
    assert [phone["status"] for phone in listed.json()] == ["verified"] * ADDS
    # And each add was charged once, or still holds its cost: the balance is spent exactly (the ledger check runs
    # when the server stops)
    balance = requests.get(f"{local_server.url}/tokens/balance", headers=headers, timeout=TIMEOUT).json()["balance"]
    assert balance == 0
