"""TokensTable stream -> token ledger: writes the ledger entry each account change made (see robotappel.dal.ledger).

Partial batch responses: a batch is retried from its first failed record, in order; the writes are idempotent.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from robotappel.config import get_settings
from robotappel.observability import logger
from robotappel.tokens.ledger_stream import record_ledger_entry

get_settings()  # a misconfigured function fails its init, naming the variable

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_ledger_entry, processor=processor, context=context
    )


loading.loaded()
