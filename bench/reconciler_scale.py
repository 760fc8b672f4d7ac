"""The reconciler at scale (issue 22): an account of N numbers and N caller IDs, each with its live record, and
runs of the reconciler until every step has made a whole pass. Per run: wall time, DynamoDB calls, Twilio requests.

The Twilio emulator (its store) and moto (its backend) are seeded directly, not over HTTP, so that 100,000 of each
take seconds. The reconciler runs in this process, against moto in-process and the emulator over HTTP, with the
budget of its Lambda function (template.yaml's Timeout). `python -m bench.reconciler_scale --numbers 10000`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
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
from robotappel.dal import dynamodb, numbers
from robotappel.dal.dynamodb import to_ddb
from robotappel.ids import new_id
from robotappel.observability import logger, metrics
from robotappel.reconcile import run as reconciler
from robotappel.twilio.client import get_twilio_client
from robotappel.twilio.tags import tagged

SIZES = (10_000, 100_000)
SCHEDULE_MINUTES = 5
GOAL_RUNS = {10_000: 1, 100_000: 60 // SCHEDULE_MINUTES}  # one run; an hour of runs
# The steps that read a whole list: a pass is done when each has finished one (the gone step after the listing).
PASSES = ("numbers", "gone_numbers", "caller_ids")


def seed_account(emulator: TwilioEmulator, count: int, *, org_id: str = "org-scale", age: timedelta) -> None:
    """`count` numbers and `count` caller IDs at Twilio (tagged as ours), each with its live record made `age` ago:
    a Twilio number, a verified client phone."""
    created_at = (datetime.now(UTC) - age).isoformat()
    items: list[dict[str, Any]] = []
    account = emulator.account_sid
    with emulator.api.lock:
        for index in range(count):
            number_id, phone_id = new_id(numbers.TWILIO_NUMBER), new_id(numbers.CLIENT_PHONE)
            phone_number, client_phone = f"+3361{index:07d}", f"+3362{index:07d}"
            form = {"FriendlyName": tagged(number_id, phone_number), "VoiceUrl": "https://voice.example.test/in"}
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


@dataclass(frozen=True)
class RunFigures:
    wall_s: float
    dynamodb_calls: int
    twilio_requests: int
    out_of_time: list[str]


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


def budget_seconds() -> float:
    """A scheduled run's budget: the reconciler function's Timeout (template.yaml)."""
    function = template.resources("AWS::Serverless::Function")["ReconcilerFunction"]
    return float(function["Properties"]["Timeout"])


def runs_until_a_pass(emulator: TwilioEmulator, budget: float, max_runs: int) -> tuple[list[RunFigures], int | None]:
    """Reconciler runs, one after the other, until each whole-list step finished a pass (at most `max_runs`)."""
    dynamodb_calls = [0]

    def count_call(**_: Any) -> None:
        dynamodb_calls[0] += 1

    dynamodb.client().meta.events.register("before-call.dynamodb", count_call)
    figures: list[RunFigures] = []
    done: set[str] = set()
    for _ in range(max_runs):
        calls_before, requests_before, started = dynamodb_calls[0], len(emulator.requests_log), time.monotonic()
        findings = reconciler.run(budget)
        metrics.clear_metrics()
        ran_out = [step for step in reconciler.WEIGHTS if findings.get(reconciler.out_of_time_kind(step))]
        figures.append(
            RunFigures(
                wall_s=time.monotonic() - started,
                dynamodb_calls=dynamodb_calls[0] - calls_before,
                twilio_requests=len(emulator.requests_log) - requests_before,
                out_of_time=ran_out,
            )
        )
        listed = "numbers" in done or "numbers" not in ran_out
        done |= {step for step in PASSES if step not in ran_out and (step != "gone_numbers" or listed)}
        if done >= set(PASSES):
            return figures, len(figures)
    return figures, None


def measure(count: int, max_runs: int) -> ScaleFigures:
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


def print_figures(figures: ScaleFigures) -> None:
    print(
        f"\nReconciler at {figures.numbers:,} numbers and caller IDs (seeded in {figures.seed_s:.1f} s; "
        f"budget {figures.budget_s:.0f} s a run):"
    )
    for index, run in enumerate(figures.runs, 1):
        late = ", ".join(run.out_of_time) or "none"
        print(
            f"  run {index}: {run.wall_s:.1f} s, {run.dynamodb_calls} DynamoDB calls, "
            f"{run.twilio_requests} Twilio requests; out of time: {late}"
        )
    needed = figures.runs_for_a_pass
    print(
        f"  runs for a whole pass: {needed if needed else f'more than {len(figures.runs)}'} "
        f"(goal: {figures.goal_runs}) -- met: {'yes' if figures.met else 'no'}"
    )


def results(figures: list[ScaleFigures]) -> list[dict[str, Any]]:
    return [asdict(found) | {"met": found.met} for found in figures]


def run_all(sizes: tuple[int, ...], max_runs: int) -> list[ScaleFigures]:
    logger.setLevel(logging.ERROR)  # a line per finding would be the bench's own cost
    logging.getLogger("local.twilio_emulator").setLevel(logging.ERROR)
    found = []
    for count in sizes:
        figures = measure(count, max_runs)
        print_figures(figures)
        found.append(figures)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, action="append", help=f"account sizes (default {SIZES[0]})")
    parser.add_argument("--max-runs", type=int, default=GOAL_RUNS[SIZES[-1]] + 3)
    args = parser.parse_args()
    run_all(tuple(args.numbers or SIZES[:1]), args.max_runs)


if __name__ == "__main__":
    main()
