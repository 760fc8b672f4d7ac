"""The one Logger and Metrics of the layer (Powertools; service and namespace come from the environment).

Logger: JSON lines, correlation id = API Gateway's request id, orgId appended per request, phone numbers masked
(personal data under the GDPR: a log line keeps the country and the last two digits, `+336******78`). Metrics: EMF
(TokensCharged, InsufficientTokens, NumbersBought, NumbersReleased, CompensationsRun, CompensationsFailed,
TwilioErrors by TwilioCode), flushed once per invocation by `robotappel.api.lambda_handler`.
"""

import re

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord

# An E.164 number, as written or percent-encoded in a URL (%2B): + then 7 to 15 digits.
_E164 = re.compile(r"(\+|%2B)(\d{3})(\d{2,10})(\d{2})(?!\d)", re.IGNORECASE)


def mask_phone_numbers(text: str) -> str:
    return _E164.sub(lambda m: f"{m[1]}{m[2]}{'*' * len(m[3])}{m[4]}", text)


class PhoneMaskingFormatter(LambdaPowertoolsFormatter):
    """Masks phone numbers in the whole line: message, extra keys and exception text alike."""

    def serialize(self, log: LogRecord) -> str:
        return mask_phone_numbers(super().serialize(log))


logger = Logger(logger_formatter=PhoneMaskingFormatter())
metrics = Metrics()
