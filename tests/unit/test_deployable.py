"""What a first deploy into a fresh AWS account needs from template.yaml and the workflows (#23), read from them."""

import os
import re
import subprocess
from typing import Any

import yaml

from local import template

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
