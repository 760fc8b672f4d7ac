"""Scheduled (EventBridge, template.yaml): one reconciler run, within the invocation's remaining time.

See robotappel.reconcile: what a failure between us and Twilio left behind, found and set right.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from robotappel.config import get_settings
from robotappel.observability import logger, metrics
from robotappel.reconcile.run import run

get_settings()  # a misconfigured function fails its init, naming the variable


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # {"dryRun": true} (make reconcile DRY_RUN=1): a run that reports what it would destroy, as the setting does.
    return run(context.get_remaining_time_in_millis() / 1000, dry_run=event.get("dryRun") is True)


loading.loaded()
