"""The smoke test's look at the reconciler's last scheduled runs (deploy/smoke.py), on moto's CloudWatch."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy import smoke
from local.aws import FAKE_CREDENTIALS
from local.lambda_runtime import REGION

RECONCILER = "robotappel-phone-numbers-dev-ReconcilerFunction-1A2B3C4D5E6F"
NOW = datetime.now(UTC)


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def ran(cloudwatch: Any, metric: str, minutes_ago: int) -> None:
    """Lambda's record of one run of the reconciler."""
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": RECONCILER}],
                "Timestamp": NOW - timedelta(minutes=minutes_ago),
                "Value": 1,
            }
        ],
    )


def test_a_reconciler_that_ran_lately_without_error_passes(cloudwatch: Any) -> None:
    ran(cloudwatch, "Invocations", minutes_ago=3)
    assert "1 runs" in smoke.reconciler_last_run(cloudwatch, RECONCILER, NOW)


def test_a_reconciler_that_has_not_run_in_two_periods_fails(cloudwatch: Any) -> None:
    ran(cloudwatch, "Invocations", minutes_ago=30)
    with pytest.raises(smoke.SmokeFailed, match="has not run"):
        smoke.reconciler_last_run(cloudwatch, RECONCILER, NOW)


def test_a_reconciler_whose_last_run_failed_fails(cloudwatch: Any) -> None:
    ran(cloudwatch, "Invocations", minutes_ago=3)
    ran(cloudwatch, "Errors", minutes_ago=3)
    with pytest.raises(smoke.SmokeFailed, match="failed 1 of its last 1 runs"):
        smoke.reconciler_last_run(cloudwatch, RECONCILER, NOW)


def test_after_a_first_deploy_the_smoke_test_waits_for_the_first_run() -> None:
    # Given a reconciler that has not run yet, then has
    runs_seen = iter([0, 1])

    def look() -> str:
        if not next(runs_seen):
            raise smoke.SmokeFailed("ReconcilerFunction has not run")
        return "ran"

    waited: list[float] = []
    # Then the smoke test waits a minute and finds the run
    assert smoke.first_reconciler_run(look, waited.append) == "ran"
    assert waited == [60]
