"""`make bench`: cold init, DynamoDB round trips, warm latency, layer size and peak RSS of the built functions,
and the reconciler at scale (bench.reconciler_scale).

Needs `make build-check` first (the Makefile's `bench` target runs it). Prints a table and writes
bench/results.json. Options: --runs N (rounds of cold starts, every function once a round and the floors three
times, default 30), --importtime-runs N (default 3), --iterations N (warm invocations per route, default 40),
--skip-warm / --skip-cold / --skip-reconciler (a part skipped keeps its figures in results.json),
--reconciler-numbers N (an account size, repeatable; default 10000; 100000 takes about an hour here, on moto), --verbose
(the functions' log lines). How the cold starts are timed on a busy machine: bench.coldstart.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import coldstart
from bench.coldstart import ColdSample

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "sam"
LAYER = BUILD / "SharedLayer" / "python"
RESULTS = Path(__file__).with_name("results.json")

# Issue 26's targets: every function's cold init within 1.10x the framework floor and 1.4x the boto3 floor.
FRAMEWORK_TARGET = 1.10
COLD_TARGET = 1.4
WARM_TARGET = 1.3
LAYER_TARGET_MB = 60
RSS_TARGET_MB = 128

# function folder -> kind (what its first request imports); the routes of bench.routes say it per route.
KINDS = {
    "authorizer": "authorizer",
    "get_token_balance": "read",
    "get_token_ledger": "read",
    "get_all_client_phone_numbers": "read",
    "get_twilio_numbers_by_org": "read",
    "get_twilio_number_by_client_phone": "read",
    "get_org_phone_number_list": "read",
    "add_client_phone": "write",
    "buy_twilio_number": "write",
    "update_phone_number": "write",
    "delete_phone_number": "write",
    "set_regulatory_default": "write",
    "get_regulatory_defaults": "read",
    "validation_status_webhook": "webhook",
    "call_status_webhook": "webhook",
    "create_org": "read",  # the admin routes read and write DynamoDB only
    "issue_api_key": "read",
    "list_api_keys": "read",
    "revoke_api_key": "read",
    "credit_tokens": "read",
    "change_usage_plan": "read",
    "set_org_status": "read",
    "token_ledger": "stream",  # off the request path
    "reconciler": "stream",  # on a schedule, off the request path too
}


def lower_quartile(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=4, method="inclusive")[0] if len(values) > 1 else values[0]


@dataclass(frozen=True)
class Spread:
    """A measure over the rounds: its lower quartile and its interquartile range.

    The lower quartile, not the median: what disturbs a cold init on a shared machine (another process's use of the
    caches and memory, the host taking the core away) only ever adds to it, in bursts that hit a quarter or more of
    the samples at load 3. The lower quartile is what the init costs when nothing disturbed it, and the quietest
    quarter of 30 rounds is steadier from run to run than the median (which moves with how many bursts a run
    met) or the minimum (one lucky sample)."""

    low: float
    iqr: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if len(values) < 2:
            return cls(values[0], 0.0)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(q1, q3 - q1)


@dataclass(frozen=True)
class Ratio:
    """A case over a floor: the ratio of their lower quartiles over the same rounds, and `gap`, how far it moves
    between the even and the odd rounds: two runs of half as many rounds, within one run.

    Not each round's ratio then their median: a burst on the floor's sample spoils every case's ratio of that round
    at once, so per-round ratios add the floor's noise to each case's; with the child on a core of its own there is
    no slow stretch of the machine left for them to cancel (see bench.coldstart)."""

    value: float
    gap: float

    @classmethod
    def of(cls, values: Sequence[float], floor: Sequence[float]) -> Ratio:
        """`values`: one a round; `floor`: as many a round in every round (FLOOR_SAMPLES_PER_ROUND), in round order."""
        per_round = len(floor) // len(values)

        def over(rounds: range) -> float:
            floors = [sample for r in rounds for sample in floor[r * per_round : (r + 1) * per_round]]
            return ratio(lower_quartile([values[r] for r in rounds]), lower_quartile(floors))

        if len(values) < 2:
            return cls(over(range(len(values))), 0.0)
        every = over(range(len(values)))
        return cls(every, abs(over(range(0, len(values), 2)) - over(range(1, len(values), 2))))


@dataclass(frozen=True)
class ColdResult:
    function: str
    logical_id: str
    kind: str
    import_ms: float  # wall-clock stage marks, lower quartile
    init_ms: float
    first_call_imports_ms: float
    ratio: float  # CPU time vs the boto3 floor's
    framework_ratio: float  # CPU time vs the framework floor's: what the layer's code and other dependencies add
    twilio_ratio: float | None  # vs the Twilio floor's, for a function that loads the REST client: what we add to it
    rss_mb: float
    modules: int
    cpu_ms: float = 0.0  # init + first call imports, CPU time of the child, lower quartile
    cpu_iqr_ms: float = 0.0
    ratio_gap: float = 0.0  # how far the ratio moves between the even and the odd rounds
    framework_ratio_gap: float = 0.0
    twilio_ratio_gap: float = 0.0
    cold_ms: float = 0.0  # the same in wall-clock time, lower quartile
    cold_iqr_ms: float = 0.0
    wall_ratio: float = 0.0
    wall_framework_ratio: float = 0.0
    modules_beyond_framework: int = 0  # modules loaded that the framework floor does not load
    importtime_ms: float = 0.0  # -X importtime: the sum of every module's self time, median

    @property
    def met(self) -> bool:
        return self.framework_ratio <= FRAMEWORK_TARGET and self.ratio <= COLD_TARGET and self.rss_mb <= RSS_TARGET_MB


@dataclass(frozen=True)
class Floor:
    """A reference cold init (lower quartile over the rounds), measured like the functions' own."""

    init_ms: float  # wall-clock
    rss_mb: float
    modules: int
    init_iqr_ms: float = 0.0
    importtime_ms: float = 0.0
    cpu_ms: float = 0.0
    cpu_iqr_ms: float = 0.0

    @classmethod
    def of(cls, samples: list[ColdSample], importtime_ms: float = 0.0) -> Floor:
        wall = Spread.of([s.marks[-1] * 1000 for s in samples])
        cpu = Spread.of([s.cpu[-1] * 1000 for s in samples])
        return cls(
            init_ms=wall.low,
            rss_mb=max(s.rss_mb for s in samples),
            modules=samples[0].modules,
            init_iqr_ms=wall.iqr,
            importtime_ms=importtime_ms,
            cpu_ms=cpu.low,
            cpu_iqr_ms=cpu.iqr,
        )


def lower_quartile_sample(samples: list[ColdSample]) -> ColdSample:
    """The lower quartile of each stage's times; the highest peak RSS."""
    return ColdSample(
        marks=tuple(lower_quartile([s.marks[i] for s in samples]) for i in range(len(samples[0].marks))),
        rss_mb=max(s.rss_mb for s in samples),
        modules=samples[0].modules,
        names=samples[0].names,
        cpu=tuple(lower_quartile([s.cpu[i] for s in samples]) for i in range(len(samples[0].cpu))),
    )


def stages(kind: str) -> tuple[str, ...]:
    # The webhooks' first request imports nothing more: the signature check is loaded at init, the REST client never.
    if kind == "write":
        return (*coldstart.FUNCTION, coldstart.TWILIO_FIRST_CALL)
    return coldstart.FUNCTION


def ratio(value: float, floor: float) -> float:
    return value / floor if floor else float("nan")


def cpu_ratio(samples: list[ColdSample], floors: list[ColdSample]) -> Ratio:
    return Ratio.of([s.cpu[-1] for s in samples], [f.cpu[-1] for f in floors])


def wall_ratio(samples: list[ColdSample], floors: list[ColdSample]) -> Ratio:
    return Ratio.of([s.marks[-1] for s in samples], [f.marks[-1] for f in floors])


def rotations(names: list[str], rounds: int) -> Iterator[list[str]]:
    """Round-robin over every case, each round starting one further: no case is always first, or always after the
    same one."""
    for number in range(rounds):
        shift = number % len(names)
        yield names[shift:] + names[:shift]


def round_order(functions: list[str], floors: tuple[str, ...], times: int) -> list[str]:
    """The functions in `times` equal parts, each after the floors: every ratio divides by a floor's lower quartile,
    so an error in a floor's moves every ratio at once; measuring the floors `times` a round, spread over it, gives
    them `times` as many samples for a few more cold starts a round."""
    bounds = [len(functions) * part // times for part in range(times + 1)]
    return [name for part in range(times) for name in (*floors, *functions[bounds[part] : bounds[part + 1]])]


def importtime_sum(importtime_stderr: str) -> float:
    """The sum of every module's `-X importtime` self time, in ms."""
    return sum(ms for _, ms in top_packages(importtime_stderr))


def function_environment() -> dict[str, dict[str, str]]:
    """Function folder -> (logical id, its template environment with dummy table names)."""
    from local import template

    references = {name: f"bench-{name.lower()}" for name in template.tables()}
    references |= {**template.parameter_defaults(), "TwilioSecretArn": "bench-twilio-secret"}
    return {
        function.name: {"__logical_id__": logical_id, **template.resolve_environment(function, references)}
        for logical_id, function in template.functions().items()
    }


Case = tuple[tuple[list[str], list[str]], tuple[str, ...], dict[str, str]]  # sys.path, stages, environment
FLOOR, FRAMEWORK_FLOOR, TWILIO_FLOOR = "(floor)", "(framework floor)", "(Twilio floor)"
FLOORS = (FLOOR, FRAMEWORK_FLOOR, TWILIO_FLOOR)
FLOOR_SAMPLES_PER_ROUND = 3


def cold_cases(runtime: Path) -> dict[str, Case]:
    """The boto3 floor, the framework floor and every function, as a fresh interpreter runs them."""
    environments = function_environment()
    # Powertools and pydantic read their variables (service name, log level, plugins) at import or at the first
    # model; the template's Globals give every function the same ones.
    framework_env = {
        key: value for key, value in environments["authorizer"].items() if key.startswith(("POWERTOOLS_", "PYDANTIC_"))
    }
    layer_only = coldstart.lambda_path(None, LAYER, runtime)
    cases: dict[str, Case] = {
        FLOOR: (coldstart.lambda_path(None, None, runtime), coldstart.FLOOR, coldstart.lambda_environment({})),
        FRAMEWORK_FLOOR: (layer_only, coldstart.FRAMEWORK_FLOOR, coldstart.lambda_environment(framework_env)),
        TWILIO_FLOOR: (layer_only, coldstart.TWILIO_FLOOR, coldstart.lambda_environment(framework_env)),
    }
    for name, kind in KINDS.items():
        env = dict(environments[name])
        path = coldstart.lambda_path(BUILD / env.pop("__logical_id__"), LAYER, runtime)
        cases[name] = (path, stages(kind), coldstart.lambda_environment(env))
    return cases


@dataclass(frozen=True)
class ColdRun:
    floor: Floor
    framework_floor: Floor
    twilio_floor: Floor
    functions: list[ColdResult]
    realtime: bool  # every child ran under SCHED_FIFO (bench.coldstart): figures a busy machine barely moves


def measure_cold(runs: int, runtime: Path, importtime_runs: int = 3) -> ColdRun:
    """The floors and every function's cold init, interleaved round by round."""
    cases = cold_cases(runtime)
    samples: dict[str, list[ColdSample]] = {name: [] for name in cases}
    for order in rotations(round_order(list(KINDS), FLOORS, FLOOR_SAMPLES_PER_ROUND), runs):
        for name in order:
            samples[name].append(coldstart.measure(*cases[name]))
    imported: dict[str, list[float]] = {name: [] for name in cases}
    for order in rotations(list(cases), importtime_runs):
        for name in order:
            imported[name].append(importtime_sum(coldstart.importtime(*cases[name])))
    importtime_ms = {name: statistics.median(sums) for name, sums in imported.items()}
    floor = Floor.of(samples[FLOOR], importtime_ms[FLOOR])
    framework_floor = Floor.of(samples[FRAMEWORK_FLOOR], importtime_ms[FRAMEWORK_FLOOR])
    twilio_floor = Floor.of(samples[TWILIO_FLOOR], importtime_ms[TWILIO_FLOOR])
    framework_modules = samples[FRAMEWORK_FLOOR][0].names
    logical_ids = {name: env["__logical_id__"] for name, env in function_environment().items()}
    results = []
    for name, kind in KINDS.items():
        sample = lower_quartile_sample(samples[name])
        imported_at, ready = sample.marks[0], sample.marks[1]
        cpu = Spread.of([s.cpu[-1] * 1000 for s in samples[name]])
        cold = Spread.of([s.marks[-1] * 1000 for s in samples[name]])  # with what a Twilio write's request imports
        vs_floor = cpu_ratio(samples[name], samples[FLOOR])
        vs_framework = cpu_ratio(samples[name], samples[FRAMEWORK_FLOOR])
        vs_twilio = cpu_ratio(samples[name], samples[TWILIO_FLOOR]) if "twilio.rest" in sample.names else None
        results.append(
            ColdResult(
                function=name,
                logical_id=logical_ids[name],
                kind=kind,
                import_ms=imported_at * 1000,
                init_ms=ready * 1000,
                first_call_imports_ms=(sample.marks[-1] - ready) * 1000,
                ratio=vs_floor.value,
                framework_ratio=vs_framework.value,
                twilio_ratio=vs_twilio.value if vs_twilio else None,
                rss_mb=sample.rss_mb,
                modules=sample.modules,
                cpu_ms=cpu.low,
                cpu_iqr_ms=cpu.iqr,
                ratio_gap=vs_floor.gap,
                framework_ratio_gap=vs_framework.gap,
                twilio_ratio_gap=vs_twilio.gap if vs_twilio else 0.0,
                cold_ms=cold.low,
                cold_iqr_ms=cold.iqr,
                wall_ratio=wall_ratio(samples[name], samples[FLOOR]).value,
                wall_framework_ratio=wall_ratio(samples[name], samples[FRAMEWORK_FLOOR]).value,
                modules_beyond_framework=len(sample.names - framework_modules),
                importtime_ms=importtime_ms[name],
            )
        )
    realtime = all(sample.realtime for case in samples.values() for sample in case)
    return ColdRun(floor, framework_floor, twilio_floor, results, realtime)


def measure_without_pyc(runs: int, runtime: Path, floor_cpu_ms: float) -> dict[str, Any]:
    """What `sam build` alone ships (no .pyc anywhere in function or layer), for one read and one Twilio route."""
    environments = function_environment()
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("get_token_balance", "buy_twilio_number"):
            env = dict(environments[name])
            logical_id = env.pop("__logical_id__")
            function_dir, layer_dir = coldstart.without_pyc(BUILD, logical_id, Path(tmp))
            path = coldstart.lambda_path(function_dir, layer_dir, runtime)
            env_ = coldstart.lambda_environment(env)
            samples = [coldstart.measure(path, stages(KINDS[name]), env_) for _ in range(runs)]
            cpu_ms = lower_quartile_sample(samples).cpu[-1] * 1000
            found[name] = {"cpu_ms": cpu_ms, "ratio": ratio(cpu_ms, floor_cpu_ms)}
    return found


def import_breakdown(runtime: Path, function: str = "get_token_balance", runs: int = 3) -> list[tuple[str, float]]:
    """-X importtime of a cold init: self time per top-level package (median of `runs`), the biggest first (ms)."""
    env = dict(function_environment()[function])
    path = coldstart.lambda_path(BUILD / env.pop("__logical_id__"), LAYER, runtime)
    reports = [
        dict(top_packages(coldstart.importtime(path, stages(KINDS[function]), coldstart.lambda_environment(env))))
        for _ in range(runs)
    ]
    medians = {name: statistics.median(r.get(name, 0.0) for r in reports) for name in reports[0]}
    return sorted(medians.items(), key=lambda item: -item[1])[:12]


def top_packages(importtime_stderr: str, top: int | None = None) -> list[tuple[str, float]]:
    """Sum of `-X importtime` self times per top-level package, in ms, the biggest first."""
    totals: Counter[str] = Counter()
    for line in importtime_stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        if not self_us.strip().isdigit():
            continue  # the header line
        totals[name.strip().split(".")[0]] += int(self_us)
    return [(name, micros / 1000) for name, micros in totals.most_common(top)]


def layer_size() -> dict[str, float]:
    """The layer's content (python/) unzipped, with and without the .pyc, and deflated as Lambda receives it."""
    files = [path for path in LAYER.rglob("*") if path.is_file()]
    total = sum(path.stat().st_size for path in files)
    pyc = sum(path.stat().st_size for path in files if path.suffix == ".pyc")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(LAYER.parent))
    mb = 1024 * 1024
    return {"unzipped_mb": total / mb, "pyc_mb": pyc / mb, "zipped_mb": buffer.tell() / mb}


# ------------------------------------------------------------------ output
def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        cell.ljust(width) if i == 0 else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), "  ".join("-" * w for w in widths)]
    return "\n".join([*lines, *(_row(row, widths) for row in rows)])


def yes(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_cold(run: ColdRun, runs: int) -> None:
    scheduling = (
        "each child under SCHED_FIFO, a core to itself"
        if run.realtime
        else "SCHED_FIFO NOT ALLOWED (neither root nor RLIMIT_RTPRIO): shared cores, figures swing with the load"
    )
    print(
        f"\nCold init ({runs} rounds, each a fresh interpreter per case, the cases round-robin; {scheduling};"
        " lower quartile and IQR):"
    )
    for name, floor, what in (
        ("Floor", run.floor, "`import boto3; boto3.client('dynamodb')`"),
        (
            "Framework floor",
            run.framework_floor,
            "the floor + Powertools Logger and APIGatewayRestResolver(enable_validation=True), one pydantic model and"
            " route, from the layer",
        ),
        ("Twilio floor", run.twilio_floor, "the framework floor + `from twilio.rest import Client` (and requests)"),
    ):
        print(
            f"{name} ({what}) = CPU {floor.cpu_ms:.0f} ms (IQR {floor.cpu_iqr_ms:.0f}), wall {floor.init_ms:.0f} ms,"
            f" {floor.modules} modules, importtime {floor.importtime_ms:.0f} ms,"
            f" {ratio(floor.cpu_ms, run.floor.cpu_ms):.2f}x the floor"
        )
    rows = [
        [
            r.logical_id,
            str(r.modules),
            f"+{r.modules_beyond_framework}",
            f"{r.importtime_ms:.0f}",
            f"{r.cpu_ms:.0f} ±{r.cpu_iqr_ms / 2:.0f}",
            f"{r.first_call_imports_ms:.0f}" if r.kind == "write" else "-",
            f"{r.ratio:.2f}x ±{r.ratio_gap:.2f}",
            f"{r.framework_ratio:.2f}x ±{r.framework_ratio_gap:.2f}",
            f"{r.twilio_ratio:.2f}x ±{r.twilio_ratio_gap:.2f}" if r.twilio_ratio is not None else "-",
            f"{r.cold_ms:.0f}",
            f"{r.wall_ratio:.2f}x",
            f"{r.wall_framework_ratio:.2f}x",
            f"{r.rss_mb:.0f}",
            yes(r.met),
        ]
        for r in run.functions
    ]
    header = [
        "function", "modules", "vs framework", "importtime ms", "CPU ms", "+Twilio ms",
        f"vs floor <={COLD_TARGET}x", f"vs framework <={FRAMEWORK_TARGET}x", "vs Twilio",
        "wall ms", "vs floor", "vs framework", "RSS MB", "",
    ]  # fmt: skip
    print(table(header, rows))
    print(
        "modules: loaded at the end of init (+ those the framework floor does not load); importtime: the sum of the"
        " modules' -X importtime self times; CPU: the child's CPU time for import app + the layer's DynamoDB client"
        " + (Twilio writes) what their first request imports, lower quartile of the rounds, ± half the IQR; vs floor,"
        " vs framework, vs Twilio (the functions that load the REST client): CPU time over that floor's (lower"
        " quartiles), ± how far that ratio moves between the even and the odd rounds; met: within both targets;"
        " wall: the same stages in wall-clock time, and its ratios (secondary); RSS = peak of the child"
    )


def print_routes(routes: list[Any]) -> None:
    print("\nDynamoDB round trips and warm latency (median, in-process against moto; bare = same calls, plain boto3)")
    rows = [
        [
            r.route,
            str(r.status),
            str(r.round_trips),
            str(r.lower_bound),
            f"{r.warm_ms:.1f}",
            f"{r.bare_ms:.1f}",
            f"{r.overhead:.2f}x",
            yes(r.overhead <= WARM_TARGET),
        ]
        for r in routes
    ]
    print(table(["route", "status", "DynamoDB calls", "lower bound", "warm ms", "bare ms", "overhead", ""], rows))
    print("\nWhy more calls than the lower bound:")
    for r in routes:
        extra = " (= bound)" if r.round_trips <= r.lower_bound else ""
        print(f"  {r.route}: {' + '.join(r.calls)}{extra} -- bound: {r.why}")


def print_listings(listings: list[Any]) -> None:
    print("\nA page of 20 live numbers with released numbers behind it (GetTwilioPhoneNumberByOrg?limit=20, median;")
    print("moto scans the whole table for a Query: 'in calls' is botocore + moto, 'ours' the handler and layer around)")
    rows = [
        [cost.layout, str(cost.released), str(cost.rows), " + ".join(cost.calls), str(cost.items_read),
         f"{cost.warm_ms:.1f}", f"{cost.dynamodb_ms:.1f}", f"{cost.ours_ms:.1f}"]
        for cost in listings
    ]  # fmt: skip
    header = ["released numbers", "count", "rows", "DynamoDB calls", "items read", "warm ms", "in calls ms", "ours ms"]
    print(table(header, rows))


@contextlib.contextmanager
def quiet(verbose: bool) -> Iterator[None]:
    """The functions' JSON log lines and EMF metrics, and the emulator's, off the terminal (file descriptors 1 and 2:
    Powertools' Logger holds the stream it was created with); everything is shown with --verbose."""
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (devnull, *saved):
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="rounds of cold starts (lower quartile of the rounds)")
    parser.add_argument("--importtime-runs", type=int, default=3, help="rounds of -X importtime (median)")
    parser.add_argument("--iterations", type=int, default=40, help="warm invocations per route (median)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--skip-reconciler", action="store_true")
    parser.add_argument("--reconciler-numbers", type=int, action="append", help="account sizes (default 10000)")
    parser.add_argument("--verbose", action="store_true", help="show what the functions log while measured")
    args = parser.parse_args()
    if not (BUILD / "SharedLayer").is_dir():
        sys.exit("build/sam is missing: run `make build-check` (or `make bench`) first")

    # A part skipped keeps its figures of the last run.
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results |= {
        "machine": {
            "python": platform.python_version(),
            "arch": platform.machine(),
            "cpus": os.cpu_count(),
            # Cold figures swell on a busy machine: compare runs made at a similar load.
            "load_average_1m_at_start": os.getloadavg()[0],
        },
        "targets": {
            "cold_vs_floor": COLD_TARGET,
            "cold_vs_framework_floor": FRAMEWORK_TARGET,
            "warm": WARM_TARGET,
            "layer_mb": LAYER_TARGET_MB,
            "rss_mb": RSS_TARGET_MB,
        },
    }
    layer = layer_size()
    results["layer"] = layer | {"met": layer["unzipped_mb"] <= LAYER_TARGET_MB}
    print(
        f"Layer: {layer['unzipped_mb']:.1f} MB unzipped (of which .pyc {layer['pyc_mb']:.1f} MB), "
        f"{layer['zipped_mb']:.1f} MB zipped -- target <= {LAYER_TARGET_MB} MB unzipped: "
        f"{yes(layer['unzipped_mb'] <= LAYER_TARGET_MB)}"
    )

    if not args.skip_cold:
        runtime = coldstart.runtime_dir(ROOT / "build" / "bench" / "runtime")
        cold = measure_cold(args.runs, runtime, args.importtime_runs)
        print_cold(cold, args.runs)
        without = measure_without_pyc(max(3, args.runs // 4), runtime, cold.floor.cpu_ms)
        print("\nWithout the shipped .pyc (sam build alone; Lambda cannot write them):")
        for name, found in without.items():
            print(f"  {name}: CPU {found['cpu_ms']:.0f} ms ({found['ratio']:.2f}x floor)")
        breakdown = import_breakdown(runtime)
        print("\nWhere GetTokenBalanceFunction's init goes (-X importtime self time by package, ms):")
        print("  " + ", ".join(f"{name} {ms:.0f}" for name, ms in breakdown))
        results["cold"] = {
            "rounds": args.runs,
            "realtime": cold.realtime,
            "load_average_1m_at_end": os.getloadavg()[0],
            "floor": asdict(cold.floor),
            "framework_floor": asdict(cold.framework_floor),
            "twilio_floor": asdict(cold.twilio_floor),
            "functions": [asdict(r) | {"met": r.met} for r in cold.functions],
            "without_pyc": without,
            "importtime_by_package_ms": dict(breakdown),
        }

    if not args.skip_warm:
        from bench import routes

        # Read routes often emit no business metric; Powertools warns about it on every call.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        logging.getLogger("local.twilio_emulator").setLevel(logging.ERROR)  # its callbacks cannot reach us
        with quiet(args.verbose):
            found = routes.run_all(args.iterations)
        print_routes(found)
        results["routes"] = [
            asdict(r) | {"round_trips": r.round_trips, "overhead": r.overhead, "met": r.overhead <= WARM_TARGET}
            for r in found
        ]
        with quiet(args.verbose):
            listings = routes.listing_costs()
        print_listings(listings)
        results["lists_at_scale"] = [asdict(listing) | {"ours_ms": listing.ours_ms} for listing in listings]

    if not args.skip_reconciler:
        from bench import reconciler_scale

        sizes = tuple(args.reconciler_numbers or reconciler_scale.SIZES[:1])
        results["reconciler_at_scale"] = reconciler_scale.results_of(sizes, reconciler_scale.MAX_RUNS)

    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
