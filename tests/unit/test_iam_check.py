"""The IAM check's parts (tests/iam): calls as the IAM actions AWS authorises, the template as it deploys, and
policies evaluated both ways."""

import copy
from typing import Any

import pytest

from local import template
from tests.iam import calls, check, deployed
from tests.iam.calls import Call
from tests.iam.deployed import Function, Policy

TABLE = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
ENVIRONMENT = {"numbers": "NUMBERS_TABLE", "tokens": "TOKENS_TABLE", "robotappel/twilio": "TWILIO_SECRET_ID"}
NUMBERS_ARN = "arn:aws:dynamodb:eu-west-3:123456789012:table/stage-NumbersTable-X"


def function(*statements: dict[str, Any], managed: tuple[Policy, ...] = ()) -> Function:
    """Function "F" whose role has one inline policy of these statements, then the managed policies."""
    inline = Policy("FRolePolicy0", {"Statement": list(statements)})
    return Function("F", "FRole", (inline, *managed), {"NUMBERS_TABLE": "stage-NumbersTable-X"})


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# ------------------------------------------------------------------ calls as IAM actions
def test_each_item_of_a_transaction_is_its_own_action_on_its_own_table() -> None:
    items = [
        {"Put": {"TableName": "numbers", "Item": {}}},
        {"Update": {"TableName": "tokens", "Key": {}}},
        {"ConditionCheck": {"TableName": "numbers", "Key": {}}},
        {"Delete": {"TableName": "numbers", "Key": {}}},
    ]
    assert calls.actions("dynamodb", "TransactWriteItems", {"TransactItems": items}, ENVIRONMENT) == [
        ("dynamodb:PutItem", TABLE + "${NUMBERS_TABLE}"),
        ("dynamodb:UpdateItem", TABLE + "${TOKENS_TABLE}"),
        ("dynamodb:ConditionCheckItem", TABLE + "${NUMBERS_TABLE}"),
        ("dynamodb:DeleteItem", TABLE + "${NUMBERS_TABLE}"),
    ]


def test_a_query_on_an_index_is_an_action_on_the_index() -> None:
    params = {"TableName": "numbers", "IndexName": "byPhoneNumber"}
    assert calls.actions("dynamodb", "Query", params, ENVIRONMENT) == [
        ("dynamodb:Query", TABLE + "${NUMBERS_TABLE}/index/byPhoneNumber")
    ]


def test_a_secret_read_is_an_action_on_the_secret_the_environment_names() -> None:
    params = {"SecretId": "robotappel/twilio"}
    assert calls.actions("secretsmanager", "GetSecretValue", params, ENVIRONMENT) == [
        ("secretsmanager:GetSecretValue", "${TWILIO_SECRET_ID}")
    ]


def test_a_table_no_environment_variable_names_keeps_its_name_and_so_matches_no_deployed_table() -> None:
    assert calls.actions("dynamodb", "GetItem", {"TableName": "elsewhere"}, ENVIRONMENT) == [
        ("dynamodb:GetItem", TABLE + "elsewhere")
    ]


# ------------------------------------------------------------------ calls against policies
def test_a_call_no_statement_allows_is_denied_and_says_what_it_was_checked_against() -> None:
    # Given a role that may only read NumbersTable
    reader = function(allow(["dynamodb:GetItem", "dynamodb:Query"], NUMBERS_ARN))
    # When the function updated an item of it
    denials = check.denied([Call("F", "dynamodb:UpdateItem", TABLE + "${NUMBERS_TABLE}")], {"F": reader})
    # Then the update is denied on the deployed table, and the report shows the role's statements
    assert [(d.action, d.resource) for d in denials] == [("dynamodb:UpdateItem", NUMBERS_ARN)]
    assert f"FRolePolicy0: Allow dynamodb:GetItem, dynamodb:Query on {NUMBERS_ARN}" in str(denials[0])


def test_an_explicit_deny_wins_over_any_allow() -> None:
    role = function(allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"})
    assert check.allows(role.policies, "dynamodb:GetItem", NUMBERS_ARN)
    assert not check.allows(role.policies, "dynamodb:DeleteItem", NUMBERS_ARN)


def test_a_table_grant_does_not_cover_its_indexes() -> None:
    role = function(allow("dynamodb:Query", NUMBERS_ARN))
    assert not check.allows(role.policies, "dynamodb:Query", NUMBERS_ARN + "/index/byPhoneNumber")


# ------------------------------------------------------------------ least privilege
def test_each_action_on_each_resource_granted_and_never_called_is_reported() -> None:
    # Given a role granting GetItem and PutItem on the table and its indexes
    role = function(allow(["dynamodb:GetItem", "dynamodb:PutItem"], [NUMBERS_ARN, NUMBERS_ARN + "/index/*"]))
    # When the function only got items
    unused = check.unused([Call("F", "dynamodb:GetItem", TABLE + "${NUMBERS_TABLE}")], {"F": role})
    # Then every other grant is reported
    assert {(grant.action, grant.resource) for grant in unused} == {
        ("dynamodb:GetItem", NUMBERS_ARN + "/index/*"),
        ("dynamodb:PutItem", NUMBERS_ARN),
        ("dynamodb:PutItem", NUMBERS_ARN + "/index/*"),
    }


def test_the_policies_sam_attaches_for_the_lambda_service_need_no_call_of_the_function() -> None:
    logs = Policy(
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        {"Statement": [allow("logs:PutLogEvents", "*")]},
    )
    assert check.unused([], {"F": function(managed=(logs,))}) == []


def test_a_statement_for_the_lambda_service_needs_no_call_of_the_function_but_others_of_its_policy_do() -> None:
    # Given a role whose statement for the event source mapping is named as such, beside one for the function
    [sid] = check.LAMBDA_SERVICE_STATEMENTS
    stream = {**allow("dynamodb:GetRecords", NUMBERS_ARN + "/stream/*"), "Sid": sid}
    role = function(stream, allow("dynamodb:UpdateItem", NUMBERS_ARN))
    # When the function made no call, Then only the function's own grant is unused
    assert [(grant.action, grant.resource) for grant in check.unused([], {"F": role})] == [
        ("dynamodb:UpdateItem", NUMBERS_ARN)
    ]


# ------------------------------------------------------------------ the template as it deploys
@pytest.fixture(scope="module")
def deployed_functions() -> dict[str, Function]:
    return deployed.functions(template.load())


def test_every_function_is_deployed_with_a_role_of_its_own(deployed_functions: dict[str, Function]) -> None:
    assert set(deployed_functions) == set(template.functions())
    assert len({function.role for function in deployed_functions.values()}) == len(deployed_functions)


def test_policies_and_environment_name_the_stages_resources(deployed_functions: dict[str, Function]) -> None:
    # Given the function reading balances, as deployed
    balance = deployed_functions["GetTokenBalanceFunction"]
    tokens_table = deployed.physical_name("TokensTable")
    # Then its environment names the stage's table, the resource its policy lets it read
    assert balance.environment["TOKENS_TABLE"] == tokens_table
    assert balance.resolve(TABLE + "${TOKENS_TABLE}") == f"arn:aws:dynamodb:eu-west-3:123456789012:table/{tokens_table}"
    assert check.allows(balance.policies, "dynamodb:GetItem", balance.resolve(TABLE + "${TOKENS_TABLE}"))


def test_fn_foreach_blocks_are_left_out_and_policies_keep_their_intrinsics() -> None:
    # Given the template with AWS::LanguageExtensions and a Fn::ForEach block of alarms, one per function
    extended = copy.deepcopy(template.load())
    extended["Transform"] = ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    extended["Resources"]["Fn::ForEach::ProbeAlarms"] = [
        "Name",
        ["Authorizer", "GetTokenBalance"],
        {
            "${Name}ProbeAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": {"Fn::Sub": "${Name}Function"}}}],
                    "Statistic": "Sum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                },
            }
        },
    ]
    # When it is deployed
    resources = deployed.translate(extended)["Resources"]
    # Then the block, which defines no function, is left out; every function still has its role, and a policy's
    # Fn::Sub is still an intrinsic (expanding the loops would have resolved it with us-east-1 into a plain string)
    assert not {"AuthorizerProbeAlarm", "GetTokenBalanceProbeAlarm"} & set(resources)
    assert set(deployed.functions(extended)) == set(template.functions())
    statements = [
        statement
        for policy in resources["CallStatusWebhookFunctionRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert {"Fn::Sub": "${NumbersTable.Arn}/index/byPhoneNumber"} in [statement["Resource"] for statement in statements]


def test_only_the_token_ledger_reads_a_stream_and_only_its_tables(deployed_functions: dict[str, Function]) -> None:
    # Given the deployed TokensTable's stream, and another table's in the same account
    ours = (
        deployed_functions["TokenLedgerFunction"].resolve(TABLE + "${TOKENS_TABLE}") + "/stream/2026-01-01T00:00:00.000"
    )
    elsewhere = "arn:aws:dynamodb:eu-west-3:123456789012:table/someone-else/stream/2026-01-01T00:00:00.000"
    # Then the token ledger's mapping may read its table's stream, and no role may read another's
    assert check.allows(deployed_functions["TokenLedgerFunction"].policies, "dynamodb:GetRecords", ours)
    for name, function in deployed_functions.items():
        assert not check.allows(function.policies, "dynamodb:GetRecords", elsewhere), name
