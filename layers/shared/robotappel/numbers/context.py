"""What a number use case knows of the HTTP call it serves."""

from dataclasses import dataclass

from aws_lambda_powertools.utilities.typing import LambdaContext

from robotappel.caller import Caller
from robotappel.tokens.meter import TokenMeter


@dataclass(frozen=True)
class CallContext:
    """Who calls, the meter the call pays with, where Twilio calls back, and the invocation (its deadline)."""

    caller: Caller
    meter: TokenMeter
    public_base_url: str
    lambda_context: LambdaContext | None = None
