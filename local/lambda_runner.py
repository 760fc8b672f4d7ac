"""Runs the template's functions in this process, in place of SAM's docker-based LocalLambdaRunner.

Lambda runs one request at a time per execution environment and scales out by starting new ones. Route modules
keep per-request state in module globals (a Powertools resolver's `current_event`), so the same holds here: each
function has a pool of instances, an instance is one fresh import of its `app.py` and serves one request at a
time; a request that finds every instance busy gets a new one (a cold start). Function folders that do not exist
yet answer "function not found" until they appear; an edited `app.py` is imported afresh on the next request.

Module instances are not enough, though: the libraries every instance shares in this process keep per-request
state of their own (Powertools stores the current event in a class attribute, `BaseRouter.current_event`, and
metrics and log keys process-wide), so concurrent invocations answered for each other's caller. Until each
instance gets its own worker process, function code runs one invocation at a time (HTTP stays concurrent).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from local import template

LOG = logging.getLogger(__name__)
REGION = "eu-west-3"
ACCOUNT_ID = "123456789012"

Handler = Callable[[dict[str, Any], Any], Any]
# Serialises function code across the process: see the module docstring.
_EXECUTION_LOCK = threading.Lock()


@dataclass
class FakeLambdaContext:
    """The attributes and method of the Python runtime's LambdaContext that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionConfig:
    logical_id: str
    source: Path
    handler_name: str
    timeout_seconds: int
    memory_mb: int


def function_configs() -> dict[str, FunctionConfig]:
    """Every function of template.yaml with what the runtime needs: file, handler, timeout, memory."""
    globals_ = template.load().get("Globals", {}).get("Function", {})
    resources = template.resources("AWS::Serverless::Function")
    configs = {}
    for logical_id, function in template.functions().items():
        props = resources[logical_id]["Properties"]
        module_name, _, handler_name = function.handler.rpartition(".")
        configs[logical_id] = FunctionConfig(
            logical_id=logical_id,
            source=function.code_dir / f"{module_name.replace('.', '/')}.py",
            handler_name=handler_name,
            timeout_seconds=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
        )
    return configs


@dataclass
class _Instance:
    module: ModuleType
    handler: Handler
    mtime: float


class InstancePool:
    """The warm instances of one function; each is lent to one request at a time."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self._idle: list[_Instance] = []
        self._lock = threading.Lock()
        self._imports = 0

    @property
    def size(self) -> int:
        """How many instances were ever started (cold starts)."""
        return self._imports

    @contextmanager
    def instance(self) -> Iterator[_Instance]:
        if not self.config.source.is_file():
            raise FunctionNotFound(f"{self.config.logical_id}: {self.config.source} does not exist")
        instance = self._take_idle() or self._cold_start()
        try:
            yield instance
        finally:
            with self._lock:
                self._idle.append(instance)

    def _take_idle(self) -> _Instance | None:
        mtime = self.config.source.stat().st_mtime
        with self._lock:
            # Instances of an older app.py are dropped, like `sam local` picking up edited code.
            self._idle = [instance for instance in self._idle if instance.mtime == mtime]
            return self._idle.pop() if self._idle else None

    def _cold_start(self) -> _Instance:
        with self._lock:
            self._imports += 1
            number = self._imports
        mtime = self.config.source.stat().st_mtime
        # A unique name per instance: every handler module is called app.py, and each instance is its own import.
        name = f"_lambda_{self.config.logical_id}_{number}"
        spec = importlib.util.spec_from_file_location(name, self.config.source)
        if spec is None or spec.loader is None:
            raise FunctionNotFound(f"{self.config.source} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        handler = getattr(module, self.config.handler_name)
        return _Instance(module=module, handler=handler, mtime=mtime)


class InProcessLambdaRunner:
    """What LocalApigwService needs from samcli's LocalLambdaRunner, without docker."""

    def __init__(self, configs: Mapping[str, FunctionConfig]) -> None:
        self._pools = {logical_id: InstancePool(config) for logical_id, config in configs.items()}

    def is_debugging(self) -> bool:
        return False

    def pool(self, function_name: str) -> InstancePool:
        try:
            return self._pools[function_name]
        except KeyError:
            raise FunctionNotFound(f"{function_name} is not a function of template.yaml") from None

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
        context = FakeLambdaContext(
            function_name=function_identifier,
            memory_limit_in_mb=pool.config.memory_mb,
            timeout_seconds=pool.config.timeout_seconds,
            tenant_id=tenant_id,
        )
        output = self._run(pool, json.loads(event), context)
        if stdout is not None:
            stdout.write_str(output)
            stdout.flush()
        if stderr is not None:
            stderr.flush()

    @staticmethod
    def _run(pool: InstancePool, event: dict[str, Any], context: FakeLambdaContext) -> str:
        try:
            with _EXECUTION_LOCK, pool.instance() as instance:
                result = instance.handler(event, context)
            return json.dumps(result)
        except FunctionNotFound:
            raise
        except Exception as error:
            # What the Lambda runtime returns for an unhandled exception (API Gateway then answers 502).
            LOG.exception("%s failed (request %s)", context.function_name, context.aws_request_id)
            return json.dumps(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            )
