"""DynamoDB streams without AWS: what Lambda's event source mapping does for a function fed by a table's stream.

`StreamDelivery.deliver()` reads the records a moto table's stream has gained, and hands them in batches, as a
Lambda DynamoDB stream event, to `invoke` (the function). Like `ReportBatchItemFailures`, a batch that reports
failures is kept from its first failed record and delivered again, in order, on the next call; so is a batch
whose invocation failed.

`poll` delivers every POLL_SECONDS, as Lambda's event source mapping polls the stream: what anyone writes (a request,
the operators' tool `--local`, the seed) reaches the consumer within about a second, as on AWS. The dev server also
delivers after every request, before answering, so that what a request changed is consumed when its response
arrives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)
# Lambda polls each shard of a DynamoDB stream several times a second; twice is enough for "about a second".
POLL_SECONDS = 0.5

Invoke = Callable[[dict[str, Any]], Any]


class StreamDelivery:
    def __init__(self, dynamodb: Any, streams: Any, table_name: str, invoke: Invoke, batch_size: int = 100) -> None:
        self._streams = streams
        self._invoke = invoke
        self._batch_size = batch_size
        self._stream_arn: str = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._region: str = dynamodb.meta.region_name
        # shard id -> the sequence number of the last record read: each delivery asks for a new iterator after it,
        # as Lambda's event source mapping checkpoints. (An iterator kept across deliveries would be lost for good
        # when moto rolls a failed transaction back: it restores a copy of the table, stream shard included, and an
        # old iterator goes on reading the shard that was replaced.)
        self._checkpoints: dict[str, str] = {}
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def deliver(self, *, if_idle: bool = False) -> None:
        """Deliver what the stream has gained. `if_idle` (the poller): not while another delivery is under way, which
        requests are already waiting for; what that one does not read, the next poll does."""
        if not self._lock.acquire(blocking=not if_idle):
            return
        try:
            self._deliver()
        finally:
            self._lock.release()

    def _deliver(self) -> None:
        self._read_new_records()
        while self._pending:
            batch = self._pending[: self._batch_size]
            try:
                response = self._invoke({"Records": batch})
            except Exception:
                LOG.exception("stream batch of %s failed: delivered again on the next delivery", self._stream_arn)
                return
            failures = (response or {}).get("batchItemFailures") or []
            if failures:
                first = min(failure["itemIdentifier"] for failure in failures)
                retry_from = next(i for i, record in enumerate(batch) if record["dynamodb"]["SequenceNumber"] == first)
                LOG.error("stream records failed from %s: delivered again on the next delivery", first)
                del self._pending[:retry_from]
                return
            del self._pending[: len(batch)]

    def _read_new_records(self) -> None:
        """Every record past the checkpoints into `_pending`, page by page: a read that fails midway keeps what it
        read before, as the checkpoints have moved past it."""
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            checkpoint = self._checkpoints.get(shard_id)
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
                if checkpoint
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard_id, **position)[
                "ShardIterator"
            ]
            while iterator:
                page = self._streams.get_records(ShardIterator=iterator)
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator", "")
                self._pending.extend(self._as_lambda_record(record) for record in page["Records"])
                self._checkpoints[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]

    def _as_lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if created is not None:  # boto3 parsed it; Lambda's event has epoch seconds
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": change,
            "eventSourceARN": self._stream_arn,
        }


def poll(
    deliveries: list[StreamDelivery],
    stopping: threading.Event,
    idle: Callable[[], bool],
    every: float = POLL_SECONDS,
) -> threading.Thread:
    """A thread delivering each stream every `every` seconds until `stopping` is set, when `idle()`: while requests
    are served, their own deliveries read the stream, and a poll among them only slows them down."""

    def deliver_until_stopped() -> None:
        while not stopping.wait(every):
            if not idle():
                continue
            for delivery in deliveries:
                try:
                    delivery.deliver(if_idle=True)
                except Exception:  # moto unreachable for a moment: the records stay in the stream for the next poll
                    LOG.exception("reading the stream failed; tried again in %ss", every)

    thread = threading.Thread(target=deliver_until_stopped, name="stream-poller", daemon=True)
    thread.start()
    return thread
