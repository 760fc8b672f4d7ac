"""The reconciler on `make run`: every RECONCILE_EVERY_SECONDS, as EventBridge runs it on AWS, and at once with
`make reconcile`."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from local.server import DevServer
from robotappel.ids import iso
from tests.fixtures.server import ROOT, LocalServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]
SEED = {"orgs": [{"orgId": "org-sched", "apiKey": "sched-key", "role": "member", "tokens": 100}]}


def test_make_reconcile_runs_the_reconciler_on_the_running_server(local_server: LocalServer) -> None:
    # Given `make run` serving on some port
    port = str(urlparse(local_server.url).port)
    # When `make reconcile` is run against it
    completed = subprocess.run(
        [sys.executable, "-m", "local.reconcile"],
        cwd=ROOT,
        env={**os.environ, "PORT": port},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # Then the reconciler ran there and its findings are printed, counted by kind
    assert completed.returncode == 0, completed.stderr
    findings = json.loads(completed.stdout)
    assert "stale_hold_refunded" in findings
    assert all(isinstance(count, int) for count in findings.values())


@pytest.fixture
def scheduled_server(tmp_path: Path) -> Iterator[DevServer]:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(SEED))
    server = DevServer(seed_file=seed_file, schedule_seconds=0.5).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_server_runs_the_reconciler_on_its_schedule(scheduled_server: DevServer) -> None:
    # Given a hold left open by an invocation that died long ago, on a server reconciling every half second
    from robotappel.dal import ledger  # configured for the server's tables by its start

    stale = ledger.LedgerEntry(
        org_id="org-sched",
        entry_id="le_stale",
        route="POST /phoneNumber/buyTwilioNumberAndActivate",
        tokens=40,
        request_id="died",
        created_at=iso(datetime.now(UTC) - timedelta(hours=1)),
    )
    ledger.debit(stale, ledger.HELD)
    # When a few scheduled runs have passed (the first delivers the hold to the ledger, the next refunds it)
    deadline = time.monotonic() + 60
    while ledger.get_balance("org-sched") != 100 and time.monotonic() < deadline:
        time.sleep(0.2)
    # Then the tokens are back, without anyone asking
    assert ledger.get_balance("org-sched") == 100
