"""What to do when Twilio has changed and the transaction that records the change (with its charge) failed."""

from typing import Any

from robotappel.dal.dynamodb import Write, transact
from robotappel.observability import logger, metrics


def record_without_charge(state_change: list[Write], **reconcile: Any) -> None:
    """Twilio's side cannot be undone (a released number, a deleted caller ID): write the state change alone, so
    no record points to something Twilio no longer has. The call still fails and is not charged."""
    metrics.add_metric(name="CompensationsRun", unit="Count", value=1)
    try:
        transact(state_change)
    except Exception:
        # Reconcile by hand: the record still describes what Twilio no longer has.
        logger.exception("COMPENSATION_FAILED: Twilio change not recorded", extra=reconcile)
        metrics.add_metric(name="CompensationsFailed", unit="Count", value=1)
