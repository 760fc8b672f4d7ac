"""Every route invoked in-process against moto and the Twilio emulator: DynamoDB round trips and warm latency.

Each iteration starts from the same state: the tables are recreated and the route's preconditions written
(`Scenario.prepare`), then DynamoDB and the emulator are snapshotted. The route's handler runs with a botocore
hook recording every DynamoDB call of the layer's client; then the
snapshot is restored and a bare handler replays exactly those calls with a plain boto3 client (and the same Twilio
HTTP requests with a plain `requests` session). The difference between the two is what our code costs.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from local import events, template
from local.aws import BYPASSING_MOCK_AWS, create_tables, create_usage_plans, table_name
from local.events import api_event, twilio_callback_event
from local.lambda_runtime import REGION, FakeLambdaContext, load_function
from local.twilio_emulator import TwilioEmulator
from robotappel.dal import dynamodb, numbers, subaccounts
from robotappel.dal.dynamodb import transact
from robotappel.ids import new_id, now_iso

ORG = "org-demo"  # the org of the events in events/
API_KEY = "bench-key"
CLIENT_PHONE = "+33612345678"
# Nothing listens there: the emulator's verification callback fails fast instead of reaching the internet.
PUBLIC_BASE_URL = "http://127.0.0.1:9/dev"
TWILIO_SECRET_ID = "robotappel/bench/twilio"  # a name, not a secret

Event = dict[str, Any]


@dataclass(frozen=True)
class Call:
    operation: str
    params: dict[str, Any]


@dataclass
class Recorder:
    """botocore hook: the DynamoDB calls made while `active`."""

    active: bool = False
    calls: list[Call] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.active:
            self.calls.append(Call(model.name, copy.deepcopy(params)))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Call]]:
        self.calls = []
        self.active = True
        try:
            yield self.calls
        finally:
            self.active = False


@dataclass(frozen=True)
class Scenario:
    route: str
    function: str
    kind: str  # read | write | webhook | authorizer: which cold-start target applies
    lower_bound: int
    why: str  # what the lower bound is made of, and why we do more when we do
    prepare: Callable[[World], Event]


@dataclass
class RouteResult:
    route: str
    function: str
    kind: str
    status: int
    calls: list[str]
    lower_bound: int
    why: str
    warm_ms: float
    bare_ms: float

    @property
    def round_trips(self) -> int:
        return len(self.calls)

    @property
    def overhead(self) -> float:
        return self.warm_ms / self.bare_ms if self.bare_ms else float("nan")


# ------------------------------------------------------------------ the world the handlers run in
class World:
    """moto (in-process) with the template's tables, the Twilio emulator, and the layer configured for both."""

    def __init__(self, emulator: TwilioEmulator) -> None:
        self.emulator = emulator
        self.tables = {logical_id: table_name(logical_id) for logical_id in template.tables()}
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.recorder = Recorder()
        self.devnull = open(os.devnull, "w")  # noqa: SIM115  # lives as long as the run
        self._saved: tuple[Any, Any] | None = None

    def configure(self) -> None:
        function = template.functions()["BuyTwilioNumberFunction"]
        references = {**template.parameter_defaults(), **self.tables, "TwilioSecretArn": TWILIO_SECRET_ID}
        os.environ |= template.resolve_environment(function, references)
        os.environ |= {
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TWILIO_API_BASE_URL": self.emulator.base_url,
            "TWILIO_NUMBERS_BASE_URL": self.emulator.base_url,
        }
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=TWILIO_SECRET_ID,
            SecretString=json.dumps({"accountSid": self.emulator.account_sid, "authToken": self.emulator.auth_token}),
        )
        dynamodb.client().meta.events.register("before-parameter-build.dynamodb", self.recorder)
        # Creating an org puts its API Gateway key in the default usage plan.
        create_usage_plans(boto3.client("apigateway", region_name=REGION), template.parameter_defaults())

    def reset(self) -> None:
        """Empty tables, the bench org (1,000,000 tokens) and its API key, an emulator without numbers."""
        for name in self.tables.values():
            with contextlib.suppress(self.ddb.exceptions.ResourceNotFoundException):
                self.ddb.delete_table(TableName=name)
        create_tables(self.ddb)
        self.emulator.reset()
        # The org gets a new subaccount with each reset: the ones the layer knows are gone.
        from robotappel.tenants.subaccounts import forget_known
        from robotappel.twilio.account_tokens import forget_tokens

        forget_known()
        forget_tokens()
        # Imported once configure() has set the environment: the layer's Logger and Metrics read theirs (service,
        # metrics namespace) when robotappel.observability is first imported.
        from robotappel.models.tenants import CreateOrgDto, IssueApiKeyDto
        from robotappel.tenants.api_keys import issue_api_key
        from robotappel.tenants.orgs import create_org

        create_org(CreateOrgDto(orgId=ORG, tokens=1_000_000), request_id="bench")
        issue_api_key(ORG, IssueApiKeyDto(role="member"), api_key=API_KEY)

    def snapshot(self) -> None:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        api = self.emulator.api
        with api.lock:
            self._saved = (copy.deepcopy(backend.tables), copy.deepcopy((api.incoming, api.caller_ids)))

    def restore(self) -> None:
        assert self._saved is not None
        tables, (incoming, caller_ids) = copy.deepcopy(self._saved)
        dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables = tables
        api = self.emulator.api
        with api.lock:
            api.incoming, api.caller_ids, api.log = incoming, caller_ids, []

    def handler(self, function: str) -> Callable[[Event, Any], dict[str, Any]]:
        with contextlib.redirect_stdout(self.devnull):  # Powertools' Logger binds sys.stdout when created
            module = load_function(function)
        handler: Callable[[Event, Any], dict[str, Any]] = module.handler
        return handler

    def invoke(self, function: str, event: Event) -> dict[str, Any]:
        handler = self.handler(function)
        context = FakeLambdaContext(function_name=function, memory_limit_in_mb=512, timeout_seconds=20)
        with contextlib.redirect_stdout(self.devnull):  # logs and EMF metrics are written, as in Lambda
            return handler(event, context)

    def call(self, function: str, event: Event) -> dict[str, Any]:
        """A setup invocation: must succeed; returns the JSON body."""
        result = self.invoke(function, event)
        if result["statusCode"] >= 300:
            raise RuntimeError(f"setup call {function} failed: {result['statusCode']} {result.get('body')}")
        body: dict[str, Any] = json.loads(result["body"])
        return body

    def org_account(self) -> dict[str, Any]:
        """The bench org's Twilio subaccount (its `sid`, its `auth_token`), opened when the org was created."""
        account_sid = subaccounts.of_org(ORG)
        assert account_sid is not None, "the bench org was created with its subaccount"
        return self.emulator.account(account_sid)


# ------------------------------------------------------------------ events
def signed_webhook(world: World, name: str, params: dict[str, str]) -> Event:
    """A Twilio callback as Twilio sends it: form-encoded, signed over the public URL with the auth token of the org's
    subaccount (the path without a record id: the same work, one record found by its number)."""
    url = PUBLIC_BASE_URL + events.load(name)["resource"].removesuffix("/{id}")
    return twilio_callback_event(name, url, world.org_account()["auth_token"], params)


# ------------------------------------------------------------------ preconditions
def buy_number(world: World, **body: Any) -> dict[str, Any]:
    return world.call("buy_twilio_number", api_event("buy_twilio_number", body={"countryCode": "US", **body}))


def verified_client_phone() -> None:
    record = numbers.ClientPhoneRecord(
        id=new_id(numbers.CLIENT_PHONE),
        org_id=ORG,
        phone_number=CLIENT_PHONE,
        friendly_name="Front desk",
        status="verified",
        created_at=now_iso(),
    )
    transact(numbers.put_client_phone(record))


def pending_verification(world: World) -> dict[str, str]:
    """A client phone just added (the emulator verifies it at once): the callback Twilio would post."""
    world.call("add_client_phone", api_event("add_client_phone"))
    [record] = numbers.list_client_phones(ORG).records
    account_sid = world.org_account()["sid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sids = [c["sid"] for c in world.emulator.caller_ids(account_sid) if c["phone_number"] == record.phone_number]
        if sids:
            return {
                "AccountSid": account_sid,
                "CallSid": str(record.validation_call_sid),
                "To": record.phone_number,
                "VerificationStatus": "success",
                "OutgoingCallerIdSid": str(sids[0]),
            }
        time.sleep(0.005)
    raise RuntimeError("the Twilio emulator never verified the client phone")


def call_status_params(world: World, to: str) -> dict[str, str]:
    return {
        "AccountSid": world.org_account()["sid"],
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + uuid.uuid4().hex,
        "CallStatus": "completed",
        "Direction": "inbound",
        "From": "+33698765432",
        "To": to,
        "Called": to,
        "Caller": "+33698765432",
        "CallDuration": "42",
    }


def _authorizer(_: World) -> Event:
    event = events.load("authorizer")
    event["headers"]["Authorization"] = f"Bearer {API_KEY}"
    return event


def _by_client_phone(world: World) -> Event:
    verified_client_phone()
    buy_number(world, areaCode="415", clientPhoneNumber=CLIENT_PHONE)
    return api_event("get_twilio_number_by_client_phone", path_params={"clientPhoneNumber": CLIENT_PHONE})


def _org_list(world: World) -> Event:
    verified_client_phone()
    buy_number(world, areaCode="415")
    return api_event("get_org_phone_number_list", path_params={"orgId": ORG})


def _delete(world: World) -> Event:
    number = buy_number(world, areaCode="415")
    return api_event("delete_phone_number", path_params={"id": number["id"]})


def _update(world: World) -> Event:
    number = buy_number(world, areaCode="415")
    return api_event("update_phone_number", path_params={"id": number["id"]})


def _call_status(world: World) -> Event:
    number = buy_number(world, areaCode="415")
    return signed_webhook(world, "call_status_webhook", call_status_params(world, number["phoneNumber"]))


def _listed(world: World, name: str) -> Event:
    verified_client_phone()
    buy_number(world, areaCode="415")
    return api_event(name)


# The ledger item of a charge is written off the request path, by token_ledger from the TokensTable stream.
READ = "query + charge (a transaction with its applied marker) + GetItem of the balance for X-Tokens-Remaining"
HELD = (
    "hold (a transaction with its applied marker + GetItem of the balance, before Twilio) + 1 transaction after "
    "Twilio (state change + hold becomes the charge)"
)
LOOKUP = "GetItem of the number (its Twilio SID) + " + HELD

SCENARIOS = [
    Scenario(
        "authorizer",
        "authorizer",
        "authorizer",
        1,
        "GetItem of the key hash; 0 when API Gateway's cache hits",
        _authorizer,
    ),
    Scenario(
        "GET /tokens/balance",
        "get_token_balance",
        "read",
        1,
        "GetItem of the account (free: no charge)",
        lambda _: api_event("get_token_balance"),
    ),
    Scenario(
        "GET getAllClientPhoneNumbers",
        "get_all_client_phone_numbers",
        "read",
        3,
        READ,
        lambda w: _listed(w, "get_all_client_phone_numbers"),
    ),
    Scenario(
        "GET GetTwilioPhoneNumberByOrg",
        "get_twilio_numbers_by_org",
        "read",
        3,
        READ,
        lambda w: _listed(w, "get_twilio_numbers_by_org"),
    ),
    Scenario(
        "GET GetTwilioPhoneNumberByClientPhoneNumber",
        "get_twilio_number_by_client_phone",
        "read",
        3,
        READ,
        _by_client_phone,
    ),
    Scenario("GET getOrgPhoneNumberList/{orgId}", "get_org_phone_number_list", "read", 3, READ, _org_list),
    Scenario(
        "POST addClientPhone",
        "add_client_phone",
        "write",
        3,
        HELD + "; +1 GetItem first: a number the org has already is a 409 before Twilio calls anyone",
        lambda _: api_event("add_client_phone"),
    ),
    Scenario(
        "POST buyTwilioNumberAndActivate",
        "buy_twilio_number",
        "write",
        4,
        HELD.replace(
            " + 1 transaction", " + the purchase intent (PutItem, before Twilio: write-ahead) + 1 transaction"
        ),
        lambda _: api_event("buy_twilio_number"),
    ),
    Scenario(
        "POST buyTwilioNumberAndActivate + Idempotency-Key",
        "buy_twilio_number",
        "write",
        6,
        HELD + "; + the purchase intent; +2 for the key (UpdateItem: claimed, then released)",
        lambda _: api_event("buy_twilio_number", headers={"Idempotency-Key": str(uuid.uuid4())}),
    ),
    Scenario("PATCH updatePhoneNumber/{id}", "update_phone_number", "write", 4, LOOKUP, _update),
    Scenario("DELETE deletePhoneNumber/{id}", "delete_phone_number", "write", 4, LOOKUP, _delete),
    Scenario(
        "POST twilio/validationStatus",
        "validation_status_webhook",
        "webhook",
        2,
        "Query of the phone by number + 1 conditional transaction (free: no charge)",
        lambda w: signed_webhook(w, "validation_status_webhook", pending_verification(w)),
    ),
    Scenario(
        "POST twilio/callStatus",
        "call_status_webhook",
        "webhook",
        2,
        "Query of the number (GSI) + 1 transaction: CallSid marker + counter (free: no charge)",
        _call_status,
    ),
]


# ------------------------------------------------------------------ the bare handler
class BareHandler:
    """The same DynamoDB calls with a plain boto3 client, the same Twilio requests with a plain session."""

    def __init__(self, emulator: TwilioEmulator) -> None:
        self.client: Any = boto3.client("dynamodb", region_name=REGION)  # replays by operation name
        self.session = requests.Session()
        self.session.auth = (emulator.account_sid, emulator.auth_token)
        self.base_url = emulator.base_url

    def replay(self, calls: list[Call], twilio: list[Any]) -> None:
        for call in calls:
            with contextlib.suppress(self.client.exceptions.ClientError):
                self.client._make_api_call(call.operation, copy.deepcopy(call.params))
        for request in twilio:
            self.session.request(request.method, self.base_url + request.path, params=request.query, data=request.form)


def run_scenario(world: World, bare: BareHandler, scenario: Scenario, iterations: int) -> RouteResult:
    """`iterations` + 1 invocations, each from the same state; the first (lazy imports, first use) is left out."""
    timings: list[tuple[float, float]] = []
    calls: list[Call] = []
    status = 0
    for _ in range(iterations + 1):
        world.reset()
        event = scenario.prepare(world)
        world.snapshot()
        world.emulator.api.log.clear()
        gc.collect()
        with world.recorder.recording() as recorded:
            start = time.perf_counter()
            result = world.invoke(scenario.function, event)
            elapsed = time.perf_counter() - start
        calls = recorded
        status = int(result.get("statusCode", 200))
        twilio = world.emulator.requests_log
        world.restore()
        gc.collect()
        start = time.perf_counter()
        bare.replay(calls, twilio)
        timings.append((elapsed, time.perf_counter() - start))
    warm = timings[1:]
    return RouteResult(
        route=scenario.route,
        function=scenario.function,
        kind=scenario.kind,
        status=status,
        calls=[call.operation for call in calls],
        lower_bound=scenario.lower_bound,
        why=scenario.why,
        warm_ms=statistics.median(t for t, _ in warm) * 1000,
        bare_ms=statistics.median(b for _, b in warm) * 1000,
    )


@contextlib.contextmanager
def bench_world() -> Iterator[World]:
    fake = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}
    saved = dict(os.environ)
    os.environ |= {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, **fake}
    for key in BYPASSING_MOCK_AWS:
        os.environ.pop(key, None)
    emulator = TwilioEmulator(account_sid="AC" + uuid.uuid4().hex, auth_token=uuid.uuid4().hex, callback_delay=0)
    emulator.start()
    try:
        with mock_aws():
            world = World(emulator)
            world.configure()
            parameters.clear_caches()  # type: ignore[no-untyped-call]
            yield world
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved)


# ------------------------------------------------------------------ lists at scale
LIVE_NUMBERS = 20  # one page of them
RELEASED_BEHIND = 10_000
# moto scans the whole table for every Query (~0.2-0.5 s with 10,000 items where DynamoDB reads only the key
# range): a few samples are enough, and the time that is ours is told apart from the time inside the calls.
LISTING_ITERATIONS = 8


@dataclass(frozen=True)
class ListingCost:
    """One page of an org's live Twilio numbers (GET GetTwilioPhoneNumberByOrg?limit=LIVE_NUMBERS), read with
    `released` numbers of the same org in the table."""

    layout: str
    released: int
    rows: int
    calls: list[str]
    items_read: int  # the Queries' ScannedCount: the items DynamoDB reads, and bills, for the page
    warm_ms: float
    dynamodb_ms: float  # inside the DynamoDB calls (botocore + moto, which scans the whole table for a Query)

    @property
    def ours_ms(self) -> float:
        """What the handler and the layer spend, around the calls: the part that is the same as on AWS."""
        return self.warm_ms - self.dynamodb_ms


def _twilio_number_record(released: bool) -> numbers.TwilioNumberRecord:
    number_id = new_id(numbers.TWILIO_NUMBER)
    return numbers.TwilioNumberRecord(
        id=number_id,
        org_id=ORG,
        phone_number="+1415" + str(int(number_id[3:], 16))[-7:],
        phone_number_sid="PN" + number_id[3:].rjust(32, "0"),
        friendly_name="bench",
        country_code="US",
        number_type="local",
        voice_url="https://voice.example.test/inbound",
        created_at=now_iso(),
        status="released" if released else "active",
    )


def _write_all(world: World, items: list[Any]) -> None:
    """Straight into the table, 25 at a time (set-up, not measured)."""
    table = world.tables["NumbersTable"]
    for start in range(0, len(items), 25):
        batch: Any = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        world.ddb.batch_write_item(RequestItems={table: batch})


def _released_items(count: int, in_place: bool) -> list[Any]:
    """Tombstones as a release writes them (under released#), or in place as before #16 (number#, status released)."""
    if in_place:
        return [dynamodb.to_ddb(_twilio_number_record(released=True).item()) for _ in range(count)]
    return [
        numbers.release_twilio_number(_twilio_number_record(released=False), now_iso())[1].request["Put"]["Item"]
        for _ in range(count)
    ]


def listing_cost(world: World, layout: str, released: int, in_place: bool) -> ListingCost:
    world.reset()
    # Released first: older than the live numbers, as numbers bought, released and bought again over the years.
    _write_all(world, _released_items(released, in_place))
    _write_all(world, [dynamodb.to_ddb(_twilio_number_record(released=False).item()) for _ in range(LIVE_NUMBERS)])
    event = api_event("get_twilio_numbers_by_org")
    event["queryStringParameters"] = {"limit": str(LIVE_NUMBERS)}
    event["multiValueQueryStringParameters"] = {"limit": [str(LIVE_NUMBERS)]}
    scanned: list[int] = []
    in_calls: list[float] = []  # start, stop, start, stop...

    def started(**_: Any) -> None:
        in_calls.append(time.perf_counter())

    def ended(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        in_calls.append(time.perf_counter())
        if model.name == "Query":
            scanned.append(int(parsed.get("ScannedCount", 0)))

    events = dynamodb.client().meta.events
    events.register("before-call.dynamodb", started)
    events.register("after-call.dynamodb", ended)
    timings: list[tuple[float, float]] = []
    rows, calls = 0, []
    # moto keeps the 10,000 items in this process's heap, where DynamoDB keeps them on its servers: frozen, the
    # garbage collector does not walk them during our code.
    gc.collect()
    gc.freeze()
    try:
        for _ in range(LISTING_ITERATIONS + 1):  # the balance (1,000,000) pays for them all: the state can stay
            gc.collect()
            scanned.clear()
            in_calls.clear()
            with world.recorder.recording() as recorded:
                start = time.perf_counter()
                result = world.invoke("get_twilio_numbers_by_org", event)
                elapsed = time.perf_counter() - start
            assert result["statusCode"] == 200, result["body"]
            rows, calls = len(json.loads(result["body"])), [call.operation for call in recorded]
            timings.append((elapsed, sum(in_calls[1::2]) - sum(in_calls[0::2])))
    finally:
        gc.unfreeze()
        events.unregister("before-call.dynamodb", started)
        events.unregister("after-call.dynamodb", ended)
    warm = timings[1:]
    return ListingCost(
        layout=layout,
        released=released,
        rows=rows,
        calls=calls,
        items_read=sum(scanned),
        warm_ms=statistics.median(t for t, _ in warm) * 1000,
        dynamodb_ms=statistics.median(d for _, d in warm) * 1000,
    )


def listing_costs() -> list[ListingCost]:
    """The same page with no released number behind it, with RELEASED_BEHIND of them (tombstones out of the live
    key range), and with as many written in place as before #16 (what the key range saves)."""
    with bench_world() as world:
        return [
            listing_cost(world, "none", 0, in_place=False),
            listing_cost(world, "released# tombstones", RELEASED_BEHIND, in_place=False),
            listing_cost(world, "in place (before #16)", RELEASED_BEHIND, in_place=True),
        ]


def run_all(iterations: int) -> list[RouteResult]:
    with bench_world() as world:
        bare = BareHandler(world.emulator)
        return [run_scenario(world, bare, scenario, iterations) for scenario in SCENARIOS]
