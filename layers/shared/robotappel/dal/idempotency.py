"""Idempotency-Keys of purchases (IdempotencyTable: id): which purchase a key names, and which invocation runs it.

id = '["<orgId>", "<key>"]' -> {numberId, bodyHash, expiration (TTL: 24 h after the first use), leaseUntil (epoch
                                seconds: until then one invocation runs the purchase), leaseId}

A key names one purchase (`numberId`: the id of its intent and of the number it becomes, the tag Twilio knows it
by) from its first use on, whatever answer that use got: a retry resumes that purchase, it never starts another.
"""

import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from robotappel.config import get_settings
from robotappel.dal.dynamodb import ConditionFailed, to_ddb, update, values

KEY_SECONDS = 24 * 3600
KEY = "idempotency_key"


@dataclass(frozen=True)
class KeyLease:
    """The purchase a key names (`number_id`), leased to this invocation (`lease_id`); `first` when this is the
    key's first use (nothing of its purchase can exist yet)."""

    item_id: str
    number_id: str
    lease_id: str
    first: bool


class KeyBodyDiffers(Exception):
    """The key names a purchase of another request body."""


class KeyBusy(Exception):
    """Another invocation runs the key's purchase, for `retry_after_seconds` at most."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"in progress for {retry_after_seconds} s more at most")
        self.retry_after_seconds = retry_after_seconds


def _table() -> str:
    return get_settings().idempotency_table


def claim(org_id: str, key: str, body_hash: str, number_id: str, seconds: float) -> KeyLease:
    """The purchase `key` names (`number_id` if the key is new, or past its 24 hours), leased to this invocation
    for `seconds`.

    KeyBodyDiffers if the key was used with another body; KeyBusy if another invocation's lease still runs. A key
    past its expiration is a new key, though its item is still there: DynamoDB's TTL deletes late (up to days)."""
    item_id = json.dumps([org_id, key])
    now, lease_id = time.time(), uuid.uuid4().hex
    common = {
        "TableName": _table(),
        "Key": to_ddb({"id": item_id}),
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    new_key = values(
        number=number_id,
        hash=body_hash,
        expiration=int(now + KEY_SECONDS),
        until=_decimal(now + seconds),
        lease=lease_id,
    )
    try:
        stored = update(
            KEY,
            **common,
            UpdateExpression=(
                "SET numberId = if_not_exists(numberId, :number), bodyHash = if_not_exists(bodyHash, :hash), "
                "expiration = if_not_exists(expiration, :expiration), leaseUntil = :until, leaseId = :lease"
            ),
            ConditionExpression=(
                "attribute_not_exists(id) OR (expiration > :now AND bodyHash = :hash AND leaseUntil < :now)"
            ),
            ExpressionAttributeValues={**new_key, **values(now=_decimal(now))},
        )
    except ConditionFailed as failure:
        held: dict[str, Any] = failure.old_item(KEY)
        if int(held["expiration"]) > now:
            if held.get("bodyHash") != body_hash:
                raise KeyBodyDiffers from failure
            raise KeyBusy(max(1, round(float(held["leaseUntil"]) - now))) from failure
        try:
            stored = update(
                KEY,
                **common,
                UpdateExpression=(
                    "SET numberId = :number, bodyHash = :hash, expiration = :expiration, leaseUntil = :until, "
                    "leaseId = :lease"
                ),
                ConditionExpression="expiration = :expired",  # not renewed meanwhile by another invocation
                ExpressionAttributeValues={**new_key, **values(expired=held["expiration"])},
            )
        except ConditionFailed:
            return claim(org_id, key, body_hash, number_id, seconds)  # it was: the key as that one left it
    return KeyLease(item_id, str(stored["numberId"]), lease_id, first=stored["numberId"] == number_id)


def release(lease: KeyLease) -> None:
    """This invocation is done with the key (answered, or failed): a retry may resume at once."""
    try:
        update(
            KEY,
            TableName=_table(),
            Key=to_ddb({"id": lease.item_id}),
            UpdateExpression="SET leaseUntil = :zero",
            ConditionExpression="leaseId = :lease",
            ExpressionAttributeValues=values(zero=0, lease=lease.lease_id),
        )
    except ConditionFailed:
        return  # the lease ran out and another invocation took it over


def _decimal(seconds: float) -> Decimal:
    """Epoch seconds to the millisecond (DynamoDB numbers are decimals, not floats)."""
    return Decimal(f"{seconds:.3f}")
