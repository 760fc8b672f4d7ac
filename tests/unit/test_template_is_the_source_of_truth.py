import json
from pathlib import Path

import pytest

from local import template
from robotappel.tokens.costs import ROUTE_COSTS

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
        ("POST /phoneNumber/twilio/validationStatus", 0),
        ("POST /phoneNumber/twilio/callStatus", 0),
    ],
)
def test_costs_are_the_contracts(route_key: str, tokens: int) -> None:
    assert ROUTE_COSTS[route_key] == tokens


def test_only_the_twilio_webhooks_skip_the_authorizer() -> None:
    public = {route.path for route in template.routes() if not route.authorized}
    assert public == {"/phoneNumber/twilio/validationStatus", "/phoneNumber/twilio/callStatus"}


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
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name


# SAM policy templates that grant named actions on one named resource (none grants "*" actions).
SCOPED_POLICY_TEMPLATES = {"DynamoDBReadPolicy", "DynamoDBCrudPolicy", "AWSSecretsManagerGetSecretValuePolicy"}


def test_functions_only_use_scoped_policy_templates_never_wildcard_actions() -> None:
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{name}: managed policy {policy!r} is not scoped to our resources"
            [(policy_template, parameters)] = policy.items()
            assert policy_template in SCOPED_POLICY_TEMPLATES, f"{name}: {policy_template}"
            assert "Statement" not in parameters


def test_the_token_costs_parameters_example_names_real_route_keys() -> None:
    description = template.load()["Parameters"]["TokenCosts"]["Description"]
    example = json.loads(description[description.index("{") : description.rindex("}") + 1])
    assert example
    assert set(example) <= set(ROUTE_COSTS)
