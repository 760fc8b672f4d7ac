"""A model of the whole system (issue #21): Hypothesis drives the real handlers, in-process, against moto and the
Twilio emulator, through sequences nobody wrote down, and checks the invariants of tests/fixtures/invariants.py
after every step.

Two orgs share two phones. A step is a request (add, buy with or without an Idempotency-Key, update, link, delete,
credit, a reconciler run), a person answering a verification call (right or wrong code, its callback delivered or
lost), Twilio sending one of its callbacks again (duplicated, late, out of order), or the clock moving past
ADD_GRACE, HOLD_EXPIRY or VERIFICATION_WINDOW. A request may meet a fault at any of its boundaries (Twilio refuses,
fails, times out, or acts and its answer is lost; DynamoDB fails, or applies and its answer is lost, or applies,
loses its answer and is retried after another request wrote; the function dies after any call) or race another
request run in the middle of it.

A failure is shrunk to its shortest story and printed: each step's arguments read as a sentence, and what each step
answered follows it (`->`). `make test` runs the "ci" profile (fixed examples, about a minute); `make soak` the
"soak" profile (thousands of examples, a fresh seed, the figures printed at the end).
"""

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator import api as emulator_api
from robotappel.numbers.verification import VERIFICATION_WINDOW
from robotappel.reconcile.caller_ids import ADD_GRACE
from robotappel.reconcile.holds import HOLD_EXPIRY
from tests.fixtures.boundaries import (
    DIES,
    DYNAMODB_APPLIES_ANSWER_LOST,
    DYNAMODB_APPLIES_RETRIED,
    DYNAMODB_FAILS,
    RACE,
    TWILIO_FAULTS,
    Boundaries,
)
from tests.fixtures.clock import Clock
from tests.fixtures.invariants import run_problems, step_problems
from tests.model.world import (
    ORGS,
    PHONES,
    VOICE_URLS,
    Add,
    Answer,
    Buy,
    CallbackAgain,
    Credit,
    Delete,
    Happening,
    Reconcile,
    Stats,
    Trouble,
    Update,
    World,
    WorldRef,
    capture_verification_calls,
    load_functions,
)

PROFILE = os.environ.get("MODEL_PROFILE", "ci")
# Every profile: no deadline (a step runs several handlers), no example database (CI reproduces from the seed).
settings.register_profile("model", deadline=None, database=None, suppress_health_check=list(HealthCheck))
_MODEL = settings.get_profile("model")
# ci: the same examples on every run (derandomized), within about a minute on a 2-core machine.
settings.register_profile("ci", _MODEL, max_examples=12, stateful_step_count=15, derandomize=True)
# triage: the ci profile's examples, the first failure reported unshrunk (a quicker look while fixing).
settings.register_profile("triage", settings.get_profile("ci"), phases=[Phase.generate])
# soak: a fresh seed each time (pytest --hypothesis-seed), thousands of examples (MODEL_EXAMPLES: another count).
settings.register_profile(
    "soak", _MODEL, max_examples=int(os.environ.get("MODEL_EXAMPLES", "2000")), stateful_step_count=30
)
# hunt: like soak, but the first failure reported unshrunk.
settings.register_profile("hunt", settings.get_profile("soak"), phases=[Phase.generate])

WINDOWS = {"ADD_GRACE": ADD_GRACE, "HOLD_EXPIRY": HOLD_EXPIRY, "VERIFICATION_WINDOW": VERIFICATION_WINDOW}

orgs = st.sampled_from(ORGS)
phones = st.sampled_from(PHONES)
changes = st.one_of(
    st.tuples(st.just("friendlyName"), st.sampled_from(("front desk", "night line"))),
    st.tuples(st.just("voiceUrl"), st.sampled_from(VOICE_URLS)),
    st.tuples(st.just("clientPhoneNumber"), st.sampled_from(("", *PHONES))),
)
happenings: st.SearchStrategy[Happening] = st.one_of(
    st.builds(Add, orgs, phones, st.booleans()),
    st.builds(Buy, orgs),
    st.builds(Buy, orgs, st.none(), phones),
    st.builds(Buy, orgs, st.just("K1")),
    st.builds(Buy, orgs, st.just("K2"), st.just(PHONES[0])),
    st.builds(Update, orgs, st.integers(0, 2), changes),
    st.builds(Delete, orgs, st.sampled_from(("client", "twilio")), st.integers(0, 2)),
    st.builds(Credit, orgs, st.sampled_from((10, 50))),
    st.builds(Answer, st.integers(0, 3), st.booleans(), st.booleans()),
    st.builds(CallbackAgain, st.integers(0, 3)),
    st.just(Reconcile()),
)
troubles = st.one_of(
    st.none(),
    st.builds(Trouble, st.sampled_from(TWILIO_FAULTS), st.integers(1, 3)),
    st.builds(
        Trouble,
        st.sampled_from((DYNAMODB_FAILS, DYNAMODB_APPLIES_ANSWER_LOST, DYNAMODB_APPLIES_RETRIED, DIES)),
        st.integers(1, 8),
    ),
    st.builds(
        Trouble,
        st.sampled_from((RACE, DYNAMODB_APPLIES_RETRIED)),
        st.integers(1, 8),
        happenings,
    ),
)

STATS = Stats()


class WholeSystem(RuleBasedStateMachine):
    emulator: ClassVar[TwilioEmulator]
    boundaries: ClassVar[Boundaries]
    clock: ClassVar[Clock]
    ref: ClassVar[WorldRef]

    def __init__(self) -> None:
        super().__init__()
        self.world = World(self.emulator, self.boundaries, self.clock)
        self.ref.world = self.world
        STATS.examples += 1

    @rule(happening=happenings, trouble=troubles)
    def happens(self, happening: Happening, trouble: Trouble | None) -> None:
        STATS.steps += 1
        answer = self.world.perform(happening, trouble)
        note(f"{happening!r}{f' with {trouble!r}' if trouble else ''} -> {answer}")
        # The run-after invariants hold once a complete run found the state as it is now.
        self.world.settled = isinstance(happening, Reconcile) and trouble is None and answer.startswith("ran")
        if self.world.settled:
            self.world.may_drift.clear()
            self.world.half_deleted.clear()

    @rule(window=st.sampled_from(sorted(WINDOWS)))
    def time_passes(self, window: str) -> None:
        """The clock moves past `window`; the reconciler, on its schedule, has run meanwhile."""
        STATS.steps += 1
        self.clock.advance(WINDOWS[window] + timedelta(seconds=1))
        answer = self.world.reconcile()
        note(f"<{window} passes> -> the reconciler {answer}")
        self.world.settled = answer.startswith("ran")
        if self.world.settled:
            self.world.may_drift.clear()
            self.world.half_deleted.clear()

    @invariant()
    def everything_holds(self) -> None:
        state = self.world.snapshot()
        # An update that met a fault may leave Twilio holding what its record does not (it died after Twilio's
        # change), a delete that met a fault a verified phone without its caller ID: excused for that number or
        # phone until a complete run, which must have set it right (run_problems).
        problems = step_problems(
            state,
            requests_of_key=self.world.requests_of_key,
            may_drift=self.world.may_drift,
            half_deleted=self.world.half_deleted,
        )
        if self.world.settled:
            problems += run_problems(state)
        assert not problems, "\n".join(problems)


@pytest.fixture
def model(aws: dict[str, str], twilio_layer: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The boundaries, the clock and the verification calls in the model's hands, for the whole session."""
    WholeSystem.emulator = twilio_layer
    WholeSystem.boundaries = Boundaries()
    WholeSystem.boundaries.install(monkeypatch)
    load_functions()
    WholeSystem.clock = Clock()
    WholeSystem.clock.install(monkeypatch)
    WholeSystem.ref = WorldRef()
    monkeypatch.setattr(emulator_api, "threading", capture_verification_calls(WholeSystem.ref))
    yield
    if PROFILE != "ci":
        print(f"\nmodel ({PROFILE}): {STATS.examples} examples, {STATS.steps} steps; faults injected by kind:")
        for kind, count in sorted(WholeSystem.boundaries.fired.items()):
            print(f"  {kind}: {count}")


def test_the_whole_system_keeps_its_invariants(model: None) -> None:
    run_state_machine_as_test(WholeSystem, settings=settings.get_profile(PROFILE))
