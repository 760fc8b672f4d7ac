"""What a first deploy into a fresh AWS account needs from template.yaml and the workflows (#23), read from them."""

import json
import os
import re
import subprocess
from typing import Any

from samcli.yamlhelper import yaml_parse

from local import template
from robotappel.dal import ledger
from tests.iam import deployed
from tests.unit.test_template_is_the_source_of_truth import named

WORKFLOWS = template.ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml_parse((WORKFLOWS / name).read_text())
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
    log_groups = {
        name: group["Properties"]["LogGroupName"] for name, group in template.resources("AWS::Logs::LogGroup").items()
    }
    counted = {
        str(log_groups[str(named(filter_["Properties"]["LogGroupName"]))]["Fn::Sub"])
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


def test_a_stage_can_be_deployed_without_reserving_concurrency() -> None:
    # Given the template's switch, and the functions that reserve concurrency
    loaded = template.load()
    reserving = {
        name: function["Properties"]["ReservedConcurrentExecutions"]
        for name, function in template.resources("AWS::Serverless::Function").items()
        if "ReservedConcurrentExecutions" in function["Properties"]
    }
    # Then each reserves only under a condition that is true only when ReservedConcurrency is "on"
    assert reserving
    for name, reserved in reserving.items():
        condition, _, otherwise = reserved["Fn::If"]
        assert loaded["Conditions"][condition] == {"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "on"]}, name
        assert otherwise == {"Ref": "AWS::NoValue"}, name
    assert set(loaded["Parameters"]["ReservedConcurrency"]["AllowedValues"]) == {"on", "off"}


def test_the_ledger_is_invoked_only_for_account_writes_not_for_the_ledger_items_it_writes() -> None:
    # Given the mapping of the TokensTable stream to the token ledger
    [mapping] = template.resources("AWS::Lambda::EventSourceMapping").values()
    [only] = mapping["Properties"]["FilterCriteria"]["Filters"]
    # Then Lambda hands it only the records of account items (the only ones that make ledger entries)
    assert json.loads(only["Pattern"]) == {"dynamodb": {"Keys": {"sk": {"S": [ledger.ACCOUNT_SK]}}}}
    assert mapping["Properties"]["FunctionName"] == {"Ref": "TokenLedgerFunction"}


def test_a_table_throttle_alarm_sums_reads_and_writes_when_only_one_of_them_has_data() -> None:
    # Given each table's throttle alarm: metric math over its read and write throttle events
    for name, alarm in template.resources("AWS::CloudWatch::Alarm").items():
        queries = {query["Id"]: query for query in alarm["Properties"].get("Metrics", [])}
        expressions = [query["Expression"] for query in queries.values() if "Expression" in query]
        # Then every metric the expression adds is filled with 0 where it has no datapoint
        for expression in expressions:
            added = [term.strip() for term in expression.split("+")]
            assert added == [f"FILL({query}, 0)" for query in queries if "MetricStat" in queries[query]], name


def needs(jobs: dict[str, Any], name: str) -> set[str]:
    """The jobs `name` waits for, directly or not."""
    direct = jobs[name].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(needs(jobs, job) for job in direct))


def test_nothing_is_deployed_before_the_tests_of_the_same_commit_passed() -> None:
    # Given the deploy workflow, and the jobs of it that deploy
    jobs = workflow("deploy.yml")["jobs"]
    deploying = [name for name, job in jobs.items() if any("sam deploy" in step.get("run", "") for step in steps(job))]
    testing = {name for name, job in jobs.items() if "make test" in [step.get("run") for step in steps(job)]}
    # Then each waits for a job that ran make test, and every job checks out the commit of the run
    assert deploying
    assert testing
    for name in deploying:
        assert needs(jobs, name) & testing, name
    checkouts = [
        step for job in jobs.values() for step in steps(job) if step.get("uses", "").startswith("actions/checkout")
    ]
    assert all("ref" not in step.get("with", {}) for step in checkouts)


def test_the_deploys_tests_are_cis() -> None:
    # Given CI's test job (pull requests) and the deploy's (main)
    ci, deploy = workflow("ci.yml")["jobs"]["test"], workflow("deploy.yml")["jobs"]["test"]
    # Then they run the same steps, so that what a pull request passed is what gates a deploy
    assert [{k: v for k, v in step.items() if k != "name"} for step in steps(ci)] == [
        {k: v for k, v in step.items() if k != "name"} for step in steps(deploy)
    ]


def test_the_deploy_smoke_tests_each_stage_it_deployed() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    for stage in ("dev", "prod"):
        runs = [step.get("run", "") for step in steps(jobs[f"deploy-{stage}"])]
        assert f"make preflight STAGE={stage}" in runs, stage
        assert runs[-1] == f"make smoke STAGE={stage}", stage


def test_the_workflows_deploy_with_the_sam_cli_the_tests_validated_with() -> None:
    # Given the SAM CLI that uv.lock pins (make install), and every step of the workflows
    every_step = [
        step for name in ("ci.yml", "deploy.yml") for job in workflow(name)["jobs"].values() for step in steps(job)
    ]
    # Then none installs another (setup-sam's default is the latest), and sam runs from the venv
    assert not [step for step in every_step if "setup-sam" in step.get("uses", "")]
    commands = [line for step in every_step for line in step.get("run", "").split("\n")]
    assert all(".venv/bin/sam" in line for line in commands if re.search(r"(^|\s)sam\s", line))


def test_the_pipeline_gives_the_orgs_made_before_usage_plans_theirs_after_each_deploy_before_its_smoke_test() -> None:
    # Given the deploy workflow's steps, job by job
    jobs = workflow("deploy.yml")["jobs"]
    for job in jobs.values():
        runs = [str(step.get("run", "")) for step in job["steps"]]
        deploys = [index for index, run in enumerate(runs) if "sam deploy" in run]
        if not deploys:
            continue
        # Then each deploy is followed by the backfill of its own stack, before the smoke test
        [backfill] = [index for index, run in enumerate(runs) if run.endswith("plans backfill")]
        [smoke] = [index for index, run in enumerate(runs) if "make smoke" in run]
        stage = re.search(r"Stage=(\w+)", runs[deploys[0]])
        assert stage is not None
        assert deploys[0] < backfill < smoke
        assert f"--stack robotappel-phone-numbers-{stage[1]} " in runs[backfill]
