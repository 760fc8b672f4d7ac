"""The dev server's stand-in for API Gateway's usage plan throttling, per org (local.gateway.OrgThrottle)."""

from local.gateway import OrgThrottle
from local.template import Throttle

PLAN = Throttle(rate_limit=2.0, burst_limit=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_org_gets_its_burst_then_is_refused() -> None:
    throttle = OrgThrottle(PLAN, Clock())
    assert [throttle.admit("org-a") for _ in range(PLAN.burst_limit + 1)] == [True, True, True, False]


def test_one_orgs_burst_does_not_throttle_another() -> None:
    # Given org-a, throttled after its burst
    throttle = OrgThrottle(PLAN, Clock())
    while throttle.admit("org-a"):
        pass
    # When org-b calls at that moment
    # Then it has its own whole burst
    assert [throttle.admit("org-b") for _ in range(PLAN.burst_limit)] == [True] * PLAN.burst_limit


def test_the_bucket_refills_at_the_plans_rate() -> None:
    # Given org-a, throttled after its burst
    clock = Clock()
    throttle = OrgThrottle(PLAN, clock)
    while throttle.admit("org-a"):
        pass
    # When half a second passes (rate 2/s: one request)
    clock.now += 0.5
    # Then one more request passes, and not two
    assert [throttle.admit("org-a"), throttle.admit("org-a")] == [True, False]


def test_without_a_plan_nothing_is_throttled() -> None:
    throttle = OrgThrottle(None, Clock())
    assert all(throttle.admit("org-a") for _ in range(1000))
