"""Which stage the tool works on: a deployed CloudFormation stack, or the running `make run`.

Either way it comes down to the environment the layer reads its settings from (table names, region, DynamoDB
endpoint), set while a command runs.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:  # the layer is on sys.path once the tool runs (__main__); `make run` imports this module before
    from robotappel.dal.apigateway import ApiStage

ROOT = Path(__file__).resolve().parent.parent
# Written by `make run` while it serves (local.server), removed when it stops; LOCAL_STAGE_FILE overrides where.
DEFAULT_LOCAL_STAGE_FILE = ROOT / "build" / "make-run.json"
# The stack's outputs (template.yaml) -> the settings of the layer they fill.
TABLE_OUTPUTS = {
    "NumbersTableName": "NUMBERS_TABLE",
    "TokensTableName": "TOKENS_TABLE",
    "ApiKeysTableName": "API_KEYS_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
}
# The stack's parameters -> the settings they fill (the layer requires every setting, used or not; the stage names
# its usage plans and the orgs' API keys in them).
SETTING_PARAMETERS = {"TwilioSecretArn": "TWILIO_SECRET_ID", "Stage": "STAGE"}
# https://<api id>.execute-api.<region>.amazonaws.com/<stage>: the stack's ApiUrl output.
_API_URL = re.compile(r"^https://(?P<api_id>[a-z0-9]+)\.execute-api\.[^/]+/(?P<stage>[^/]+)$")
# The id `make run`'s gateway answers FlushStageAuthorizersCache for (any: it serves one API).
LOCAL_API_ID = "local"


class StageNotFound(Exception):
    pass


@dataclass(frozen=True)
class Stage:
    description: str
    environment: dict[str, str] = field(repr=False)
    api: ApiStage | None = None  # the API and stage whose authorizer cache a revocation flushes

    @contextmanager
    def active(self) -> Iterator[None]:
        """The layer configured for this stage while the block runs; the environment restored after it."""
        saved = dict(os.environ)
        os.environ.update(self.environment)
        _clear_layer_caches()
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _clear_layer_caches()


def deployed(stack_name: str, region: str) -> Stage:
    """The tables of a deployed stack, from its outputs; AWS credentials are the operator's (boto3's chain)."""
    cloudformation: Any = boto3.client("cloudformation", region_name=region)
    try:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise StageNotFound(f"Stack {stack_name} in {region}: {error}") from error
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    missing = sorted(set(TABLE_OUTPUTS) - set(outputs))
    if missing:
        raise StageNotFound(f"Stack {stack_name} has no output {', '.join(missing)}: is it this project's stack?")
    parameters = {parameter["ParameterKey"]: parameter["ParameterValue"] for parameter in stack.get("Parameters", [])}
    settings = {setting: outputs[output] for output, setting in TABLE_OUTPUTS.items()}
    settings |= {setting: parameters[name] for name, setting in SETTING_PARAMETERS.items() if name in parameters}
    from robotappel.dal.apigateway import ApiStage

    api_url = _API_URL.match(outputs.get("ApiUrl", ""))
    api = ApiStage(api_url["api_id"], api_url["stage"]) if api_url else None
    environment = {**settings, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    return Stage(f"stack {stack_name} ({region})", environment, api)


def local_stage_file() -> Path:
    return Path(os.environ.get("LOCAL_STAGE_FILE") or DEFAULT_LOCAL_STAGE_FILE)


def local() -> Stage:
    """The running `make run`: its moto endpoint and table names, from the file it writes while it serves."""
    stage_file = local_stage_file()
    try:
        environment: dict[str, str] = json.loads(stage_file.read_text())
    except FileNotFoundError as error:
        raise StageNotFound(f"{stage_file} not found: is `make run` running?") from error
    from robotappel.dal.apigateway import ApiStage

    api = ApiStage(LOCAL_API_ID, environment["STAGE"])
    return Stage(f"make run ({environment['AWS_ENDPOINT_URL_DYNAMODB']})", environment, api)


def _clear_layer_caches() -> None:
    """Settings and the AWS clients are cached by the layer: a stage's must not outlive it."""
    for module_name, function_name in (
        ("robotappel.config", "get_settings"),
        ("robotappel.dal.dynamodb", "client"),
        ("robotappel.dal.apigateway", "_client"),
    ):
        module: Any = sys.modules.get(module_name)
        cached = getattr(module, function_name, None)
        if cached is not None:
            cached.cache_clear()
