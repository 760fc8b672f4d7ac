"""The one Logger and Metrics of the layer (Powertools; service and namespace come from the environment).

Logger: JSON lines, correlation id = API Gateway's request id, orgId appended per request. Metrics: EMF
(TokensCharged, InsufficientTokens, NumbersBought, NumbersReleased, CompensationsRun, CompensationsFailed,
TwilioErrors by TwilioCode), flushed once per invocation by `robotappel.api.lambda_handler`.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
