"""The world the model drives: two orgs sharing two phones, the real handlers run in-process against moto and the
Twilio emulator, the people who answer Twilio's verification calls, Twilio's callbacks, and a clock.

Every thing that can happen is a small frozen dataclass (its repr is a line of the story Hypothesis prints when it
shrinks a failure) with `run(world)`, which performs it and says what came back.
"""

import functools
import threading
import types
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import boto3
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from boto3.dynamodb.conditions import Key

from local.aws import create_tables
from local.lambda_runtime import REGION
from local.streams import StreamDelivery
from local.twilio_emulator import TwilioEmulator, resources
from robotappel.config import get_settings
from robotappel.dal import api_keys
from robotappel.errors import DomainError
from robotappel.numbers.verification import VERIFICATION_WINDOW
from tests.fixtures import boundaries
from tests.fixtures.aws import VALIDATION_STATUS_URL, consume_with_token_ledger, issue_key, open_org
from tests.fixtures.boundaries import Boundaries, Killed
from tests.fixtures.clock import Clock
from tests.fixtures.invariants import Snapshot, read_snapshot
from tests.fixtures.lambdas import api_event, call_webhook, invoke, load_function, run_handler
from tests.iam.calls import made_by_the_test

ORGS = ("org-a", "org-b")
OPERATORS, OPERATOR_KEY = "org-ops", "ops-key"  # who credits the orgs (an admin key, checked at every call)
PHONES = ("+33612345601", "+33612345602")  # both orgs may add both
OPENING_TOKENS = 200
BUY = {"countryCode": "US", "areaCode": "415"}
VOICE_URLS = ("https://voice.robotappel.com/twilio/inbound", "https://voice.robotappel.com/twilio/inbound/other")
NO_SUCH_ID = "tn_000000000000deadbeef00"
# Every function the model runs, loaded before the clock is installed (it patches the modules loaded then).
FUNCTIONS = (
    "add_client_phone",
    "buy_twilio_number",
    "update_phone_number",
    "delete_phone_number",
    "credit_tokens",
    "validation_status_webhook",
    "reconciler",
    "token_ledger",
)


class Story:
    """Printed by its repr, in a failing example's story too (Hypothesis's printer asks for _repr_pretty_)."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class Happening(Protocol):
    def run(self, world: "World") -> str: ...


@dataclass(frozen=True)
class VerificationCall:
    """A verification call Twilio placed (for a validation request) that nobody answered yet."""

    phone: str
    friendly_name: str
    call_sid: str
    account_sid: str  # the subaccount that asked for it (its org's)
    placed_at: datetime


class World:
    """One example's world: fresh tables with two orgs, an empty Twilio, the clock where it is."""

    def __init__(self, emulator: TwilioEmulator, bounds: Boundaries, clock: Clock) -> None:
        self.emulator, self.boundaries, self.clock = emulator, bounds, clock
        self.calls: list[VerificationCall] = []  # placed, not answered yet
        self.callbacks: list[dict[str, str]] = []  # every verification callback Twilio made, in order
        self.requests_of_key: dict[str, list[str]] = defaultdict(list)
        self.settled = False  # nothing happened since a complete reconciler run
        # Numbers an update that met a fault was changing: Twilio may hold the update and the record not (it died
        # after Twilio's change), until a complete reconciler run sets Twilio back to the record (reconcile/drift).
        self.may_drift: set[str] = set()
        # Client phones a delete that met a fault was deleting: their caller ID may be gone, their record verified,
        # until a complete reconciler run fails them (reconcile.caller_ids).
        self.half_deleted: set[str] = set()
        self.fault_kind: str | None = None  # the fault the request being performed may meet
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self._fresh_tables()
        self.stream = StreamDelivery(
            boto3.client("dynamodb", region_name=REGION),
            boto3.client("dynamodbstreams", region_name=REGION),
            get_settings().tokens_table,
            consume_with_token_ledger,
        )
        for org in ORGS:
            open_org(org, OPENING_TOKENS)
        open_org(OPERATORS, 0, operator=True)
        issue_key(OPERATORS, OPERATOR_KEY, role="admin")
        operator_key = api_keys.find(OPERATOR_KEY)
        assert operator_key is not None
        self.operator_key_id = operator_key.key_id

    def _fresh_tables(self) -> None:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for existing in dynamodb.list_tables()["TableNames"]:
            dynamodb.delete_table(TableName=existing)
        create_tables(dynamodb)
        self.emulator.reset()

    def snapshot(self) -> Snapshot:
        self.stream.deliver()
        return read_snapshot(self.emulator, self.clock.now(), self.dynamodb)

    # ---------------------------------------------------------------- what Twilio does on its own
    def placed(self, phone: str, friendly_name: str, call_sid: str, account_sid: str) -> None:
        self.calls.append(VerificationCall(phone, friendly_name, call_sid, account_sid, self.clock.now()))

    def answer(self, which: int, right_code: bool) -> dict[str, str] | None:
        """The person answers a verification call: Twilio verifies the phone in the subaccount that asked if they
        typed the right code (and that subaccount has no caller ID for that number yet: one per number and
        account), and makes its callback, signed with that subaccount's token. A call is over long before
        VERIFICATION_WINDOW: one placed earlier is no longer answered."""
        self.calls = [call for call in self.calls if self.clock.now() - call.placed_at < VERIFICATION_WINDOW]
        if not self.calls:
            return None
        call = self.calls.pop(which % len(self.calls))
        api = self.emulator.api
        params = {
            "AccountSid": call.account_sid,
            "CallSid": call.call_sid,
            "To": call.phone,
            "Called": call.phone,
            "PhoneNumber": call.phone,
            "ApiVersion": resources.API_VERSION,
            "VerificationStatus": "failed",
        }
        with api.lock:
            taken = any(
                caller_id["phone_number"] == call.phone and caller_id["account_sid"] == call.account_sid
                for caller_id in api.caller_ids.values()
            )
            if right_code and not taken:
                caller_id = resources.caller_id(call.account_sid, call.phone, call.friendly_name)
                api.caller_ids[caller_id["sid"]] = caller_id
                params |= {"VerificationStatus": "success", "OutgoingCallerIdSid": caller_id["sid"]}
        self.callbacks.append(params)
        return params

    def call_back(self, params: dict[str, str]) -> str:
        auth_token = self.emulator.account(params["AccountSid"])["auth_token"]
        result = call_webhook("validation_status_webhook", VALIDATION_STATUS_URL, auth_token, params)
        return f"{result.status} {result.body}"

    # ---------------------------------------------------------------- requests
    def request(self, function: str, org: str, **changes: Any) -> str:
        event = api_event(function, org=org, **changes)
        key = (changes.get("headers") or {}).get("Idempotency-Key")
        if key:
            self.requests_of_key[f"{org}/{key}"].append(event["requestContext"]["requestId"])
        result = invoke(function, event)
        assert result.status != 500, f"{function} answered 500: {result.body}"
        body = result.body if result.status >= 400 else {k: result.body.get(k) for k in ("id", "status")}
        return f"{result.status} {body}"

    def live(self, org: str, kind: str) -> list[dict[str, Any]]:
        """The org's live records of `kind` ("client", "twilio"), oldest first."""
        # the test's own read, not the request's: no fault, and no call of the function it may be run inside
        with self.boundaries.paused(), made_by_the_test():
            items = self.dynamodb.Table(get_settings().numbers_table).query(
                KeyConditionExpression=Key("orgId").eq(org) & Key("sk").begins_with("number#"), ConsistentRead=True
            )["Items"]
        return sorted((item for item in items if item["kind"] == kind), key=lambda item: str(item["id"]))

    def pick(self, org: str, kind: str, which: int) -> str:
        records = self.live(org, kind)
        return str(records[which % len(records)]["id"]) if records else NO_SUCH_ID

    def reconcile(self) -> str:
        findings = run_handler("reconciler", {})
        found = {kind: count for kind, count in findings.items() if count}
        return f"ran: {found}" if findings else "another run holds the lease"

    def perform(self, happening: Happening, trouble: "Trouble | None") -> str:
        """`happening`, with `trouble` at one of its boundaries; what came back."""
        fault = trouble.fault(self) if trouble else None
        self.fault_kind = trouble.kind if trouble else None
        with self.boundaries.armed(fault):
            try:
                return happening.run(self)
            except Killed:
                return "the function died"
            finally:
                self.fault_kind = None

    def quietly(self, happening: Happening) -> None:
        """`happening` as another invocation that races the one a fault is in (it meets no fault itself). On Lambda
        each runs in its own process; here the one in the middle must not leave the other Powertools' event and
        context, which Powertools keeps on a class (BaseRouter) for the invocation being handled."""
        event, context, fault_kind = BaseRouter.current_event, BaseRouter.lambda_context, self.fault_kind
        self.fault_kind = None
        try:
            happening.run(self)
        except Killed:
            raise AssertionError("a request run meanwhile has no fault") from None
        finally:
            BaseRouter.current_event, BaseRouter.lambda_context = event, context
            self.fault_kind = fault_kind


# -------------------------------------------------------------------- the things that can happen
@dataclass(frozen=True)
class Add(Story):
    org: str
    phone: str
    answered: bool = False  # the person answers its verification call at once, with the right code

    def __repr__(self) -> str:
        answered = ", its call answered with the right code" if self.answered else ""
        return f"<{self.org} adds {self.phone}{answered}>"

    def run(self, world: World) -> str:
        placed = len(world.calls)
        answer = world.request("add_client_phone", self.org, body={"phoneNumber": self.phone})
        if not self.answered or len(world.calls) == placed:
            return answer
        # the one step most adds take in life: without it, a phone verified needs several steps to line up
        params = world.answer(len(world.calls) - 1, right_code=True)
        assert params is not None
        return f"{answer}; {params['VerificationStatus']}: {world.call_back(params)}"


@dataclass(frozen=True)
class Buy(Story):
    org: str
    key: str | None = None  # an Idempotency-Key; each names one body (K2: linked to the first phone)
    link: str | None = None

    def __repr__(self) -> str:
        key = f" with Idempotency-Key {self.key}" if self.key else ""
        link = f" linked to {self.link}" if self.link else ""
        return f"<{self.org} buys{link}{key}>"

    def run(self, world: World) -> str:
        body = {**BUY, "friendlyName": f"line {self.key or 'x'}"}
        if self.link:
            body["clientPhoneNumber"] = self.link
        headers = {"Idempotency-Key": self.key} if self.key else None
        return world.request("buy_twilio_number", self.org, body=body, headers=headers)


@dataclass(frozen=True)
class Update(Story):
    org: str
    number: int  # which of the org's live Twilio numbers (oldest first)
    change: tuple[str, str]  # ("friendlyName" | "voiceUrl" | "clientPhoneNumber", value; "" unlinks)

    def __repr__(self) -> str:
        return f"<{self.org} updates its Twilio number #{self.number}: {self.change[0]}={self.change[1]!r}>"

    def run(self, world: World) -> str:
        number_id = world.pick(self.org, "twilio", self.number)
        if world.fault_kind not in (None, boundaries.RACE):
            world.may_drift.add(number_id)
        body = {self.change[0]: self.change[1]}
        return f"{number_id}: " + world.request(
            "update_phone_number", self.org, path_params={"id": number_id}, body=body
        )


@dataclass(frozen=True)
class Delete(Story):
    org: str
    kind: str  # "client" (a client phone) | "twilio" (a Twilio number)
    which: int

    def __repr__(self) -> str:
        what = "client phone" if self.kind == "client" else "Twilio number"
        return f"<{self.org} deletes its {what} #{self.which}>"

    def run(self, world: World) -> str:
        number_id = world.pick(self.org, self.kind, self.which)
        if world.fault_kind not in (None, boundaries.RACE):
            world.half_deleted.add(number_id)
        return f"{number_id}: " + world.request("delete_phone_number", self.org, path_params={"id": number_id})


@dataclass(frozen=True)
class Credit(Story):
    org: str
    tokens: int

    def __repr__(self) -> str:
        return f"<an operator credits {self.org} {self.tokens} tokens>"

    def run(self, world: World) -> str:
        return world.request(
            "credit_tokens",
            OPERATORS,
            role="admin",
            key_id=world.operator_key_id,
            path_params={"orgId": self.org},
            body={"tokens": self.tokens, "reason": "model top-up"},
        )


@dataclass(frozen=True)
class Reconcile(Story):
    def __repr__(self) -> str:
        return "<the reconciler runs>"

    def run(self, world: World) -> str:
        try:
            return world.reconcile()
        except DomainError as failure:  # the invocation fails (DynamoDB or Twilio down): the next run resumes
            return f"the run failed: {failure!r}"


@dataclass(frozen=True)
class Answer(Story):
    which: int  # which of the verification calls not answered yet (oldest first)
    right_code: bool
    calls_back: bool  # False: the callback is lost (for now)

    def __repr__(self) -> str:
        code = "the right code" if self.right_code else "a wrong code"
        lost = "" if self.calls_back else ", its callback lost"
        return f"<a person answers verification call #{self.which} with {code}{lost}>"

    def run(self, world: World) -> str:
        params = world.answer(self.which, self.right_code)
        if params is None:
            return "no call to answer"
        outcome = params["VerificationStatus"]
        return f"{outcome}: " + (world.call_back(params) if self.calls_back else "callback lost")


@dataclass(frozen=True)
class CallbackAgain(Story):
    which: int  # which of Twilio's callbacks so far: a duplicate, late, or out of order

    def __repr__(self) -> str:
        return f"<Twilio sends its verification callback #{self.which} (again)>"

    def run(self, world: World) -> str:
        if not world.callbacks:
            return "no callback to send"
        params = world.callbacks[self.which % len(world.callbacks)]
        return f"{params['VerificationStatus']} for {params['To']}: " + world.call_back(params)


@dataclass(frozen=True)
class Trouble(Story):
    """A fault at one of the boundaries of the request it hits (tests/fixtures/boundaries.py)."""

    kind: str
    at: int = 1
    between: Happening | None = None

    def __repr__(self) -> str:
        between = f" ({self.between!r} meanwhile)" if self.between is not None else ""
        return f"<{self.kind} at call {self.at}{between}>"

    def fault(self, world: World) -> boundaries.Fault:
        between = functools.partial(world.quietly, self.between) if self.between is not None else None
        return boundaries.Fault(self.kind, self.at, between)


@dataclass
class Stats:
    """What a session of the model did (printed by `make soak`)."""

    examples: int = 0
    steps: int = 0
    faults: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def capture_verification_calls(world_of: "WorldRef") -> types.SimpleNamespace:
    """The emulator's `threading`, with a Timer that hands the verification call to the world instead of having
    the person answer it on their own a moment later (the model decides when, how, and whether Twilio calls back)."""

    class PlacedCall:
        def __init__(self, _: float, verify: functools.partial[None]) -> None:
            _generation, phone, friendly_name, call_sid, _callback = verify.args
            world_of.world.placed(phone, friendly_name, call_sid, verify.keywords["account_sid"])

        def start(self) -> None:
            pass

    return types.SimpleNamespace(**{**vars(threading), "Timer": PlacedCall})


@dataclass
class WorldRef:
    world: World = field(init=False)


def load_functions() -> None:
    for name in FUNCTIONS:
        load_function(name)
