"""Cold init of the built functions, each in a fresh interpreter that sees only what Lambda would.

In Lambda, `sys.path` is the function's code (/var/task), the layer (/opt/python), the standard library and last
the runtime's own packages (/var/runtime: boto3, botocore, s3transfer, dateutil, six, jmespath, urllib3). The child
interpreter here runs with `-S -E -B` (no site-packages, no PYTHON* variables, no .pyc written, like Lambda's
read-only filesystem) and gets exactly that path: the built function dir, the built layer, the stdlib, then a
directory that links only those runtime packages from the venv. Nothing from the repository is importable.

What is timed, and why it holds on a shared machine. The child times its own stages, not the interpreter's start,
with two clocks: its CPU time (`time.process_time`, user + system, nanosecond clock) is the primary figure, wall
time the secondary. On the 2 shared cores of the development machine a child under the ordinary scheduler waits
for a core (wall time counts the wait) and is preempted every few milliseconds, each time coming back to caches
another process has filled: its CPU time then grows too, by up to half at load 3 (measured: 340 to 570 ms for
the same init). So the child first asks for a real-time scheduling class (SCHED_FIFO, the lowest priority): it
then runs on one core without being preempted by any ordinary process, and its wall time equals its CPU time.
That takes one core for a few hundred milliseconds at a time; the kernel still keeps 5% of every second for the
others (sched_rt_runtime_us), and the other core is theirs. Where that class is not allowed (neither root nor an
RLIMIT_RTPRIO), the child runs as any process and reports it (`realtime`), and its figures are the noisier kind.
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import subprocess  # the point: a fresh interpreter per measurement
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.lambda_runtime import REGION

# What Lambda's Python runtime itself provides (/var/runtime); everything else must come from the layer.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath", "urllib3")

# A real-time child that never ends would hold a core: no cold init takes more than a few seconds.
CHILD_TIMEOUT_S = 120

FLOOR = ("import boto3\nboto3.client('dynamodb')\n",)
# What the architecture mandates in every function before any code of ours: Powertools' Logger and validating REST
# resolver, a pydantic model and a route returning it. Imported from the layer like a function, in the same order
# (framework, then the DynamoDB client): a function's init over this floor is what our code and the rest of the
# layer add, which the boto3 floor alone mixes up with the unavoidable framework cost.
FRAMEWORK = """
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)


class Item(BaseModel):
    id: str


@app.get("/items")
def items() -> list[Item]:
    return [Item(id="1")]
"""
FRAMEWORK_FLOOR = (FRAMEWORK, *FLOOR)
# What a function whose requests call Twilio cannot do without, beyond the framework: the SDK's REST client (with
# requests, which it imports). Over this floor, such a function's init is what our code adds to the SDK.
TWILIO_FLOOR = (FRAMEWORK + "from twilio.rest import Client\n", *FLOOR)
# A function's cold init: its module, then the DynamoDB client every route creates on its first request.
FUNCTION = ("import app\n", "from robotappel.dal.dynamodb import client\nclient()\n")
# What the first request of a Twilio route (or webhook) imports lazily: the SDK, requests.
TWILIO_FIRST_CALL = "import robotappel.twilio.gateway\n"

# Runs in the child: takes a core to itself if allowed, then times each stage (cumulative), not the interpreter's
# own start. `posix` is loaded at every start (`os` is not, and would then be missing from the floor's cost).
_CHILD = """
import json, posix, resource, sys, time
try:
    posix.sched_setscheduler(0, posix.SCHED_FIFO, posix.sched_param(1))
    realtime = True
except PermissionError:
    realtime = False
sys.path[:] = {front!r} + sys.path + {back!r}
marks, cpu = [], []
start, start_cpu = time.perf_counter(), time.process_time()
for stage in {stages!r}:
    exec(compile(stage, "<stage>", "exec"), {{}})
    marks.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
# VmHWM: this process's peak RSS. ru_maxrss is not: Linux keeps it across exec, so a child reports the bench's own
# peak whenever the bench is the bigger process.
try:
    with open("/proc/self/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(
    {{"marks": marks, "cpu": cpu, "rss_mb": rss_kb / 1024, "modules": sorted(sys.modules), "realtime": realtime}}
))
"""


@dataclass(frozen=True)
class ColdSample:
    marks: tuple[float, ...]  # seconds since the first import, at the end of each stage
    rss_mb: float
    modules: int
    names: frozenset[str] = frozenset()  # the modules loaded at the end: what a function adds to a floor
    # CPU seconds of the child at the end of each stage: what the work costs (the wall-clock marks also count any
    # time the child waited for a core)
    cpu: tuple[float, ...] = ()
    realtime: bool = False  # the child ran under SCHED_FIFO: no ordinary process preempted it


def runtime_dir(target: Path) -> Path:
    """A directory standing in for /var/runtime: a compiled copy of the venv's boto3 and its dependencies only.

    A copy, not links: Lambda's runtime ships its packages compiled, and the venv's may have no .pyc at all.
    """
    site_packages = Path(sysconfig.get_paths()["purelib"])
    stamp = target / ".botocore-version"
    version = (site_packages / "botocore" / "__init__.py").read_text().split("__version__ = ")[1].split("\n")[0]
    if stamp.is_file() and stamp.read_text() == version:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in RUNTIME_PACKAGES:
        source = site_packages / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    compileall.compile_dir(target, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    stamp.write_text(version)
    return target


def lambda_path(function_dir: Path | None, layer_dir: Path | None, runtime: Path) -> tuple[list[str], list[str]]:
    """Lambda's order: function code and layer before the stdlib (the child's own path), runtime packages after."""
    return [str(p) for p in (function_dir, layer_dir) if p is not None], [str(runtime)]


def measure(path: tuple[list[str], list[str]], stages: tuple[str, ...], env: dict[str, str]) -> ColdSample:
    result = _run_child(path, stages, env)
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return ColdSample(
        marks=tuple(data["marks"]),
        rss_mb=data["rss_mb"],
        modules=len(data["modules"]),
        names=frozenset(data["modules"]),
        cpu=tuple(data["cpu"]),
        realtime=data["realtime"],
    )


def importtime(path: tuple[list[str], list[str]], stages: tuple[str, ...], env: dict[str, str]) -> str:
    """The `-X importtime` report (stderr) of one cold init."""
    return _run_child(path, stages, env, "-X", "importtime").stderr


def _run_child(
    path: tuple[list[str], list[str]], stages: tuple[str, ...], env: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    code = _CHILD.format(front=path[0], back=path[1], stages=stages)
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-B", *options, "-c", code],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
        timeout=CHILD_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cold init failed:\n{result.stderr[-3000:]}")
    return result


def lambda_environment(function_env: dict[str, str]) -> dict[str, str]:
    """The function's environment as Lambda sets it (plus fake credentials: no call is made)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        **function_env,
    }


def without_pyc(build_dir: Path, function_id: str, target: Path) -> tuple[Path, Path]:
    """A copy of one function and the layer with every __pycache__ removed (what `sam build` alone ships)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    function_dir = target / function_id
    layer_dir = target / "SharedLayer"
    if not function_dir.exists():
        shutil.copytree(build_dir / function_id, function_dir, ignore=ignore, symlinks=True)
    if not layer_dir.exists():
        shutil.copytree(build_dir / "SharedLayer", layer_dir, ignore=ignore, symlinks=True)
    return function_dir, layer_dir / "python"
