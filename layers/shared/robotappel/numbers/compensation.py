"""What to do when Twilio has changed and the transaction that records the change (with its charge) failed."""

from typing import TYPE_CHECKING, Any

from robotappel.dal.dynamodb import transact
from robotappel.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def record_without_charge(state_change: list["TransactWriteItemTypeDef"], **reconcile: Any) -> None:
    """Twilio's side cannot be undone (a released number, a deleted caller ID): write the state change alone, so
    no record points to something Twilio no longer has. The call still fails and is not charged."""
    metrics.add_metric(name="CompensationsRun", unit="Count", value=1)
    try:
        transact(state_change)
    except Exception:
        # Reconcile by hand: the record still describes what Twilio no longer has.
        logger.exception("COMPENSATION_FAILED: Twilio change not recorded", extra=reconcile)
        metrics.add_metric(name="CompensationsFailed", unit="Count", value=1)
