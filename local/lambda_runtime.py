"""What Lambda's Python runtime gives a function, for everything here that runs one: the dev server's workers,
the tests and the bench (in-process), the OpenAPI document's build.

- the region and account the functions run in (the local stand-ins for AWS serve that region);
- the layer on the import path, as Lambda puts a layer's python/ on /opt/python;
- the handler's module imported from its file: every handler file is app.py, so a function folder is never put on
  sys.path;
- the context object that handlers and Powertools read.

Standard library only, the template read only when asked: the runner's workers import this module.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

REGION = "eu-west-3"
ACCOUNT_ID = "123456789012"
LAYER_DIR = Path(__file__).resolve().parent.parent / "layers" / "shared"
# What Lambda gives a function whose template declares no Timeout or MemorySize.
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128


@dataclass
class FakeLambdaContext:
    """The attributes and method of the Python runtime's LambdaContext that handlers and Powertools read."""

    function_name: str = "function"
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
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


def put_layer_on_path() -> None:
    """Make the layer's package importable, as it is on Lambda."""
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))


def import_handler_module(source: Path, module_name: str) -> ModuleType:
    """The handler file `source`, imported as `module_name` (and in sys.modules under that name once imported)."""
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"Unable to import module '{module_name}': {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@cache
def load_function(name: str) -> ModuleType:
    """The handler module of the function whose code is functions/<name>, for a process that runs several functions
    (tests, the bench, the OpenAPI build): imported once, under a module name of its own."""
    from local import template  # not at module level: the workers need no template (see the module docstring)

    put_layer_on_path()
    return import_handler_module(template.function_named(name).source, f"function_{name}")
