"""The dev server's stand-in for API Gateway's usage plans, counted per API key (local.gateway.UsagePlanLimits)."""

from datetime import date, timedelta

import pytest

from local.gateway import GatewayError, Plan, UsagePlanLimits

PLAN = Plan("default", rate_limit=2.0, burst_limit=3, daily_quota=10)
LARGE = Plan("large", rate_limit=2.0, burst_limit=6, daily_quota=20)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.day = date(2026, 12, 2)

    def __call__(self) -> float:
        return self.now

    def today(self) -> date:
        return self.day


def limits(plans: dict[str, Plan], clock: Clock) -> UsagePlanLimits:
    return UsagePlanLimits(plans.get, clock, clock.today)


def outcomes(limits: UsagePlanLimits, key: str, count: int) -> list[str]:
    """What each of `count` requests of the API key `key` gets: "ok" or the gateway response type."""
    found = []
    for _ in range(count):
        try:
            limits.check(key)
            found.append("ok")
        except GatewayError as refused:
            found.append(refused.response_type)
    return found


def test_a_key_gets_its_plans_burst_then_is_throttled() -> None:
    plans = limits({"key-a": PLAN}, Clock())
    assert outcomes(plans, "key-a", PLAN.burst_limit + 1) == ["ok"] * PLAN.burst_limit + ["THROTTLED"]


def test_one_keys_burst_does_not_throttle_another() -> None:
    # Given key-a, throttled after its burst
    plans = limits({"key-a": PLAN, "key-b": PLAN}, Clock())
    outcomes(plans, "key-a", PLAN.burst_limit + 1)
    # When key-b calls at that moment / Then it has its own whole burst
    assert outcomes(plans, "key-b", PLAN.burst_limit) == ["ok"] * PLAN.burst_limit


def test_the_bucket_refills_at_the_plans_rate() -> None:
    # Given key-a, throttled after its burst
    clock = Clock()
    plans = limits({"key-a": PLAN}, clock)
    outcomes(plans, "key-a", PLAN.burst_limit + 1)
    # When half a second passes (rate 2/s: one request) / Then one more request passes, and not two
    clock.now += 0.5
    assert outcomes(plans, "key-a", 2) == ["ok", "THROTTLED"]


def test_past_its_daily_quota_a_key_is_refused_until_the_next_day() -> None:
    # Given key-a, which used its daily quota (slowly enough never to be throttled)
    clock = Clock()
    plans = limits({"key-a": PLAN}, clock)
    for _ in range(PLAN.daily_quota or 0):
        clock.now += 1
        assert outcomes(plans, "key-a", 1) == ["ok"]
    # When it calls again that day / Then QUOTA_EXCEEDED; the next day it is served again
    clock.now += 1
    assert outcomes(plans, "key-a", 1) == ["QUOTA_EXCEEDED"]
    clock.day += timedelta(days=1)
    assert outcomes(plans, "key-a", 1) == ["ok"]


def test_a_key_moved_to_a_larger_plan_gets_its_burst() -> None:
    # Given key-a, throttled in the default plan
    clock = Clock()
    plans = {"key-a": PLAN}
    limited = limits(plans, clock)
    outcomes(limited, "key-a", PLAN.burst_limit + 1)
    # When an operator moves it to the large plan / Then the large plan's burst counts from then on
    plans["key-a"] = LARGE
    assert outcomes(limited, "key-a", LARGE.burst_limit + 1) == ["ok"] * LARGE.burst_limit + ["THROTTLED"]


@pytest.mark.parametrize("key", [None, "key-nowhere"])
def test_a_key_in_no_plan_is_refused_as_api_gateway_refuses_it(key: str | None) -> None:
    assert outcomes(limits({"key-a": PLAN}, Clock()), key or "", 1) == ["INVALID_API_KEY"]
