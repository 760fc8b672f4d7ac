"""Reads template.yaml, the single source of truth, for the local server and the tests.

Functions, their routes and environment, and the DynamoDB table definitions all come from here, so nothing
about them is repeated outside the template. Its `Fn::ForEach` loops (AWS::LanguageExtensions) are expanded by
samcli's own processor, as `sam build --language-extensions` expands them; nothing else is resolved.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from samcli.lib.cfn_language_extensions.api import create_default_intrinsic_resolver
from samcli.lib.cfn_language_extensions.models import TemplateProcessingContext
from samcli.lib.cfn_language_extensions.pipeline import ProcessingPipeline
from samcli.lib.cfn_language_extensions.processors import ForEachProcessor, TemplateParsingProcessor
from samcli.yamlhelper import yaml_dump, yaml_parse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

# The DynamoDB create_table arguments a CloudFormation table resource may carry that moto understands.
_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    authorized: bool


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The folder name under functions/ (e.g. add_client_phone)."""
        return self.code_dir.name

    @property
    def source(self) -> Path:
        """The handler's file: Handler `app.handler` -> <CodeUri>/app.py."""
        module_name = self.handler.rpartition(".")[0]
        return self.code_dir / f"{module_name.replace('.', '/')}.py"


@cache
def load() -> dict[str, Any]:
    """The template with its Fn::ForEach loops expanded (the resources they generate are listed like the others)."""
    return expand_loops(yaml_parse(TEMPLATE.read_text()))


def expand_loops(document: dict[str, Any]) -> dict[str, Any]:
    context = TemplateProcessingContext(fragment=copy.deepcopy(document))
    loops = ForEachProcessor(create_default_intrinsic_resolver(context))
    return dict(ProcessingPipeline([TemplateParsingProcessor(), loops]).process_template(context))


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in load()["Resources"].items() if res["Type"] == kind}


def tables() -> dict[str, dict[str, Any]]:
    """Logical id -> create_table kwargs (without TableName) of every DynamoDB table in the template."""
    result = {}
    for name, res in resources("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        definition = {key: json.loads(json.dumps(props[key])) for key in _TABLE_KEYS if key in props}
        if "StreamSpecification" in props:  # CloudFormation enables a stream by naming its view type
            definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        result[name] = definition
    return result


@dataclass(frozen=True)
class StreamConsumer:
    """A function fed by a table's stream (an AWS::Lambda::EventSourceMapping of `!GetAtt <Table>.StreamArn`)."""

    function: str
    table: str
    batch_size: int


def stream_consumers() -> list[StreamConsumer]:
    found = []
    for mapping in resources("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        table = props["EventSourceArn"]["Fn::GetAtt"][0]
        found.append(StreamConsumer(props["FunctionName"]["Ref"], table, int(props.get("BatchSize", 100))))
    return found


def scheduled_functions() -> list[str]:
    """The logical ids of the functions EventBridge runs on a schedule (Schedule or ScheduleV2 events)."""
    return sorted(
        name
        for name, res in resources("AWS::Serverless::Function").items()
        if any(event["Type"] in ("Schedule", "ScheduleV2") for event in res["Properties"].get("Events", {}).values())
    )


def functions() -> dict[str, Function]:
    globals_ = load().get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    result = {}
    for name, res in resources("AWS::Serverless::Function").items():
        props = res["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        result[name] = Function(
            logical_id=name,
            code_dir=ROOT / props["CodeUri"],
            handler=props.get("Handler", globals_.get("Handler", "app.handler")),
            environment=env,
        )
    return result


@dataclass(frozen=True)
class AuthorizerCaching:
    """How API Gateway caches a Lambda authorizer's answer: per value of its identity headers, for `ttl_seconds`."""

    identity_headers: tuple[str, ...]
    ttl_seconds: int


# SAM's default when a REQUEST authorizer's Identity gives no ReauthorizeEvery.
_DEFAULT_REAUTHORIZE_EVERY = 300


def usage_plans(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Logical id -> create_usage_plan kwargs (name, throttle, quota) of every usage plan of the template, its
    parameters resolved (`parameters`: by name, e.g. parameter_defaults() and the Stage); the stage left out."""
    found = {}
    for name, plan in resources("AWS::ApiGateway::UsagePlan").items():
        props = plan["Properties"]
        throttle, quota = props.get("Throttle", {}), props.get("Quota", {})
        found[name] = {
            "name": _resolved(props["UsagePlanName"], parameters),
            "throttle": {
                "rateLimit": float(_resolved(throttle["RateLimit"], parameters)),
                "burstLimit": int(_resolved(throttle["BurstLimit"], parameters)),
            },
            "quota": {"limit": int(_resolved(quota["Limit"], parameters)), "period": quota["Period"]},
        }
    return found


def _resolved(value: Any, parameters: dict[str, str]) -> str:
    """A plain value, `!Ref Parameter` or `!Sub` over parameters only (what a usage plan's properties use)."""
    if isinstance(value, dict) and "Ref" in value:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda match: parameters[match[1]], value["Fn::Sub"])
    return str(value)


def authorizer_caching() -> dict[str, AuthorizerCaching]:
    """Authorizer name (as the Api's Auth declares it) -> its caching."""
    found = {}
    for api in resources("AWS::Serverless::Api").values():
        for name, authorizer in api["Properties"].get("Auth", {}).get("Authorizers", {}).items():
            identity = authorizer.get("Identity", {})
            found[name] = AuthorizerCaching(
                identity_headers=tuple(identity.get("Headers", ())),
                ttl_seconds=int(identity.get("ReauthorizeEvery", _DEFAULT_REAUTHORIZE_EVERY)),
            )
    return found


def routes() -> list[Route]:
    found = []
    for name, res in resources("AWS::Serverless::Function").items():
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            authorizer = props.get("Auth", {}).get("Authorizer")
            found.append(Route(props["Method"].upper(), props["Path"], name, authorizer != "NONE"))
    return found


def function_named(name: str) -> Function:
    """The function whose code is functions/<name>, e.g. function_named("token_ledger")."""
    for function in functions().values():
        if function.name == name:
            return function
    raise KeyError(f"No function of template.yaml has its code in functions/{name}")


def resolve_environment(function: Function, references: dict[str, str]) -> dict[str, str]:
    """The function's environment with `!Ref X` replaced by `references[X]` (table names, parameters)."""
    env = {}
    for key, value in function.environment.items():
        if isinstance(value, dict) and "Ref" in value:
            env[key] = references.get(value["Ref"], "")
        else:
            env[key] = str(value)
    return env


def placeholder_environment(function: Function) -> dict[str, str]:
    """The function's environment as a deployed stage would set it, every reference resolved to a plausible
    name: enough to import a function (its settings are validated at init) where no table exists."""
    references = {name: f"robotappel-{name}-dev" for name in resources("AWS::DynamoDB::Table")}
    references |= parameter_defaults() | {"TwilioSecretArn": "robotappel/twilio-dev"}
    return resolve_environment(function, references)


def parameter_defaults() -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in load().get("Parameters", {}).items()}


def main() -> None:
    """`python -m local.template FILE`: write the template with its loops expanded (what checkov reads)."""
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml_dump(load()))


if __name__ == "__main__":
    main()
