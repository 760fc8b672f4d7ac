"""pytest plugin: at the end of a run, the AWS calls every function made (calls.py) checked against its role as
deployed (deployed.py, check.py). A call the role does not allow fails the run; so does, after a run of the whole
suite (pytest's testpaths, nothing deselected, every test passed), a grant no call used.

Under pytest-xdist each worker records its own calls and hands them to the controller with its results
(`workeroutput`); the controller checks them all at once.
"""

from collections.abc import Generator
from dataclasses import astuple
from typing import Any

import pytest
from botocore.client import BaseClient

from local import template
from tests.iam import calls, check, deployed

_CALLS = "iam_calls"
_DESELECTED = "iam_deselected"


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(IamCheck(config), "iam-check")


class IamCheck:
    def __init__(self, config: pytest.Config) -> None:
        self.worker_output: dict[str, Any] | None = getattr(config, "workeroutput", None)
        self.whole_suite = config.args_source is pytest.Config.ArgsSource.TESTPATHS
        self.deselected = False
        self.calls: set[calls.Call] = set()
        self.failure: list[str] = []
        self._patch = pytest.MonkeyPatch()
        self._patch.setattr(BaseClient, "_make_api_call", calls.recording(BaseClient._make_api_call))  # type: ignore[attr-defined]

    def pytest_unconfigure(self) -> None:
        self._patch.undo()

    def pytest_deselected(self) -> None:
        self.deselected = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        output = getattr(node, "workeroutput", {})
        self.calls |= {calls.Call(*call) for call in output.get(_CALLS, [])}
        self.deselected |= output.get(_DESELECTED, True)

    def pytest_sessionfinish(self) -> None:
        if self.worker_output is not None:
            self.worker_output[_CALLS] = [astuple(call) for call in calls.recorded()]
            self.worker_output[_DESELECTED] = self.deselected

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        result = yield
        if self.worker_output is None:
            self.calls |= calls.recorded()
            everything_ran = (
                self.whole_suite
                and not (self.deselected or session.config.option.collectonly)
                and not session.testsfailed
            )
            if self.calls or everything_ran:
                self.failure = self._check(everything_ran)
            if self.failure:
                session.testsfailed += 1
        return result

    def _check(self, everything_ran: bool) -> list[str]:
        functions = deployed.functions(template.load())
        denied = check.denied(self.calls, functions)
        return check.report(denied, check.unused(self.calls, functions) if everything_ran else None)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.failure:
            terminalreporter.write_sep("=", "IAM: template.yaml's policies as deployed vs the calls made", red=True)
            for line in self.failure:
                terminalreporter.write_line(line)
