"""One reconciler run: each step in turn, within a time budget, one run at a time.

Every step is idempotent (conditional writes; what it fixes leaves the index it reads) and works oldest first, so
a run cut short by its budget is resumed by the next one. Findings are counted by kind, logged and published as
metrics (`Reconciled_<kind>`); template.yaml alarms on the kinds that need an operator (README: Operating notes).
"""

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from robotappel.dal import lease
from robotappel.observability import logger, metrics
from robotappel.reconcile.holds import sweep_stale_holds

JOB = "reconciler"
# A run stops starting new work a tenth of its budget (at most 10 s) before the end, to finish and report.
MARGIN_SHARE, MAX_MARGIN_SECONDS = 0.1, 10.0


def run(budget_seconds: float) -> dict[str, int]:
    """Reconcile for at most `budget_seconds`; the findings by kind ({} when another run holds the lease)."""
    deadline = time.monotonic() + budget_seconds - min(budget_seconds * MARGIN_SHARE, MAX_MARGIN_SECONDS)

    def out_of_time() -> bool:
        return time.monotonic() >= deadline

    holder, now = uuid4().hex, datetime.now(UTC)
    if not lease.take(JOB, holder, _iso(now), _iso(now + timedelta(seconds=budget_seconds))):
        logger.info("another reconciler run is in progress")
        return {}
    try:
        findings = _steps(out_of_time)
    finally:
        lease.give_back(JOB, holder)
    for kind, count in sorted(findings.items()):
        metrics.add_metric(name=f"Reconciled_{kind}", unit="Count", value=count)
    logger.info("reconciler run done", extra={"findings": dict(findings), "outOfTime": out_of_time()})
    return dict(findings)


def _steps(out_of_time: Callable[[], bool]) -> Counter[str]:
    findings: Counter[str] = Counter()
    findings.update(sweep_stale_holds(out_of_time, owned=()))
    return findings


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
