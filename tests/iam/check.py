"""Both directions of least privilege, evaluated by moto's IAM policy engine (moto.iam.access_control), as AWS
evaluates a role's policies: an explicit Deny in any of them wins, else an Allow is needed, else it is denied.

- `denied`: calls a function made that its role does not allow (AccessDenied on AWS);
- `unused`: what a role grants (each action on each resource of its Allow statements) that no call of its function
  used in the run, less the exceptions below.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.iam.calls import Call
from tests.iam.deployed import Function, Policy

# The one place for what a role may hold without a test using it, and why.
# Policies SAM attaches for the Lambda service's own work around the function: nothing the function's code calls.
LAMBDA_SERVICE_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "Lambda writes the function's logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Lambda sends the function's traces (Tracing: Active)",
}
# Statements (by Sid) of the template that grant the Lambda service's own work for a function, scoped to ours.
LAMBDA_SERVICE_STATEMENTS = {
    "EventSourceMappingReadsTheStream": "the event source mapping reads the table's stream for the function",
}


@dataclass(frozen=True)
class Denied:
    function: Function
    action: str
    resource: str

    def __str__(self) -> str:
        checked = "\n".join(f"      {_describe(policy)}" for policy in self.function.policies)
        return (
            f"  {self.function.logical_id} may not {self.action} on {self.resource}\n"
            f"    checked against {self.function.role}:\n{checked}"
        )


@dataclass(frozen=True)
class Grant:
    function: str
    policy: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"  {self.function} holds {self.action} on {self.resource} ({self.policy}) and never used it"

    def covers(self, action: str, resource: str) -> bool:
        statement = {"Effect": "Allow", "Action": self.action, "Resource": self.resource}
        return allows([Policy(self.policy, {"Statement": [statement]})], action, resource)


def allows(policies: Iterable[Policy], action: str, resource: str) -> bool:
    results = {IAMPolicy(json.dumps(policy.document)).is_action_permitted(action, resource) for policy in policies}
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


def denied(calls: Iterable[Call], functions: Mapping[str, Function]) -> list[Denied]:
    found = {}
    for call in calls:
        function = functions[call.function]
        resource = function.resolve(call.resource)
        if not allows(function.policies, call.action, resource):
            found[call.function, call.action, resource] = Denied(function, call.action, resource)
    return [found[key] for key in sorted(found)]


def unused(calls: Iterable[Call], functions: Mapping[str, Function]) -> list[Grant]:
    used: dict[str, set[tuple[str, str]]] = {name: set() for name in functions}
    for call in calls:
        used[call.function].add((call.action, functions[call.function].resolve(call.resource)))
    return [
        grant
        for function in functions.values()
        for grant in grants(function)
        if not any(grant.covers(action, resource) for action, resource in used[function.logical_id])
    ]


def grants(function: Function) -> list[Grant]:
    """Each action on each resource that the function's Allow statements name, but those for the Lambda service."""
    found = []
    for policy in function.policies:
        if policy.name in LAMBDA_SERVICE_POLICIES:
            continue
        for statement in _statements(policy.document):
            if statement["Effect"] != "Allow" or statement.get("Sid") in LAMBDA_SERVICE_STATEMENTS:
                continue
            if "Action" not in statement or "Resource" not in statement:
                raise ValueError(f"{function.logical_id}: {policy.name} grants by NotAction or NotResource: write both")
            found += [
                Grant(function.logical_id, policy.name, action, resource)
                for action in _as_list(statement["Action"])
                for resource in _as_list(statement["Resource"])
            ]
    return found


def report(denied_calls: list[Denied], unused_grants: list[Grant] | None) -> list[str]:
    """The failure's lines, or none. `unused_grants` is None when the run cannot tell (not the whole suite)."""
    lines = []
    if denied_calls:
        lines.append(f"{len(denied_calls)} call(s) the function's role does not allow (AccessDenied on AWS):")
        lines += [str(denial) for denial in denied_calls]
    if unused_grants:
        lines.append(f"{len(unused_grants)} grant(s) no test used (least privilege: remove, or justify in check.py):")
        lines += [str(grant) for grant in unused_grants]
    return lines


def _describe(policy: Policy) -> str:
    statements = [
        f"{s['Effect']} {', '.join(_as_list(s.get('Action', [])))} on {', '.join(_as_list(s.get('Resource', [])))}"
        for s in _statements(policy.document)
    ]
    return f"{policy.name}: " + "; ".join(statements)


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [statement for statement in _as_list(document["Statement"]) if statement is not None]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
