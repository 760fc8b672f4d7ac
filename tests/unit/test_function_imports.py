"""Import cost is cold-start cost: a function loads the Twilio SDK exactly when it may call Twilio, and nothing
that only documents it.

Whether it may call Twilio is read from the template: only functions granted the Twilio secret can talk to Twilio.
"""

import functools
import json
import os
import subprocess
import sys

import pytest

from local import template

LAYER = template.ROOT / "layers" / "shared"
# Powertools' OpenAPI models: about 100 ms of cold start, needed only to build the document (apidoc).
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"

_PROBE = """
import json, sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
import app
print(json.dumps(sorted(sys.modules)))
"""


def grants_twilio_secret(function: template.Function) -> bool:
    policies = template.resources("AWS::Serverless::Function")[function.logical_id]["Properties"].get("Policies", [])
    return any("AWSSecretsManagerGetSecretValuePolicy" in policy for policy in policies if isinstance(policy, dict))


def modules_loaded_by(function: template.Function) -> frozenset[str]:
    return _modules_loaded_by(function.logical_id)


@functools.cache
def _modules_loaded_by(logical_id: str) -> frozenset[str]:
    function = template.functions()[logical_id]
    probe = _PROBE.format(code_dir=str(function.code_dir), layer=str(LAYER))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **template.placeholder_environment(function)},
    )
    return frozenset(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("function", list(template.functions().values()), ids=lambda function: function.name)
def test_a_function_imports_the_twilio_sdk_at_init_if_and_only_if_it_may_call_twilio(
    function: template.Function,
) -> None:
    # Given a function, and whether the template lets it read the Twilio credentials
    may_call_twilio = grants_twilio_secret(function)
    # When its module is imported, as Lambda does at init
    loaded = modules_loaded_by(function)
    # Then the SDK's client is loaded at init by exactly the functions that may call Twilio
    assert ("twilio.rest" in loaded) == may_call_twilio


@pytest.mark.parametrize("function", list(template.functions().values()), ids=lambda function: function.name)
def test_a_function_does_not_load_the_openapi_models_at_init(function: template.Function) -> None:
    # Given a function
    # When its module is imported, as Lambda does at init
    loaded = modules_loaded_by(function)
    # Then Powertools' OpenAPI models are not among its modules (request examples belong to apidoc)
    assert OPENAPI_MODELS not in loaded
