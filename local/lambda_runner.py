"""Runs the template's functions like Lambda does, in place of SAM's docker-based LocalLambdaRunner.

Lambda runs an invocation in an execution environment that serves one request at a time and keeps its imports
warm between requests; it scales out by starting more environments (cold starts). Here an execution environment
is a worker process:

- each function has a pool of workers, started on first use and grown on demand up to `max_workers` (a request
  that finds them all busy at that bound waits for one, like a function at its reserved concurrency);
- a worker imports the function once, then serves invocations one at a time, JSON lines over a socket pair;
  what the function prints goes to the server's stderr, as Lambda sends it to logs;
- a worker that dies mid-invocation answers like a crashed Lambda runtime (Runtime.ExitError) and a new one
  replaces it on the next request; one that overruns the function's Timeout is killed (Sandbox.Timedout);
- an edited `app.py` is imported afresh: workers of an older file are retired when next picked;
- workers are forked by a zygote, `python -m local.lambda_runner`, started with the runner's first worker: it
  has imported the libraries the functions share (boto3, pydantic, Powertools, twilio; not the layer), so a cold
  start costs the function's own imports only. Its environment, and so every worker's, is the one the runner is
  given, or else this process's when the zygote starts (the dev server sets the functions' environment before it
  serves), with the layer on the import path.

Processes, not threads: function code keeps per-request state process-wide (Powertools stores the current event
in a class attribute, `BaseRouter.current_event`), so two invocations sharing a process answer for each other.
Stopping the runner (or its garbage collection, or exit) kills the workers and ends the zygote.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from local.lambda_runtime import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_SECONDS,
    LAYER_DIR,
    FakeLambdaContext,
    import_handler_module,
)

LOG = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
MAX_WORKERS_PER_FUNCTION = 8
# Lambda allows 10 s of init; here one machine may be importing many functions at once, so be generous.
INIT_TIMEOUT_SECONDS = 60
# What the zygote imports before forking workers: the libraries of the layer that every function imports. The
# layer itself is not among them, so that a new worker sees its latest code.
PRELOADED_MODULES = (
    "boto3",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "twilio.rest",
)
# Powertools warns on every request of a route that publishes no metric; that is normal here.
_QUIET_WARNING = "No application metrics to publish"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class FunctionConfig:
    logical_id: str
    source: Path
    handler_name: str
    timeout_seconds: int
    memory_mb: int


def function_configs() -> dict[str, FunctionConfig]:
    """Every function of template.yaml with what the runtime needs: file, handler, timeout, memory."""
    from local import template  # not at module level: workers import this module and need no template

    globals_ = template.load().get("Globals", {}).get("Function", {})
    resources = template.resources("AWS::Serverless::Function")
    configs = {}
    for logical_id, function in template.functions().items():
        props = resources[logical_id]["Properties"]
        configs[logical_id] = FunctionConfig(
            logical_id=logical_id,
            source=function.source,
            handler_name=function.handler.rpartition(".")[2],
            timeout_seconds=int(props.get("Timeout", globals_.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", DEFAULT_MEMORY_MB))),
        )
    return configs


def error_payload(error: BaseException) -> str:
    """What the Lambda runtime returns for an unhandled exception (API Gateway then answers 502)."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    )


# ----------------------------------------------------------------------------- the runner's side


class Zygote:
    """A process that imported the libraries the functions share, and forks workers from itself on demand: a
    cold start then pays for the function's own imports only, as on Lambda, where the runtime is ready first."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self._control, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(  # noqa: S603  # this interpreter, our own module
                [sys.executable, "-m", "local.lambda_runner", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=dict(environment),
            )
        self._replies = self._control.makefile("r", encoding="utf-8")
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self, config: FunctionConfig) -> Worker:
        """A new worker for `config`, connected to this process by a socket pair (one end travels to it)."""
        ours, theirs = socket.socketpair()
        request = json.dumps({"source": str(config.source), "handler": config.handler_name}).encode()
        with self._lock, theirs:
            socket.send_fds(self._control, [request], [theirs.fileno()])
            pid = self._replies.readline().strip()
        if not pid.isdigit():
            ours.close()
            raise RuntimeError(f"The worker zygote exited ({self._process.poll()}): see the server's log")
        return Worker(config, ours, int(pid))

    def stop(self) -> None:
        """Its end of the control socket closes: the zygote exits (its workers exit when theirs close)."""
        self._replies.close()
        self._control.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class Worker:
    """One execution environment: a process that imported the function and serves one invocation at a time."""

    def __init__(self, config: FunctionConfig, channel: socket.socket, pid: int) -> None:
        self.config = config
        self.mtime = config.source.stat().st_mtime
        self.pid = pid
        self._channel = channel
        self._reader = channel.makefile("r", encoding="utf-8")
        self._writer = channel.makefile("w", encoding="utf-8")
        self._gone = False  # the worker closed its end: it exited (or was killed)
        self._timed_out = False

    @property
    def alive(self) -> bool:
        """Not known to be gone; an idle worker's socket is readable only when it closed (it never speaks first)."""
        if not self._gone and select.select([self._channel], [], [], 0)[0]:
            self._gone = True
        return not self._gone

    def initialise(self, request_id: str) -> str | None:
        """Wait for the import; None when ready, else the output of the invocation that started it (Lambda's
        init error)."""
        reply = self._exchange(None, INIT_TIMEOUT_SECONDS)
        if reply is None:
            return self._death_payload(request_id, INIT_TIMEOUT_SECONDS)
        if reply.get("status") == "ready":
            return None
        self.stop()
        return str(reply["output"])

    def invoke(self, event: Any, context: FakeLambdaContext) -> str:
        request = {"event": event, "context": asdict(context)}
        reply = self._exchange(request, context.timeout_seconds)
        if reply is None:
            return self._death_payload(context.aws_request_id, context.timeout_seconds)
        return str(reply["output"])

    def stop(self) -> None:
        if not self._gone:
            self._kill()
        for stream in (self._reader, self._writer, self._channel):
            with contextlib.suppress(OSError):  # flushing to a worker that is gone
                stream.close()

    def _exchange(self, request: dict[str, Any] | None, timeout_seconds: float) -> dict[str, Any] | None:
        """Send `request` (if any) and read the worker's reply; None when the worker died or overran."""
        timer = threading.Timer(timeout_seconds, self._time_out)
        timer.start()
        try:
            if request is not None:
                self._writer.write(json.dumps(request) + "\n")
                self._writer.flush()
            line = self._reader.readline()
        except (OSError, ValueError):  # the worker closed its end (it died), or the runner is stopping
            line = ""
        finally:
            timer.cancel()
        if not line:
            self._gone = True
            return None
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def _time_out(self) -> None:
        self._timed_out = True
        self._kill()

    def _death_payload(self, request_id: str, timeout_seconds: float) -> str:
        self.stop()
        if self._timed_out:
            message, error_type = f"Task timed out after {timeout_seconds:.2f} seconds", "Sandbox.Timedout"
        else:
            message, error_type = "Runtime exited without providing a reason", "Runtime.ExitError"
        LOG.error("%s: %s (request %s)", self.config.logical_id, message, request_id)
        return json.dumps({"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": error_type})


class WorkerPool:
    """The execution environments of one function: grown on demand up to `max_workers`, each lent to one
    invocation at a time."""

    def __init__(
        self, config: FunctionConfig, start_worker: Callable[[FunctionConfig], Worker], max_workers: int
    ) -> None:
        self.config = config
        self.max_workers = max_workers
        self.cold_starts = 0
        self._start_worker = start_worker
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._reserved = 0  # slots taken by workers being started
        self._closed = False
        self._changed = threading.Condition()

    @property
    def size(self) -> int:
        """How many workers are alive or starting."""
        with self._changed:
            return len(self._workers) + self._reserved

    def invoke(self, event: Any, context: FakeLambdaContext) -> str:
        worker = self._take_idle_or_reserve()
        if worker is None:
            worker, init_error = self._cold_start(context.aws_request_id)
            if init_error is not None:
                return init_error
        try:
            return worker.invoke(event, context)
        finally:
            self._give_back(worker)

    def stop(self) -> None:
        with self._changed:
            self._closed = True
            workers, self._idle = list(self._workers), []
            self._changed.notify_all()
        for worker in workers:
            worker.stop()

    def _take_idle_or_reserve(self) -> Worker | None:
        """An idle worker of the current app.py, or None with a slot reserved for a new one."""
        mtime = self.config.source.stat().st_mtime
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.config.logical_id}: the runner is stopped")
                for stale in [worker for worker in self._idle if worker.mtime != mtime or not worker.alive]:
                    self._retire(stale)
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) + self._reserved < self.max_workers:
                    self._reserved += 1
                    return None
                self._changed.wait()

    def _cold_start(self, request_id: str) -> tuple[Worker, str | None]:
        try:
            worker = self._start_worker(self.config)
        except BaseException:
            with self._changed:
                self._reserved -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._reserved -= 1
            self._workers.add(worker)
            self.cold_starts += 1
        init_error = worker.initialise(request_id)
        if init_error is not None:
            self._give_back(worker)
        return worker, init_error

    def _give_back(self, worker: Worker) -> None:
        with self._changed:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._retire(worker)
            self._changed.notify()

    def _retire(self, worker: Worker) -> None:
        """Called with the lock held: the worker leaves the pool and stops (killing an idle process is quick)."""
        if worker in self._idle:
            self._idle.remove(worker)
        self._workers.discard(worker)
        worker.stop()


class WorkerLambdaRunner:
    """What LocalApigwService needs from samcli's LocalLambdaRunner, without docker: see the module docstring."""

    def __init__(
        self,
        configs: Mapping[str, FunctionConfig],
        environment: Mapping[str, str] | None = None,
        max_workers: int = MAX_WORKERS_PER_FUNCTION,
    ) -> None:
        self._environment = environment
        self._pools = {
            logical_id: WorkerPool(config, self._start_worker, max_workers) for logical_id, config in configs.items()
        }
        self._zygotes: list[Zygote] = []  # the current one last (a new one replaces one that died)
        self._zygote_lock = threading.Lock()
        # Workers stop with the runner, when it is garbage or at exit at the latest (tests may not stop it).
        self._finalizer = weakref.finalize(self, _stop, list(self._pools.values()), self._zygotes)

    def is_debugging(self) -> bool:
        return False

    def pool(self, function_name: str) -> WorkerPool:
        try:
            return self._pools[function_name]
        except KeyError:
            raise FunctionNotFound(f"{function_name} is not a function of template.yaml") from None

    def worker_environment(self) -> dict[str, str]:
        environment = dict(os.environ if self._environment is None else self._environment)
        python_path = [str(LAYER_DIR), str(ROOT), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
        return {**environment, "PYTHONPATH": os.pathsep.join(python_path)}

    def stop(self) -> None:
        """Stop every worker of every function (a later invocation fails)."""
        self._finalizer()

    def _start_worker(self, config: FunctionConfig) -> Worker:
        with self._zygote_lock:
            if not self._zygotes or not self._zygotes[-1].alive:
                self._zygotes.append(Zygote(self.worker_environment()))
            zygote = self._zygotes[-1]
        return zygote.fork(config)

    def invoke(  # noqa: PLR0917  # LocalLambdaRunner.invoke's signature
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        override_runtime: str | None = None,  # noqa: ARG002
    ) -> None:
        """Run the function on `event` (JSON) and write its result, or Lambda's error payload, to `stdout`."""
        pool = self.pool(function_identifier)
        if not pool.config.source.is_file():
            raise FunctionNotFound(f"{function_identifier}: {pool.config.source} does not exist")
        context = FakeLambdaContext(
            function_name=function_identifier,
            memory_limit_in_mb=pool.config.memory_mb,
            timeout_seconds=pool.config.timeout_seconds,
            tenant_id=tenant_id,
        )
        output = pool.invoke(json.loads(event), context)
        if stdout is not None:
            stdout.write_str(output)
            stdout.flush()
        if stderr is not None:
            stderr.flush()


def _stop(pools: list[WorkerPool], zygotes: list[Zygote]) -> None:
    for pool in pools:
        pool.stop()
    for zygote in zygotes:
        zygote.stop()


# ----------------------------------------------------------------------------- the worker's side


def _import_handler(source: Path, handler_name: str) -> Handler:
    warnings.filterwarnings("ignore", message=_QUIET_WARNING)
    module = import_handler_module(source, source.stem)  # Lambda's module name: a worker runs one function
    handler: Handler = getattr(module, handler_name)
    return handler


def _invoke_handler(handler: Handler, request: dict[str, Any]) -> str:
    context = FakeLambdaContext(**request["context"])
    try:
        return json.dumps(handler(request["event"], context))
    except Exception as error:
        print(f"[ERROR] {context.function_name} failed (request {context.aws_request_id})", file=sys.stderr)
        traceback.print_exc()
        return error_payload(error)


def _reply(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def serve(channel: socket.socket, source: Path, handler_name: str) -> None:
    """A worker's life: import the function, say so, then answer one invocation per line until the runner
    closes the channel."""
    reader, writer = channel.makefile("r", encoding="utf-8"), channel.makefile("w", encoding="utf-8")
    try:
        handler = _import_handler(source, handler_name)
    except Exception as error:
        traceback.print_exc()
        _reply(writer, {"status": "init_error", "output": error_payload(error)})
        return
    _reply(writer, {"status": "ready"})
    for line in reader:
        _reply(writer, {"status": "done", "output": _invoke_handler(handler, json.loads(line))})


def run_zygote(control: socket.socket) -> None:
    """Import what the functions share, then fork one worker per request of the runner, until it goes away."""
    # What functions print goes to the server's stderr (Lambda sends it to logs, not into the response).
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper
    # Ctrl-C reaches the whole process group: the server stops, and its workers with it when their sockets close.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps exited workers
    for module in PRELOADED_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    while True:
        message, fds, _flags, _address = socket.recv_fds(control, 64 * 1024, 1)
        if not message or not fds:
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            _be_worker(fds[0], json.loads(message))
        os.close(fds[0])
        control.sendall(f"{pid}\n".encode())


def _be_worker(channel_fd: int, request: dict[str, str]) -> NoReturn:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = 0
    try:
        with socket.socket(fileno=channel_fd) as channel:
            serve(channel, Path(request["source"]), request["handler"])
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # not the zygote's exit handlers: this process is a copy of it


if __name__ == "__main__":
    with socket.socket(fileno=int(sys.argv[1])) as control_socket:
        run_zygote(control_socket)
