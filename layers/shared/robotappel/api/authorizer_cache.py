"""This stage's API Gateway authorizer cache, flushed when a key is revoked: API Gateway would otherwise keep
allowing the key from its cached answer for up to ReauthorizeEvery (300 s)."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from robotappel.observability import logger, metrics
from robotappel.snapstart import after_restore


@cache
def _client() -> Any:  # the API Gateway management API (the stubs this project installs are DynamoDB's)
    return boto3.client("apigateway", config=Config(retries={"mode": "standard", "max_attempts": 3}))


after_restore(_client.cache_clear)


def flush_authorizer_cache(app: APIGatewayRestResolver) -> None:
    """Flush the cache of the stage this request came through (its API id and stage name)."""
    request_context = app.current_event.request_context
    try:
        _client().flush_stage_authorizers_cache(restApiId=request_context.api_id, stageName=request_context.stage)
    except (BotoCoreError, ClientError) as error:
        # The revocation stands: admin routes re-check their key at every call, and a member key's cached answer
        # expires within ReauthorizeEvery. The metric says a flush failed (a missing permission would, always).
        logger.warning("authorizer cache not flushed", extra={"errorType": type(error).__name__})
        metrics.add_metric(name="AuthorizerCacheNotFlushed", unit=MetricUnit.Count, value=1)
