"""template.yaml as CloudFormation deploys it, for a realistic `dev` stage: each function's role and environment.

The translation is `sam validate`'s (SAM CLI's SamTemplateValidator): `Fn::ForEach` expanded by SAM CLI's
AWS::LanguageExtensions implementation, then the SAM transform (samtranslator), which turns `Policies` into one
AWS::IAM::Role per function with its policy templates expanded. Intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
`Fn::Join`, `Fn::If`...) are then resolved by SAM CLI's IntrinsicResolver to the names and ARNs of the stage below.
Managed policies' documents are moto's copy of AWS's.
"""

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse

ACCOUNT_ID = "123456789012"
REGION = "eu-west-3"
STACK_NAME = "robotappel-phone-numbers-dev"
PARAMETERS = {
    "Stage": "dev",
    "TwilioSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:robotappel/twilio-dev-AbCdEf",
}
PSEUDO_PARAMETERS = {
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::StackName": STACK_NAME,
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass(frozen=True)
class Policy:
    name: str  # the role's inline policy name, or the managed policy's ARN
    document: dict[str, Any]


@dataclass(frozen=True)
class Function:
    logical_id: str
    role: str  # logical id of its AWS::IAM::Role
    policies: tuple[Policy, ...]
    environment: dict[str, str]

    def resolve(self, resource: str) -> str:
        """A recorded resource (calls.py: an ARN template naming this function's environment variables)."""
        symbols = PSEUDO_PARAMETERS | self.environment
        return re.sub(r"\$\{([^}]+)\}", lambda name: symbols.get(name[1], name[0]), resource)


class _NoManagedPolicyNames:
    """Policies name managed policies by ARN here; a bare name would need AWS (IAM ListPolicies) to look up."""

    def load(self) -> dict[str, str]:
        return {}


def functions(template: Mapping[str, Any]) -> dict[str, Function]:
    """Every function of the deployed template, by logical id."""
    deployed = translate(template)
    resolver = _resolver(deployed, PSEUDO_PARAMETERS | PARAMETERS | _tables(deployed))
    resources = deployed["Resources"]
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = _role_of(logical_id, resource["Properties"]["Role"], resources)
        role = resolver.intrinsic_property_resolver(resources[role_id]["Properties"], ignore_errors=False)
        environment = resource["Properties"].get("Environment", {}).get("Variables", {})
        found[logical_id] = Function(
            logical_id=logical_id,
            role=role_id,
            policies=tuple(
                [Policy(p["PolicyName"], p["PolicyDocument"]) for p in role.get("Policies", [])]
                + [Policy(arn, _managed_policy(arn)) for arn in role.get("ManagedPolicyArns", [])]
            ),
            environment={
                name: str(value)
                for name, value in resolver.intrinsic_property_resolver(environment, ignore_errors=False).items()
                if value is not None  # AWS::NoValue
            },
        )
    return found


def translate(template: Mapping[str, Any], parameters: Mapping[str, str] = PARAMETERS) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `template`, intrinsics unresolved (but those SAM
    resolves itself with `parameters`)."""
    # Fn::ForEach loops only generate log groups and alarms here. Expanding them (AWS::LanguageExtensions) would
    # also pre-resolve every Fn::Sub with default pseudo parameters (us-east-1) into plain strings, breaking the
    # ARNs of the policies: the loops are left out instead.
    without_loops = copy.deepcopy(dict(template))  # the validator also replaces local CodeUris in place
    without_loops["Resources"] = {
        name: resource for name, resource in without_loops["Resources"].items() if not name.startswith("Fn::ForEach")
    }
    validator = SamTemplateValidator(
        without_loops,
        _NoManagedPolicyNames(),
        region=REGION,
        parameter_overrides=dict(parameters),
        language_extensions_enabled=False,
    )
    return dict(yaml_parse(validator.get_translated_template_if_valid()))


def physical_name(logical_id: str) -> str:
    """The name CloudFormation gives a resource that names none: stack, logical id, random suffix."""
    return f"{STACK_NAME}-{logical_id}-1A2B3C4D5E6F"


def _tables(deployed: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    parameters = _resolver(deployed, PSEUDO_PARAMETERS | PARAMETERS)
    symbols = {}
    for logical_id, resource in deployed["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = resource["Properties"].get("TableName", physical_name(logical_id))
            name = parameters.intrinsic_property_resolver(name, ignore_errors=False)
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
            symbols[logical_id] = {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/2026-01-01T00:00:00.000"}
    return symbols


def _resolver(deployed: Mapping[str, Any], symbols: Mapping[str, Any]) -> IntrinsicResolver:
    symbol_table = IntrinsicsSymbolTable(template=deployed, logical_id_translator=dict(symbols))
    return IntrinsicResolver(template=deployed, symbol_resolver=symbol_table)


def _role_of(function: str, role: Any, resources: Mapping[str, Any]) -> str:
    role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    if role_id not in resources:
        raise ValueError(f"{function}'s role is not defined by the template: its permissions cannot be checked")
    return str(role_id)


@cache
def _managed_policies() -> dict[str, Any]:
    return dict(json.loads(aws_managed_policies_data))


def _managed_policy(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    if name not in _managed_policies():
        raise ValueError(f"managed policy {arn} is not in moto's copy of AWS's: its permissions cannot be checked")
    document: dict[str, Any] = _managed_policies()[name]["Document"]
    return document
