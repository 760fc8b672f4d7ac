"""local/sam-local-env.json: `sam local invoke --env-vars` points the functions (in docker) at `make run`."""

import json
from pathlib import Path
from typing import Any

from samcli.local.lambdafn.env_vars import EnvironmentVariables

from local import template
from local.aws import TWILIO_SECRET_NAME, table_name
from local.server import AWS_PORT_OFFSET, DEFAULT_PORT, HOST, TWILIO_PORT_OFFSET

ENV_FILE = Path(__file__).resolve().parents[2] / "local" / "sam-local-env.json"


def file_overrides() -> dict[str, str]:
    """The file's values for every function: its "Parameters", as sam reads it."""
    overrides: dict[str, str] = json.loads(ENV_FILE.read_text())["Parameters"]
    return overrides


def test_sam_gives_every_function_each_value_of_the_file() -> None:
    overrides = file_overrides()
    for function in template.functions().values():
        # Given a function's variables as the template declares them
        # When sam resolves its environment with the file's overrides
        resolved: dict[str, Any] = EnvironmentVariables(
            function_name=function.logical_id, variables=function.environment, override_values=overrides
        ).resolve()
        # Then every value of the file reaches it (sam drops overrides of variables the template does not declare)
        assert {name: resolved.get(name) for name in overrides} == overrides, function.logical_id


def test_the_file_names_the_endpoints_tables_and_secret_of_make_run() -> None:
    # Given the template's table variables (NUMBERS_TABLE: !Ref NumbersTable, ...)
    variables = template.load()["Globals"]["Function"]["Environment"]["Variables"]
    tables = {
        name: table_name(value["Ref"])
        for name, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in template.tables()
    }
    aws = f"http://{HOST}:{DEFAULT_PORT + AWS_PORT_OFFSET}"
    # Then the file gives what `make run` serves on its default PORT
    assert file_overrides() == {
        **tables,
        "AWS_ENDPOINT_URL_DYNAMODB": aws,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws,
        # API Gateway's management API: the dev server's gateway (it forwards keys and plans to moto)
        "AWS_ENDPOINT_URL_API_GATEWAY": f"http://{HOST}:{DEFAULT_PORT}",
        "TWILIO_API_BASE_URL": f"http://{HOST}:{DEFAULT_PORT + TWILIO_PORT_OFFSET}",
        "TWILIO_NUMBERS_BASE_URL": f"http://{HOST}:{DEFAULT_PORT + TWILIO_PORT_OFFSET}",
        "TWILIO_SECRET_ID": TWILIO_SECRET_NAME,
        "PUBLIC_BASE_URL": f"http://{HOST}:{DEFAULT_PORT}",
    }
