"""Bounded retries with exponential backoff and full jitter."""

import pytest

from robotappel.twilio.retry import RetryPolicy, call_with_retries


class Flaky:
    """Fails with `error` the first `failures` calls, then returns "done"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def always(_: Exception) -> bool:
    return True


def never(_: Exception) -> bool:
    return False


def policy(delays: list[float], fraction: float = 1.0, max_attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts,
        base_delay_seconds=0.1,
        max_delay_seconds=0.3,
        sleep=delays.append,
        random_fraction=lambda: fraction,
    )


def test_a_retryable_failure_is_retried_until_success() -> None:
    # Given an operation that fails twice with a retryable error, then succeeds
    operation = Flaky(failures=2, error=ConnectionError())
    # When it is called with retries
    result = call_with_retries(operation, always, policy([]))
    # Then its result is returned after three attempts
    assert (result, operation.calls) == ("done", 3)


def test_retries_stop_after_the_maximum_attempts_with_the_last_error() -> None:
    # Given an operation that always fails with a retryable error
    error = ConnectionError("still down")
    operation = Flaky(failures=99, error=error)
    # When it is called with at most three attempts
    with pytest.raises(ConnectionError) as raised:
        call_with_retries(operation, always, policy([], max_attempts=3))
    # Then it was tried three times and the last error surfaces unchanged
    assert operation.calls == 3
    assert raised.value is error


def test_a_non_retryable_failure_is_raised_at_once() -> None:
    # Given an operation failing with an error that is not safe to retry
    operation = Flaky(failures=1, error=TimeoutError())
    # When it is called with retries
    with pytest.raises(TimeoutError):
        call_with_retries(operation, never, policy([]))
    # Then it was tried only once
    assert operation.calls == 1


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    # Given a policy of base 0.1 s, cap 0.3 s, and jitter at its maximum
    delays: list[float] = []
    # When an operation fails four times out of five attempts
    call_with_retries(Flaky(failures=4, error=ConnectionError()), always, policy(delays, max_attempts=5))
    # Then the waits double each time, never beyond the cap
    assert delays == pytest.approx([0.1, 0.2, 0.3, 0.3])


def test_full_jitter_scales_each_delay_by_a_random_fraction() -> None:
    # Given jitter drawing a quarter of the ceiling
    delays: list[float] = []
    # When an operation fails twice
    call_with_retries(Flaky(failures=2, error=ConnectionError()), always, policy(delays, fraction=0.25))
    # Then each wait is a quarter of its exponential ceiling
    assert delays == pytest.approx([0.025, 0.05])


def test_success_at_first_attempt_never_sleeps() -> None:
    # Given an operation that succeeds
    delays: list[float] = []
    # When it is called with retries
    call_with_retries(Flaky(failures=0, error=ConnectionError()), always, policy(delays))
    # Then nothing waited
    assert delays == []
