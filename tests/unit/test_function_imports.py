"""Import cost is cold-start cost: a function loads at init what its requests call, and nothing else.

Whether it may call Twilio is read from the template: only functions granted the Twilio secret can talk to Twilio.
Twilio's webhooks are granted it for the auth token their signature check needs: they load the SDK's
RequestValidator, not its REST client (one rare callback may need that client, and loads it then).

Two admin routes reach the parent account's Accounts API on an operator's rare call (onboarding opens the org's
subaccount, a suspension suspends it): they load the REST client then, not at init (LAZY_TWILIO).

Each function is imported in a fresh interpreter of its own, so that one function's imports never hide another's.
"""

import ast
import functools
import json
from typing import Any

import pytest

from local import template
from tests.fixtures.fresh_interpreter import LAYER, run_probe

# Powertools' OpenAPI models: about 100 ms of cold start, needed only to build the document (apidoc).
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
TWILIO_REST_CLIENT = "twilio.rest"
TWILIO_SIGNATURE_CHECK = "twilio.request_validator"
LAZY_TWILIO = frozenset({"create_org", "set_org_status"})

# What must not load at a function's init (the import budget), beyond the rules of the template above. Modules the
# floors load themselves are not listed: boto3 loads multiprocessing (s3transfer) and email (http.client), and
# Powertools' event_handler package loads asyncio (its AppSync resolver) for every function with a REST resolver.
NO_TWILIO = frozenset({"twilio", "requests", "robotappel.twilio"})
NO_RESOLVER = frozenset({"aws_lambda_powertools.event_handler.api_gateway", "robotappel.api.resolver", "asyncio"})
# The admin gate and the API keys' use cases: only the /admin routes (the reads check an admin reader's key with
# tenants.access alone).
NO_ADMIN = frozenset({"robotappel.api.admin", "robotappel.tenants.api_keys"})
# The operators' use cases and models: a read that names another org checks it exists (tenants.existence) only.
NO_OPERATORS = frozenset({"robotappel.tenants.orgs", "robotappel.models.tenants", "robotappel.tenants.usage_plans"})
WEBHOOK = NO_ADMIN | NO_OPERATORS | {TWILIO_REST_CLIENT, "requests", "robotappel.twilio.gateway", "phonenumbers"}
READ = NO_TWILIO | NO_ADMIN | NO_OPERATORS | {"phonenumbers"}
ADMIN = NO_TWILIO | {"phonenumbers"}
IMPORT_BUDGET: dict[str, frozenset[str]] = {
    "authorizer": NO_RESOLVER | NO_TWILIO | {"robotappel.tenants.api_keys", "phonenumbers"},
    "get_token_balance": READ,
    "get_token_ledger": READ,
    "get_all_client_phone_numbers": NO_TWILIO | NO_OPERATORS | {"robotappel.api.admin", "phonenumbers"},
    "get_twilio_numbers_by_org": READ,
    "get_twilio_number_by_client_phone": READ,
    "get_org_phone_number_list": NO_TWILIO | NO_OPERATORS | {"robotappel.api.admin", "phonenumbers"},
    "get_regulatory_defaults": READ,
    "add_client_phone": NO_ADMIN,
    "buy_twilio_number": NO_ADMIN,
    "update_phone_number": NO_ADMIN,
    "delete_phone_number": NO_ADMIN,
    "set_regulatory_default": NO_ADMIN,
    "validation_status_webhook": WEBHOOK,
    "call_status_webhook": WEBHOOK,
    "create_org": ADMIN,
    "issue_api_key": ADMIN,
    "list_api_keys": ADMIN,
    "revoke_api_key": ADMIN,
    "credit_tokens": ADMIN,
    "change_usage_plan": ADMIN,
    "set_org_status": ADMIN,
    "token_ledger": NO_RESOLVER - {"asyncio"} | NO_TWILIO | NO_ADMIN,  # Powertools' batch processing loads asyncio
    "reconciler": NO_RESOLVER | NO_ADMIN,
}

_PROBE = """
import gc, json, sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
collections = lambda: sum(generation["collections"] for generation in gc.get_stats())
before = collections()
import app
print(json.dumps({{
    "modules": sorted(sys.modules),
    "collections": collections() - before,
    "collecting": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
}}))
"""


def grants_twilio_secret(function: template.Function) -> bool:
    policies = template.resources("AWS::Serverless::Function")[function.logical_id]["Properties"].get("Policies", [])
    return any("AWSSecretsManagerGetSecretValuePolicy" in policy for policy in policies if isinstance(policy, dict))


def is_twilio_webhook(function: template.Function) -> bool:
    """Its routes are called by Twilio, authenticated by signature: no authorizer on any of them."""
    routes = [route for route in template.routes() if route.function == function.logical_id]
    return bool(routes) and not any(route.authorized for route in routes)


def modules_loaded_by(function: template.Function) -> frozenset[str]:
    return frozenset(_init_of(function.logical_id)["modules"])


@functools.cache
def _init_of(logical_id: str) -> dict[str, Any]:
    """What importing the function's module, as Lambda's init does, loaded and left (see _PROBE)."""
    function = template.functions()[logical_id]
    found: dict[str, Any] = json.loads(
        run_probe(function, _PROBE.format(code_dir=str(function.code_dir), layer=str(LAYER)))
    )
    return found


FUNCTIONS = list(template.functions().values())
WEBHOOKS = [function for function in FUNCTIONS if is_twilio_webhook(function)]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_a_function_imports_the_twilio_rest_client_at_init_if_and_only_if_its_requests_call_twilio(
    function: template.Function,
) -> None:
    # Given a function, whether the template lets it read the Twilio credentials, and whether it is a webhook
    calls_twilio = grants_twilio_secret(function) and not is_twilio_webhook(function)
    calls_twilio = calls_twilio and function.name not in LAZY_TWILIO
    # When its module is imported, as Lambda does at init
    loaded = modules_loaded_by(function)
    # Then the SDK's REST client is loaded at init by exactly the functions whose requests call Twilio's API
    assert (TWILIO_REST_CLIENT in loaded) == calls_twilio


def test_the_template_has_the_two_twilio_webhooks_and_grants_them_the_twilio_secret() -> None:
    # Given the template's functions whose routes have no authorizer
    # Then they are the two callbacks, and may read the auth token their signature check needs
    assert {function.name for function in WEBHOOKS} == {"validation_status_webhook", "call_status_webhook"}
    assert all(grants_twilio_secret(function) for function in WEBHOOKS)


@pytest.mark.parametrize("function", WEBHOOKS, ids=lambda function: function.name)
def test_a_webhook_loads_the_signature_check_without_the_rest_client(function: template.Function) -> None:
    # Given a Twilio webhook
    # When its module is imported, as Lambda does at init
    loaded = modules_loaded_by(function)
    # Then it can check X-Twilio-Signature (RequestValidator), and does not pay for the REST client and requests
    assert TWILIO_SIGNATURE_CHECK in loaded
    assert not {TWILIO_REST_CLIENT, "requests"} & loaded


def test_every_function_has_an_import_budget() -> None:
    assert set(IMPORT_BUDGET) == {function.name for function in FUNCTIONS}


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_a_function_stays_within_its_import_budget_at_init(function: template.Function) -> None:
    # Given a function and the modules its requests never need at init
    forbidden = IMPORT_BUDGET[function.name] | {OPENAPI_MODELS}
    # When its module is imported, as Lambda does at init
    loaded = modules_loaded_by(function)
    # Then none of them is loaded (OpenAPI's request examples belong to apidoc, not to a cold start)
    assert sorted(forbidden & loaded) == []


_BUILT_OPERATOR_MODELS = """
import json, sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
import app
from robotappel.models import tenants
models = [value for value in vars(tenants).values() if isinstance(value, type) and issubclass(value, tenants.BaseModel)]
print(json.dumps(sorted(model.__name__ for model in models if model.__pydantic_complete__)))
"""


def test_an_admin_route_loads_the_operators_models_without_building_them() -> None:
    # Given an admin route, whose module of models holds every operator route's
    function = template.function_named("credit_tokens")
    # When its module is imported, as Lambda does at init
    probe = _BUILT_OPERATOR_MODELS.format(code_dir=str(function.code_dir), layer=str(LAYER))
    built = json.loads(run_probe(function, probe))
    # Then none of them is built before a request uses it (pydantic builds a deferred model at first use)
    assert built == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_a_functions_init_collects_no_garbage_and_leaves_the_collector_on(function: template.Function) -> None:
    # Given a function (robotappel.loading: the collector's passes over what init makes free nothing)
    # When its module is imported, as Lambda does at init
    init = _init_of(function.logical_id)
    # Then no collection ran during it, what it made is frozen, and the requests run with the collector on
    assert init["collections"] == 0
    assert init["frozen"] > 0
    assert init["collecting"] is True


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_a_handler_module_turns_the_collector_off_before_anything_else_and_on_at_its_end(
    function: template.Function,
) -> None:
    # Given a function's handler module, its docstring aside
    body = ast.parse(function.source.read_text()).body
    statements = body[1:] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else body
    # Then its first statement imports robotappel.loading (which turns the collector off) and its last says loaded
    assert ast.unparse(statements[0]) == "from robotappel import loading"
    assert ast.unparse(statements[-1]) == "loading.loaded()"
