"""The deploy's smoke test (deploy/smoke.py) on `make run`: its keys from the operators' tool (`--local`), its
whole flow on the Twilio emulator's test numbers, every route of the template called."""

import pytest

from deploy import smoke
from tests.fixtures.server import LocalServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]


def test_the_dev_smoke_test_passes_on_a_working_stage_and_calls_every_route(local_server: LocalServer) -> None:
    # Given the smoke org's keys, issued by the operators' tool
    operator = smoke.Operator(["--local"], {"LOCAL_STAGE_FILE": str(local_server.stage_file)})
    with operator.key() as member, operator.key("admin") as admin:
        # When the dev smoke test runs its flow
        client = smoke.Client(local_server.url, member)
        smoke.whole_flow(client, admin)
    # Then it passed, having called every route of the template (so every function behind one)
    assert smoke.untested_routes(client) == set()
