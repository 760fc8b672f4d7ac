import json
import re
from pathlib import Path
from typing import Any

import pytest

from local import template
from robotappel.reconcile.holds import HOLD_EXPIRY
from robotappel.reconcile.run import FINDINGS, WEIGHTS, metric_name, out_of_time_kind
from robotappel.tokens.costs import ROUTE_COSTS
from tests.iam.deployed import translate

ROOT = Path(__file__).resolve().parents[2]
ROUTE_KEYS = {f"{route.method} {route.path}" for route in template.routes()}


def test_every_route_of_the_template_has_a_cost_and_no_cost_names_a_missing_route() -> None:
    assert set(ROUTE_COSTS) == ROUTE_KEYS


@pytest.mark.parametrize(
    ("route_key", "tokens"),
    [
        ("POST /phoneNumber/addClientPhone", 10),
        ("DELETE /phoneNumber/deletePhoneNumber/{id}", 5),
        ("GET /phoneNumber/getAllClientPhoneNumbers", 5),
        ("POST /phoneNumber/buyTwilioNumberAndActivate", 40),
        ("GET /phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{clientPhoneNumber}", 5),
        ("GET /phoneNumber/GetTwilioPhoneNumberByOrg", 5),
        ("GET /phoneNumber/getOrgPhoneNumberList/{orgId}", 5),
        ("GET /phoneNumber/getOrgPhoneNumberList", 5),
        ("PATCH /phoneNumber/updatePhoneNumber/{id}", 5),
        ("GET /tokens/balance", 0),
        ("GET /tokens/ledger", 0),
        ("POST /phoneNumber/twilio/validationStatus", 0),
        ("POST /phoneNumber/twilio/validationStatus/{id}", 0),
        ("POST /phoneNumber/twilio/callStatus", 0),
        ("POST /phoneNumber/twilio/callStatus/{id}", 0),
        ("POST /admin/orgs", 0),
        ("POST /admin/orgs/{orgId}/apiKeys", 0),
        ("GET /admin/orgs/{orgId}/apiKeys", 0),
        ("DELETE /admin/apiKeys/{keyId}", 0),
        ("POST /admin/orgs/{orgId}/credits", 0),
        ("PUT /admin/orgs/{orgId}/usagePlan", 0),
        ("PUT /admin/orgs/{orgId}/status", 0),
    ],
)
def test_costs_are_the_contracts(route_key: str, tokens: int) -> None:
    assert ROUTE_COSTS[route_key] == tokens


def test_only_the_twilio_webhooks_skip_the_authorizer() -> None:
    public = {route.path for route in template.routes() if not route.authorized}
    assert public == {
        f"/phoneNumber/twilio/{webhook}{record}"
        for webhook in ("validationStatus", "callStatus")
        for record in ("", "/{id}")
    }


def test_every_function_has_its_folder_and_an_event() -> None:
    for function in template.functions().values():
        assert (function.code_dir / "app.py").is_file(), function.logical_id
        assert (ROOT / "events" / f"{function.name}.json").is_file(), function.name


def test_every_route_event_targets_a_route_of_its_function() -> None:
    for route in template.routes():
        function = template.functions()[route.function]
        event = json.loads((ROOT / "events" / f"{function.name}.json").read_text())
        routes_of_function = {(r.method, r.path) for r in template.routes() if r.function == route.function}
        assert (event["httpMethod"], event["resource"]) in routes_of_function


def test_tables_keep_their_data_point_in_time_and_encrypted() -> None:
    for name, resource in template.resources("AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        assert resource["DeletionPolicy"] == "Retain", name
        assert props["DeletionProtectionEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name


# SAM policy templates that grant named actions on one named resource (none grants "*" actions).
SCOPED_POLICY_TEMPLATES = {"AWSSecretsManagerGetSecretValuePolicy"}


def test_functions_grant_named_actions_on_named_resources_never_wildcards() -> None:
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{name}: managed policy {policy!r} is not scoped to our resources"
            [(kind, parameters)] = policy.items()
            if kind != "Statement":
                assert kind in SCOPED_POLICY_TEMPLATES, f"{name}: {kind}"
                continue
            for statement in parameters:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in action for action in actions), f"{name}: {actions}"
                assert statement["Resource"] != "*", f"{name}: {actions} on every resource"


def test_the_token_costs_parameters_example_names_real_route_keys() -> None:
    description = template.load()["Parameters"]["TokenCosts"]["Description"]
    example = json.loads(description[description.index("{") : description.rindex("}") + 1])
    assert example
    assert set(example) <= set(ROUTE_COSTS)


def named(value: Any, prefix: str = "") -> str | None:
    """The logical id that `!Ref Id` or `!Sub "<prefix>${Id}"` names; None for anything else."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return None if prefix else str(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        found = re.fullmatch(re.escape(prefix) + r"\$\{([A-Za-z0-9]+)\}", value["Fn::Sub"])
        return found.group(1) if found else None
    return None


def alarmed_metrics(dimension: str) -> dict[str, set[str]]:
    """Logical id of a function or table -> the metrics of its alarms (the alarm's dimension names it)."""
    metrics: dict[str, set[str]] = {}
    for alarm in template.resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [props, *(query["MetricStat"]["Metric"] for query in props.get("Metrics", []) if "MetricStat" in query)]
        for stat in stats:
            for item in stat.get("Dimensions", []):
                if item["Name"] == dimension and named(item["Value"]):
                    metrics.setdefault(str(named(item["Value"])), set()).add(stat["MetricName"])
    return metrics


def test_every_function_has_its_log_group_with_retention() -> None:
    # Given the log groups of the template, Fn::ForEach loops expanded
    log_groups = {
        named(group["Properties"]["LogGroupName"], "/aws/lambda/"): group
        for group in template.resources("AWS::Logs::LogGroup").values()
    }
    # Then every function's logs go to a group of the stack, which keeps them LogRetentionDays
    for name in template.functions():
        assert name in log_groups, name
        assert log_groups[name]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_every_function_has_an_errors_and_a_throttles_alarm() -> None:
    # Given the alarms of the template, Fn::ForEach loops expanded
    metrics = alarmed_metrics("FunctionName")
    # Then each function is watched for failures and for throttling
    for name in template.functions():
        assert {"Errors", "Throttles"} <= metrics.get(name, set()), name


def test_every_table_has_a_throttles_alarm() -> None:
    metrics = alarmed_metrics("TableName")
    for name in template.tables():
        assert {"ReadThrottleEvents", "WriteThrottleEvents"} <= metrics.get(name, set()), name


def test_twilio_callbacks_are_not_throttled_by_the_limits_meant_for_api_clients() -> None:
    # Given the stage's method settings (API Gateway encodes a resource path's slashes as ~1)
    settings = template.resources("AWS::Serverless::Api")["Api"]["Properties"]["MethodSettings"]
    by_path = {(item["ResourcePath"].replace("~1", "/"), item["HttpMethod"]): item for item in settings}
    clients = by_path[("/*", "*")]
    # Then each callback route has limits of its own, above the clients' rate and burst
    for route in template.routes():
        if route.authorized:
            continue
        own = by_path[(f"/{route.path}", route.method)]
        assert own["ThrottlingRateLimit"] > clients["ThrottlingRateLimit"], route.path
        assert own["ThrottlingBurstLimit"] > clients["ThrottlingBurstLimit"], route.path


def test_a_hold_expires_only_after_every_function_that_may_hold_has_given_up() -> None:
    # Given the timeouts of the functions that serve routes (the ones that hold tokens)
    globals_ = template.load()["Globals"]["Function"]
    functions = template.resources("AWS::Serverless::Function")
    route_functions = {route.function for route in template.routes()}
    longest = max(int(functions[name]["Properties"].get("Timeout", globals_["Timeout"])) for name in route_functions)
    # Then the reconciler refunds a hold only well after the longest of them has stopped
    assert HOLD_EXPIRY.total_seconds() >= 2 * longest


def test_every_reconciler_alarm_watches_a_metric_the_reconciler_publishes() -> None:
    # Given the alarms on the reconciler's own metrics, Fn::ForEach loops expanded
    alarms = template.resources("AWS::CloudWatch::Alarm").values()
    names = [
        alarm["Properties"]["MetricName"] for alarm in alarms if alarm["Properties"].get("Namespace") == "RobotAppel"
    ]
    watched = {name["Fn::Sub"] if isinstance(name, dict) else name for name in names}
    reconciler_metrics = {name for name in watched if name.startswith("Reconciled")}
    # Then there are some, and each is the metric of a kind of finding a run reports
    assert reconciler_metrics
    assert reconciler_metrics <= {metric_name(kind) for kind in FINDINGS}


def test_every_reconciler_step_alarms_when_it_ran_out_of_time_in_every_run_of_an_hour() -> None:
    # Given the alarms on the reconciler's out-of-time metrics (one per step, 1 or 0 every run)
    properties = [alarm["Properties"] for alarm in template.resources("AWS::CloudWatch::Alarm").values()]
    named = {
        name["Fn::Sub"] if isinstance(name, dict) else name: alarm
        for alarm in properties
        if (name := alarm.get("MetricName"))
    }
    alarms = {name: alarm for name, alarm in named.items() if name.startswith("ReconciledOutOfTime")}
    for step in WEIGHTS:
        alarm = alarms[metric_name(out_of_time_kind(step))]
        # Then each fires only when the least of every period of an hour was 1: every run in it ran out
        assert alarm["Statistic"] == "Minimum"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
        assert alarm["Period"] * alarm["EvaluationPeriods"] >= 3600


def test_the_readme_names_every_function_with_its_event() -> None:
    # Given the README's "One function on one event" table
    readme = (template.ROOT / "README.md").read_text()
    # Then every function of the template is in it, with its event file
    for function in template.functions().values():
        assert f"| `{function.logical_id}` | `events/{function.name}.json` |" in readme, function.logical_id


def test_a_deploy_needs_the_public_base_url_twilio_calls_back() -> None:
    # Given the template's rules and the deploy pipeline
    rule = template.load()["Rules"]["PublicBaseUrlIsSet"]
    workflow = (template.ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    # Then a stack without PublicBaseUrl is refused, and the pipeline passes it to every stage it deploys
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]}
    assert workflow.count('PublicBaseUrl="${{ vars.PUBLIC_BASE_URL }}"') == workflow.count("sam deploy --config-env")


def test_every_method_but_twilios_callbacks_counts_against_the_callers_usage_plan() -> None:
    # Given the API as the SAM transform deploys it (its OpenAPI body: a method requiring an API key names api_key)
    deployed = translate(template.load())["Resources"]["Api"]["Properties"]
    paths = deployed["Body"]["paths"]
    requires_key = {
        f"{method.upper()} {path}": any("api_key" in scheme for scheme in operation.get("security", []))
        for path, methods in paths.items()
        for method, operation in methods.items()
    }
    # Then the usage plan's key is the authorizer's, and every route with the authorizer requires it; the webhooks
    # (Twilio's, no authorizer) do not
    assert deployed["ApiKeySourceType"] == "AUTHORIZER"
    assert requires_key == {f"{route.method} {route.path}": route.authorized for route in template.routes()}
    assert not all(requires_key.values())
