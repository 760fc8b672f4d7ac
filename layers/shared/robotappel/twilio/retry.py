"""Bounded retries with exponential backoff and full jitter (AWS blog "Exponential Backoff And Jitter")."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_seconds: float = 0.2
    max_delay_seconds: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random_fraction: Callable[[], float] = field(default=random.random, compare=False)

    def delay_before_retry(self, retry_number: int) -> float:
        """Full jitter, uniform in [0, min(cap, base * 2**n)]: concurrent callers do not retry in lockstep."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0**retry_number)
        return ceiling * self.random_fraction()


DEFAULT_POLICY = RetryPolicy()


def call_with_retries(
    operation: Callable[[], T],
    is_retryable: Callable[[Exception], bool],
    policy: RetryPolicy = DEFAULT_POLICY,
) -> T:
    """Run `operation`; after a retryable exception wait and try again, `policy.max_attempts` times in all.

    The last exception is re-raised as it is, so the caller maps it once.
    """
    for retry_number in range(policy.max_attempts - 1):
        try:
            return operation()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            policy.sleep(policy.delay_before_retry(retry_number))
    return operation()
