"""One reconciler run: each step in turn, within a time budget, one run at a time.

Every step is idempotent (conditional writes; what it fixes leaves the index it reads) and works oldest first,
so a run cut short by its budget is resumed by the next one. Findings are counted by kind, logged and published
as metrics (`Reconciled<Kind>`, e.g. ReconciledUnknownNumberKept); template.yaml alarms on the kinds that need
an operator (README: Operating notes).
"""

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from robotappel.config import get_settings
from robotappel.dal import lease, numbers
from robotappel.dal.first_seen import first_seen
from robotappel.ids import iso
from robotappel.observability import logger, metrics
from robotappel.reconcile.caller_ids import FINDINGS as CALLER_ID_FINDINGS
from robotappel.reconcile.caller_ids import reconcile_caller_ids
from robotappel.reconcile.destroy import FINDINGS as DESTROY_FINDINGS
from robotappel.reconcile.destroy import Brake
from robotappel.reconcile.drift import FINDINGS as DRIFT_FINDINGS
from robotappel.reconcile.holds import FINDINGS as HOLD_FINDINGS
from robotappel.reconcile.holds import sweep_stale_holds
from robotappel.reconcile.isolation import FINDINGS as ISOLATION_FINDINGS
from robotappel.reconcile.isolation import Isolation
from robotappel.reconcile.purchases import (
    NUMBER_FINDINGS,
    PURCHASE_FINDINGS,
    reconcile_numbers,
    reconcile_purchases,
)
from robotappel.twilio import gateway

JOB = "reconciler"
STEP_FAILED = "step_failed"
ACCOUNT_CHANGED = "twilio_account_changed"
# The first-seen fact (dal.first_seen) naming the Twilio account the stack's credentials opened first.
TWILIO_ACCOUNT = "twilio-account"
# Every kind of finding a run may report (each a metric, see metric_name).
FINDINGS = (
    *PURCHASE_FINDINGS,
    *NUMBER_FINDINGS,
    *CALLER_ID_FINDINGS,
    *HOLD_FINDINGS,
    *DESTROY_FINDINGS,
    *DRIFT_FINDINGS,
    *ISOLATION_FINDINGS,
    STEP_FAILED,
    ACCOUNT_CHANGED,
)
# A run stops starting new work a tenth of its budget (at most 10 s) before the end, to finish and report.
MARGIN_SHARE, MAX_MARGIN_SECONDS = 0.1, 10.0


def run(budget_seconds: float, *, dry_run: bool = False) -> dict[str, int]:
    """Reconcile for at most `budget_seconds`; the findings by kind ({} when another run holds the lease). A dry
    run (`dry_run`, or the setting reconcile_dry_run) destroys nothing and counts what it would destroy."""
    deadline = time.monotonic() + budget_seconds - min(budget_seconds * MARGIN_SHARE, MAX_MARGIN_SECONDS)

    def out_of_time() -> bool:
        return time.monotonic() >= deadline

    holder, now = uuid4().hex, datetime.now(UTC)
    if not lease.take(JOB, holder, iso(now), iso(now + timedelta(seconds=budget_seconds))):
        logger.info("another reconciler run is in progress")
        return {}
    try:
        findings = _steps(out_of_time, Brake(dry_run=dry_run or get_settings().reconcile_dry_run))
    finally:
        lease.give_back(JOB, holder)
    for kind, count in sorted(findings.items()):
        metrics.add_metric(name=metric_name(kind), unit="Count", value=count)
    logger.info("reconciler run done", extra={"findings": dict(findings), "outOfTime": out_of_time()})
    return dict(findings)


def metric_name(kind: str) -> str:
    """The metric of a kind of finding: unknown_number_kept -> ReconciledUnknownNumberKept."""
    return "Reconciled" + "".join(word.capitalize() for word in kind.split("_"))


def _steps(out_of_time: Callable[[], bool], brake: Brake) -> Counter[str]:
    """Open work first (it settles or refunds its own holds), then what no work owns. One brake for the whole run:
    the steps' irreversible actions together stay within it."""
    findings: Counter[str] = Counter()
    isolation = Isolation()
    steps: list[Callable[[], dict[str, int]]] = [
        lambda: _same_twilio_account(brake),
        lambda: reconcile_purchases(out_of_time, isolation),
        lambda: reconcile_numbers(out_of_time, brake, isolation),
        lambda: reconcile_caller_ids(out_of_time, brake, isolation),
        lambda: sweep_stale_holds(out_of_time, owned=numbers.holds_of_open_work()),
    ]
    for step in steps:
        try:
            findings.update(step())
        except Exception:  # whatever stops one step, the other steps still run
            # Twilio or DynamoDB unavailable, or a bug: this step runs again next time.
            logger.exception("reconciler step failed")
            findings[STEP_FAILED] += 1
    findings.update(brake.findings())
    findings.update(isolation.findings)
    isolation.save()
    return findings


def _same_twilio_account(brake: Brake) -> dict[str, int]:
    """Credentials of another account (rotated wrongly, or another stage's) make every record look gone and every
    number look foreign: the run then destroys nothing, and alarms."""
    account = gateway.account_sid()
    if first_seen(TWILIO_ACCOUNT, account) == account:
        return {}
    brake.stop(ACCOUNT_CHANGED)
    return {ACCOUNT_CHANGED: 1}
