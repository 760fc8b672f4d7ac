"""What a first deploy into a fresh AWS account needs from template.yaml and the workflows (#23), read from them."""

import json
import os
import re
import subprocess
from typing import Any

import yaml

from local import template
from tests.iam import deployed

WORKFLOWS = template.ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def runtime_python() -> str:
    runtime = template.load()["Globals"]["Function"]["Runtime"]
    return str(re.fullmatch(r"python(\d+\.\d+)", runtime)[1])  # type: ignore[index]


def test_ci_runs_the_tests_on_the_python_of_the_lambda_runtime() -> None:
    # Given the Python that AWS runs the functions on, and the CI job that runs make test
    [setup] = [step for step in steps(workflow("ci.yml")["jobs"]["test"]) if "setup-python" in step.get("uses", "")]
    # Then CI sets up that Python
    assert str(setup["with"]["python-version"]) == runtime_python()


def test_make_builds_its_venv_with_the_python_of_the_lambda_runtime() -> None:
    # Given the Python version the Makefile builds .venv with, PYTHON_VERSION not set
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHON_VERSION", "MAKEFLAGS")}
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "_version: ; @echo $(PYTHON_VERSION)", "_version"],
        cwd=template.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    # Then it is the runtime's
    assert shown.stdout.strip() == runtime_python()


# The properties that name a resource in its account and region (none set: CloudFormation makes a unique name).
NAME_PROPERTIES = {
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Scheduler::Schedule": "Name",
}


def named_as(value: Any, stage: str) -> str:
    """A name as a stage's stack resolves it: the Stage parameter, the stack's name, and a resource's name
    (CloudFormation's, which starts with the stack's name)."""
    stack = f"robotappel-phone-numbers-{stage}"
    text = json.dumps(value).replace('{"Ref": "Stage"}', stage).replace("${Stage}", stage)
    return re.sub(r"\$\{(AWS::StackName|[A-Za-z0-9]+)\}", lambda ref: f"{stack}-{ref[1]}", text)


def deployed_names(stage: str) -> dict[str, str]:
    """Logical id -> the name the template gives a resource, as the stage's stack resolves it."""
    resources = deployed.translate(template.load(), {**deployed.PARAMETERS, "Stage": stage})["Resources"]
    return {
        logical_id: named_as(resource["Properties"][NAME_PROPERTIES[resource["Type"]]], stage)
        for logical_id, resource in resources.items()
        if NAME_PROPERTIES.get(resource["Type"]) in resource.get("Properties", {})
    }


def test_two_stages_in_one_account_and_region_name_nothing_alike() -> None:
    # Given the resources of the dev and the prod stack as the SAM transform makes them, and the names they are given
    dev, prod = deployed_names("dev"), deployed_names("prod")
    # Then none is the same in both (the second stack would fail to create)
    assert dev
    assert [logical_id for logical_id, name in dev.items() if prod.get(logical_id) == name] == []


def test_a_compensation_failure_logged_by_any_function_reaches_the_alarm() -> None:
    # Given the alarm on compensation failures, and the metric filters of the template
    alarm = template.resources("AWS::CloudWatch::Alarm")["CompensationFailuresAlarm"]["Properties"]
    watched = (alarm["Namespace"], alarm["MetricName"])
    log_groups = template.resources("AWS::Logs::LogGroup")
    counted = {
        str(log_groups[filter_["Properties"]["LogGroupName"]["Ref"]]["Properties"]["LogGroupName"]["Fn::Sub"])
        for filter_ in template.resources("AWS::Logs::MetricFilter").values()
        if "COMPENSATION_FAILED" in filter_["Properties"]["FilterPattern"]
        and {(t["MetricNamespace"], t["MetricName"]) for t in filter_["Properties"]["MetricTransformations"]}
        == {watched}
    }
    # Then the lines of every function (buy, update and delete log them) are counted into the watched metric
    assert counted == {f"/aws/lambda/${{{name}}}" for name in template.functions()}


SECRET_ARN = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:robotappel/twilio-dev-AbCdEf"


def test_the_twilio_secret_is_accepted_only_as_a_full_arn() -> None:
    # Given the parameter's pattern (CloudFormation matches the whole value)
    pattern = template.load()["Parameters"]["TwilioSecretArn"]["AllowedPattern"]
    # Then the secret's full ARN is accepted; its name, or an ARN without the random suffix, is refused at deploy
    assert re.fullmatch(pattern, SECRET_ARN)
    assert re.fullmatch(pattern, deployed.PARAMETERS["TwilioSecretArn"])
    assert not re.fullmatch(pattern, "robotappel/twilio-dev")
    assert not re.fullmatch(pattern, SECRET_ARN.removesuffix("-AbCdEf"))
