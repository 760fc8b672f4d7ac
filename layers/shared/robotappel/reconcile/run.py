"""One reconciler run: each step in turn, each within its share of the run's time (reconcile.budget), one run at
a time.

Every step is idempotent (conditional writes; what it fixes leaves the index it reads) and keeps its cursor
(dal.cursors): a step cut short by its share resumes where it stopped in the next run, and the steps after it
still get theirs. Findings are counted by kind, logged and published as metrics (`Reconciled<Kind>`, e.g.
ReconciledUnknownNumberKept); template.yaml alarms on the kinds that need an operator (README: Operating notes).
Whether each step ran out of its time is published every run, 1 or 0 (ReconciledOutOfTime<Step>): a step
that finishes its pass in a run is not out of time in it, so its alarm, when every run of the last hour ran out,
says that its pass takes longer than the hour the README promises.
"""

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import uuid4

from robotappel.config import get_settings
from robotappel.dal import cursors, lease, numbers
from robotappel.dal.first_seen import first_seen
from robotappel.ids import iso
from robotappel.observability import logger, metrics
from robotappel.reconcile.budget import Budget
from robotappel.reconcile.caller_ids import FINDINGS as CALLER_ID_FINDINGS
from robotappel.reconcile.caller_ids import GONE_FINDINGS as GONE_CALLER_ID_FINDINGS
from robotappel.reconcile.caller_ids import reconcile_caller_ids, reconcile_gone_caller_ids
from robotappel.reconcile.destroy import FINDINGS as DESTROY_FINDINGS
from robotappel.reconcile.destroy import Brake
from robotappel.reconcile.drift import FINDINGS as DRIFT_FINDINGS
from robotappel.reconcile.holds import FINDINGS as HOLD_FINDINGS
from robotappel.reconcile.holds import sweep_stale_holds
from robotappel.reconcile.isolation import FINDINGS as ISOLATION_FINDINGS
from robotappel.reconcile.isolation import Isolation
from robotappel.reconcile.purchases import (
    GONE_FINDINGS,
    NUMBER_FINDINGS,
    PURCHASE_FINDINGS,
    reconcile_gone_numbers,
    reconcile_numbers,
    reconcile_purchases,
)
from robotappel.twilio import gateway

JOB = "reconciler"
STEP_FAILED = "step_failed"
ACCOUNT_CHANGED = "twilio_account_changed"
# The first-seen fact (dal.first_seen) naming the Twilio account the stack's credentials opened first.
TWILIO_ACCOUNT = "twilio-account"
ACCOUNT = "account"  # the Twilio account the cursors' page URLs belong to (a key of the run's positions)
# The steps' shares of a run's time, by weight (reconcile.budget): the pass over Twilio's numbers has the most
# to read; open work (purchases) and holds are few, and so are verified phones whose caller ID a pass did not see.
WEIGHTS = {
    "purchases": 1.0,
    "numbers": 4.0,
    "gone_numbers": 2.0,
    "caller_ids": 2.0,
    "gone_caller_ids": 1.0,
    "holds": 1.0,
}


def out_of_time_kind(step: str) -> str:
    """The kind of finding of a step that ran out of its time: out_of_time_<step>, 0 or 1 every run."""
    return f"out_of_time_{step}"


# Every kind of finding a run may report (each a metric, see metric_name).
FINDINGS = (
    *PURCHASE_FINDINGS,
    *NUMBER_FINDINGS,
    *GONE_FINDINGS,
    *CALLER_ID_FINDINGS,
    *GONE_CALLER_ID_FINDINGS,
    *HOLD_FINDINGS,
    *DESTROY_FINDINGS,
    *DRIFT_FINDINGS,
    *ISOLATION_FINDINGS,
    STEP_FAILED,
    ACCOUNT_CHANGED,
    *map(out_of_time_kind, WEIGHTS),
)

# A run stops starting new work a tenth of its budget (at most 10 s) before the end, to finish and report.
MARGIN_SHARE, MAX_MARGIN_SECONDS = 0.1, 10.0


def run(budget_seconds: float, *, dry_run: bool = False, clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Reconcile for at most `budget_seconds` (on `clock`); the findings by kind ({} when another run holds the
    lease). A dry run (`dry_run`, or the setting reconcile_dry_run) destroys nothing and counts what it would
    destroy."""
    deadline = clock() + budget_seconds - min(budget_seconds * MARGIN_SHARE, MAX_MARGIN_SECONDS)
    holder, now = uuid4().hex, datetime.now(UTC)
    if not lease.take(JOB, holder, iso(now), iso(now + timedelta(seconds=budget_seconds))):
        logger.info("another reconciler run is in progress")
        return {}
    try:
        findings = _steps(
            Budget(deadline, list(WEIGHTS.values()), clock), Brake(dry_run=dry_run or get_settings().reconcile_dry_run)
        )
    finally:
        lease.give_back(JOB, holder)
    for kind, count in sorted(findings.items()):
        metrics.add_metric(name=metric_name(kind), unit="Count", value=count)
    logger.info("reconciler run done", extra={"findings": dict(findings)})
    return dict(findings)


def metric_name(kind: str) -> str:
    """The metric of a kind of finding: unknown_number_kept -> ReconciledUnknownNumberKept."""
    return "Reconciled" + "".join(word.capitalize() for word in kind.split("_"))


def _steps(budget: Budget, brake: Brake) -> Counter[str]:
    """Open work first (it settles or refunds its own holds), then what no work owns. One brake for the whole run:
    the steps' irreversible actions together stay within it."""
    findings: Counter[str] = Counter(dict.fromkeys(map(out_of_time_kind, WEIGHTS), 0))
    isolation = Isolation()
    positions = _positions()
    _step("twilio_account", lambda: _same_twilio_account(brake), findings)
    steps: dict[str, Callable[[Callable[[], bool]], dict[str, int]]] = {
        "purchases": lambda out_of_time: reconcile_purchases(out_of_time, isolation, positions),
        "numbers": lambda out_of_time: reconcile_numbers(out_of_time, brake, isolation, positions),
        "gone_numbers": lambda out_of_time: reconcile_gone_numbers(out_of_time, brake, isolation, positions),
        "caller_ids": lambda out_of_time: reconcile_caller_ids(out_of_time, brake, isolation, positions),
        "gone_caller_ids": lambda out_of_time: reconcile_gone_caller_ids(out_of_time, brake, isolation, positions),
        "holds": lambda out_of_time: sweep_stale_holds(out_of_time, numbers.holds_of_open_work(), isolation, positions),
    }
    for name in WEIGHTS:
        share = budget.next_share()
        _step(name, partial(steps[name], share), findings)
        if share.ran_out:
            logger.warning("a reconciler step ran out of its time: the next run resumes it", extra={"step": name})
            findings[out_of_time_kind(name)] = 1
    findings.update(brake.findings())
    findings.update(isolation.findings)
    isolation.save()
    cursors.save_positions(positions)
    return findings


def _positions() -> dict[str, str]:
    """The steps' cursors, unless they were kept for another Twilio account (its page URLs name it): then none.
    Twilio's credentials unreadable: the cursors as kept (the steps that need Twilio fail on their own)."""
    positions = cursors.positions()
    try:
        account = gateway.parent_account_sid()
    except Exception:  # the steps report it; the cursors wait for a run that can read the credentials
        logger.exception("the Twilio account could not be read")
        return positions
    if positions.get(ACCOUNT) != account:
        logger.info("the reconciler's cursors were another Twilio account's: every step starts over")
        return {ACCOUNT: account}
    return positions


def _step(name: str, step: Callable[[], dict[str, int]], findings: Counter[str]) -> None:
    try:
        findings.update(step())
    except Exception:  # whatever stops one step, the other steps still run
        # Twilio or DynamoDB unavailable, or a bug: this step runs again next time.
        logger.exception("reconciler step failed", extra={"step": name})
        findings[STEP_FAILED] += 1


def _same_twilio_account(brake: Brake) -> dict[str, int]:
    """Credentials of another account (rotated wrongly, or another stage's) make every record look gone and every
    number look foreign: the run then destroys nothing, and alarms."""
    account = gateway.parent_account_sid()
    if first_seen(TWILIO_ACCOUNT, account) == account:
        return {}
    brake.stop(ACCOUNT_CHANGED)
    return {ACCOUNT_CHANGED: 1}
