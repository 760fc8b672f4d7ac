"""Import cost is cold-start cost: a function loads the Twilio SDK exactly when it may call Twilio.

Whether it may is read from the template: only functions granted the Twilio secret can talk to Twilio.
"""

import json
import os
import subprocess
import sys

import pytest

from local import template

LAYER = template.ROOT / "layers" / "shared"
# Reads that may ask Twilio about a stale pending phone load the SDK only then (numbers/queries.py).
LOADS_TWILIO_ON_DEMAND = {"get_all_client_phone_numbers"}

_PROBE = """
import json, sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
import app
print(json.dumps(sorted(name for name in sys.modules if name == "twilio" or name.startswith("twilio."))))
"""


def grants_twilio_secret(function: template.Function) -> bool:
    policies = template.resources("AWS::Serverless::Function")[function.logical_id]["Properties"].get("Policies", [])
    return any("AWSSecretsManagerGetSecretValuePolicy" in policy for policy in policies if isinstance(policy, dict))


def twilio_modules_loaded_by(function: template.Function) -> list[str]:
    probe = _PROBE.format(code_dir=str(function.code_dir), layer=str(LAYER))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **template.placeholder_environment(function)},
    )
    return list(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("function", list(template.functions().values()), ids=lambda function: function.name)
def test_a_function_imports_the_twilio_sdk_at_init_if_and_only_if_it_may_call_twilio(
    function: template.Function,
) -> None:
    # Given a function, and whether the template lets it read the Twilio credentials
    calls_twilio_on_every_request = grants_twilio_secret(function) and function.name not in LOADS_TWILIO_ON_DEMAND
    # When its module is imported, as Lambda does at init
    loaded = twilio_modules_loaded_by(function)
    # Then the SDK's client is loaded at init by exactly the functions that call Twilio on every request
    assert ("twilio.rest" in loaded) == calls_twilio_on_every_request, loaded
