"""The reconciler at scale (issue 22): an account of N numbers and N caller IDs, each with its live record, and
runs of the reconciler until every step has made a whole pass. Per run: wall time, DynamoDB calls, Twilio requests.

The Twilio emulator (its store) and moto (its backend) are seeded directly, not over HTTP, so that 100,000 of each
take seconds. The reconciler runs in this process, against moto in-process and the emulator over HTTP, with the
budget of its Lambda function (template.yaml's Timeout), judged on a modelled clock: the time its calls would take
on AWS and Twilio (moto serialises every item in Python, many times slower than DynamoDB; the wall time here is
reported beside). `python -m bench.reconciler_scale --numbers 10000`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from local import template
from local.aws import FAKE_CREDENTIALS, create_tables
from local.lambda_runtime import REGION
from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator import resources as twilio_resources
from robotappel.config import get_settings
from robotappel.dal import dynamodb, numbers, subaccounts
from robotappel.dal.dynamodb import to_ddb
from robotappel.ids import new_id
from robotappel.numbers.webhooks import call_status_url
from robotappel.observability import logger, metrics
from robotappel.reconcile import run as reconciler
from robotappel.tenants.subaccounts import forget_known, friendly_name
from robotappel.twilio.account_tokens import forget_tokens
from robotappel.twilio.client import get_twilio_client
from robotappel.twilio.tags import tagged

RESULTS = Path(__file__).with_name("results.json")
SIZES = (10_000, 100_000)
SCHEDULE_MINUTES = 5
GOAL_RUNS = {10_000: 1, 100_000: 60 // SCHEDULE_MINUTES}  # one run; an hour of runs
MAX_RUNS = GOAL_RUNS[SIZES[-1]] + 3
# The steps that read a whole list, each judgment by the listing it judges after: a pass is done when each has
# finished one (a judgment, once its listing has finished too).
PASSES = {"numbers": None, "gone_numbers": "numbers", "caller_ids": None, "gone_caller_ids": "caller_ids"}


def seed_account(emulator: TwilioEmulator, count: int, *, org_id: str = "org-scale", age: timedelta) -> None:
    """`count` numbers and `count` caller IDs in the org's Twilio subaccount (tagged as ours), each with its live
    record made `age` ago: a Twilio number (set at Twilio as its purchase sets it: no drift), a verified client
    phone. The subaccount is opened and recorded as onboarding does (tenants.subaccounts)."""
    created_at = (datetime.now(UTC) - age).isoformat()
    base_url = str(get_settings().public_base_url or "").rstrip("/")
    items: list[dict[str, Any]] = []
    account = str(emulator.create_subaccount(friendly_name(org_id))["sid"])
    subaccounts.record(org_id, account, created_at)
    with emulator.api.lock:
        for index in range(count):
            number_id, phone_id = new_id(numbers.TWILIO_NUMBER), new_id(numbers.CLIENT_PHONE)
            phone_number, client_phone = f"+3361{index:07d}", f"+3362{index:07d}"
            form = {
                "FriendlyName": tagged(number_id, phone_number),
                "VoiceUrl": "https://voice.example.test/in",
                "StatusCallback": call_status_url(base_url, number_id),
            }
            number = twilio_resources.incoming_number(account, phone_number, form, "none")
            caller_id = twilio_resources.caller_id(account, client_phone, tagged(phone_id, "Desk"))
            emulator.api.incoming[number["sid"]] = number
            emulator.api.caller_ids[caller_id["sid"]] = caller_id
            items += [
                numbers.TwilioNumberRecord(
                    id=number_id,
                    org_id=org_id,
                    phone_number=phone_number,
                    phone_number_sid=number["sid"],
                    friendly_name=phone_number,
                    country_code="FR",
                    number_type="mobile",
                    voice_url=form["VoiceUrl"],
                    created_at=created_at,
                ).item(),
                numbers.ClientPhoneRecord(
                    id=phone_id,
                    org_id=org_id,
                    phone_number=client_phone,
                    friendly_name="Desk",
                    status="verified",
                    caller_id_sid=caller_id["sid"],
                    created_at=created_at,
                ).item(),
            ]
    put_items(get_settings().numbers_table, items)


def put_items(table: str, items: list[dict[str, Any]]) -> None:
    """Items written straight into moto's backend (in this process): no request, no serialisation."""
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    for item in items:
        backend.put_item(table, to_ddb(item))


# Latencies of the real services, to turn a run's calls into the time they would take on AWS and Twilio (moto
# serialises every item in Python: its times are this machine's, not DynamoDB's). Assumed, not measured here: a
# DynamoDB call (GetItem, PutItem, a BatchGetItem of 100 small items, a Query page) ~20 ms; a page of 1000 of
# Twilio's list ~1.5 s; any other Twilio request ~0.3 s.
DYNAMODB_CALL_S, TWILIO_LIST_PAGE_S, TWILIO_REQUEST_S = 0.02, 1.5, 0.3


@dataclass(frozen=True)
class RunFigures:
    wall_s: float
    dynamodb_calls: dict[str, int]  # by operation
    twilio_list_pages: int
    twilio_other_requests: int
    out_of_time: list[str]

    @property
    def modelled_s(self) -> float:
        """What the run's calls would take on AWS and Twilio (see DYNAMODB_CALL_S)."""
        dynamodb = sum(self.dynamodb_calls.values()) * DYNAMODB_CALL_S
        return dynamodb + self.twilio_list_pages * TWILIO_LIST_PAGE_S + self.twilio_other_requests * TWILIO_REQUEST_S


@dataclass(frozen=True)
class ScaleFigures:
    numbers: int
    budget_s: float
    seed_s: float
    runs: list[RunFigures]
    runs_for_a_pass: int | None  # None: not within the runs made
    goal_runs: int

    @property
    def met(self) -> bool:
        return self.runs_for_a_pass is not None and self.runs_for_a_pass <= self.goal_runs

    @property
    def modelled_pass_s(self) -> float:
        """What the runs of a whole pass would take on AWS and Twilio (RunFigures.modelled_s)."""
        return sum(run.modelled_s for run in self.runs)


def extrapolated(measured: ScaleFigures, numbers: int) -> dict[str, Any]:
    """A larger account's whole pass, from a measured one, its calls growing with the account (not run: labelled
    so): the time on AWS and Twilio, and the runs it needs at least (each run's budget less its margin)."""
    pass_s = measured.modelled_pass_s * numbers / measured.numbers
    usable = measured.budget_s - min(measured.budget_s * reconciler.MARGIN_SHARE, reconciler.MAX_MARGIN_SECONDS)
    return {
        "numbers": numbers,
        "extrapolated_from": measured.numbers,
        "modelled_pass_s": pass_s,
        "runs_at_least": math.ceil(pass_s / usable),
        "goal_runs": GOAL_RUNS.get(numbers, 1),
    }


def budget_seconds() -> float:
    """A scheduled run's budget: the reconciler function's Timeout (template.yaml)."""
    function = template.resources("AWS::Serverless::Function")["ReconcilerFunction"]
    return float(function["Properties"]["Timeout"])


class ModelledClock:
    """The time a run's calls so far would have taken on AWS and Twilio (see DYNAMODB_CALL_S): the clock a run's
    budget is judged on here, so that moto's slowness does not count as the reconciler's."""

    def __init__(self, emulator: TwilioEmulator) -> None:
        self.calls: Counter[str] = Counter()
        self._emulator, self._requests_before = emulator, 0
        dynamodb.client().meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def start_run(self) -> None:
        self.calls.clear()
        self._requests_before = len(self._emulator.api.log)

    def twilio_requests(self) -> tuple[int, int]:
        """This run's Twilio list pages, and its other requests."""
        requests = self._emulator.api.log[self._requests_before :]
        pages = sum(1 for request in requests if request.method == "GET" and request.path.endswith("s.json"))
        return pages, len(requests) - pages

    def __call__(self) -> float:
        pages, others = self.twilio_requests()
        return RunFigures(0.0, dict(self.calls), pages, others, []).modelled_s


def runs_until_a_pass(emulator: TwilioEmulator, budget: float, max_runs: int) -> tuple[list[RunFigures], int | None]:
    """Reconciler runs, one after the other, until each whole-list step finished a pass (at most `max_runs`); each
    run's budget judged on the modelled clock."""
    clock = ModelledClock(emulator)
    figures: list[RunFigures] = []
    done: set[str] = set()
    for _ in range(max_runs):
        clock.start_run()
        started = time.monotonic()
        findings = reconciler.run(budget, clock=clock)
        metrics.clear_metrics()
        ran_out = [step for step in reconciler.WEIGHTS if findings.get(reconciler.out_of_time_kind(step))]
        figures.append(RunFigures(time.monotonic() - started, dict(clock.calls), *clock.twilio_requests(), ran_out))
        print_run(len(figures), figures[-1])
        finished = {step for step in PASSES if step not in ran_out}
        done |= {step for step, listing in PASSES.items() if step in finished and listing in {None, *done, *finished}}
        if done >= set(PASSES):
            return figures, len(figures)
    return figures, None


def measure(count: int, max_runs: int) -> ScaleFigures:
    print(f"\nReconciler at {count:,} numbers and caller IDs:", flush=True)
    with scale_world() as emulator:
        started = time.monotonic()
        seed_account(emulator, count, age=timedelta(hours=1))
        seed_s = time.monotonic() - started
        budget = budget_seconds()
        runs, needed = runs_until_a_pass(emulator, budget, max_runs)
    return ScaleFigures(count, budget, seed_s, runs, needed, GOAL_RUNS.get(count, 1))


@contextmanager
def scale_world() -> Iterator[TwilioEmulator]:
    """moto (in this process) with the template's tables and the Twilio secret, the emulator, the layer on both."""
    saved = dict(os.environ)
    emulator = TwilioEmulator(account_sid="AC" + "5" * 32, auth_token="bench-token").start()
    try:
        with mock_aws():
            os.environ.update({"AWS_DEFAULT_REGION": REGION, **FAKE_CREDENTIALS})
            names = create_tables(boto3.client("dynamodb", region_name=REGION))
            function = template.functions()["ReconcilerFunction"]
            secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name="bench/twilio",
                SecretString=json.dumps({"accountSid": emulator.account_sid, "authToken": emulator.auth_token}),
            )
            references = {**names, **template.parameter_defaults(), "TwilioSecretArn": secret["ARN"]}
            os.environ.update(template.resolve_environment(function, references))
            os.environ.update(
                {
                    "TWILIO_API_BASE_URL": emulator.base_url,
                    "TWILIO_NUMBERS_BASE_URL": emulator.base_url,
                    "POWERTOOLS_METRICS_NAMESPACE": "RobotAppel",
                    "PUBLIC_BASE_URL": "https://api.example.test/bench",
                }
            )
            _clear_layer_caches()
            yield emulator
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved)
        _clear_layer_caches()


def _clear_layer_caches() -> None:
    get_settings.cache_clear()
    dynamodb.client.cache_clear()
    get_twilio_client.cache_clear()
    forget_tokens()
    forget_known()


def print_run(index: int, run: RunFigures) -> None:
    by_operation = ", ".join(f"{name} {count}" for name, count in sorted(run.dynamodb_calls.items()))
    print(
        f"  run {index}: {run.wall_s:.1f} s here (modelled on AWS and Twilio: {run.modelled_s:.1f} s); "
        f"DynamoDB {sum(run.dynamodb_calls.values())} calls ({by_operation}); Twilio {run.twilio_list_pages} list "
        f"pages + {run.twilio_other_requests} other requests; out of time: {', '.join(run.out_of_time) or 'none'}",
        flush=True,
    )


def print_figures(figures: ScaleFigures) -> None:
    needed = figures.runs_for_a_pass
    print(
        f"  {figures.numbers:,} numbers and caller IDs (seeded in {figures.seed_s:.1f} s; budget {figures.budget_s:.0f}"
        f" s a run): runs for a whole pass: {needed if needed else f'more than {len(figures.runs)}'} "
        f"(goal: {figures.goal_runs}) -- met: {'yes' if figures.met else 'no'}"
    )


def results(figures: list[ScaleFigures]) -> list[dict[str, Any]]:
    return [
        asdict(found) | {"met": found.met, "runs": [asdict(run) | {"modelled_s": run.modelled_s} for run in found.runs]}
        for found in figures
    ]


def run_all(sizes: tuple[int, ...], max_runs: int) -> list[ScaleFigures]:
    logger.setLevel(logging.ERROR)  # a line per finding would be the bench's own cost
    logging.getLogger("local.twilio_emulator").setLevel(logging.ERROR)
    found = []
    for count in sizes:
        figures = measure(count, max_runs)
        print_figures(figures)
        found.append(figures)
    return found


def results_of(sizes: tuple[int, ...], max_runs: int) -> dict[str, Any]:
    """What `make bench` keeps (bench/results.json, "reconciler_at_scale"): each size measured, and 100,000
    extrapolated from the largest measured when it was not run."""
    found = run_all(sizes, max_runs)
    part: dict[str, Any] = {"measured": results(found)}
    if SIZES[-1] not in sizes:
        part["extrapolated"] = extrapolated(max(found, key=lambda figures: figures.numbers), SIZES[-1])
        print(f"  extrapolated (not run): {part['extrapolated']}")
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, action="append", help=f"account sizes (default {SIZES[0]})")
    parser.add_argument("--max-runs", type=int, default=MAX_RUNS)
    args = parser.parse_args()
    part = results_of(tuple(args.numbers or SIZES[:1]), args.max_runs)
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps(saved | {"reconciler_at_scale": part}, indent=2) + "\n")


if __name__ == "__main__":
    main()
