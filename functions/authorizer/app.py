"""ApiKeyAuthorizer: resolves `Authorization: Bearer <api key>` to the caller's org and role."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from robotappel.api.authorizer import authorize
from robotappel.config import get_settings
from robotappel.observability import logger

get_settings()  # a misconfigured function fails its init, naming the variable


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event)


loading.loaded()
