"""Each org's Twilio subaccount (NumbersTable, sk "twilio-account" in the org's partition): {accountSid, createdAt},
in GSI byTwilioSid as kind "account", so that a callback's AccountSid finds its org and the reconciler walks every
subaccount in SID order. Written once: an org's subaccount never changes."""

from collections.abc import Iterator
from dataclasses import dataclass

from robotappel.config import get_settings
from robotappel.dal.dynamodb import client, from_ddb, query_items, to_ddb, unavailable_on_throttling, update, values

SK = "twilio-account"
KIND = "account"  # twilioKind in GSI byTwilioSid
SUBACCOUNT = "subaccount"  # the write's name: fails when the org has one already
_INDEX = "byTwilioSid"


@dataclass(frozen=True)
class Subaccount:
    org_id: str
    account_sid: str


def _table() -> str:
    return get_settings().numbers_table


def of_org(org_id: str) -> str | None:
    """The SID of the org's subaccount; None when it has none yet."""
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=to_ddb({"orgId": org_id, "sk": SK}), ConsistentRead=True)
    sid = from_ddb(response.get("Item", {})).get("twilioSid")
    return str(sid) if sid else None


def record(org_id: str, account_sid: str, created_at: str) -> None:
    """Record the org's subaccount; SUBACCOUNT fails if the org has one already (the old item tells which)."""
    update(
        SUBACCOUNT,
        TableName=_table(),
        Key=to_ddb({"orgId": org_id, "sk": SK}),
        UpdateExpression="SET twilioSid = :sid, twilioKind = :kind, createdAt = :created",
        ConditionExpression="attribute_not_exists(twilioSid)",
        ExpressionAttributeValues=values(sid=account_sid, kind=KIND, created=created_at),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )


def org_of(account_sid: str) -> str | None:
    """The org whose subaccount `account_sid` is (GSI: eventually consistent; a subaccount is recorded before any
    resource of it exists, so before any callback about one); None when it is none of ours."""
    items = query_items(
        TableName=_table(),
        IndexName=_INDEX,
        KeyConditionExpression="twilioKind = :kind AND twilioSid = :sid",
        ExpressionAttributeValues=values(kind=KIND, sid=account_sid),
    )
    return next((str(item["orgId"]) for item in items), None)


def every(from_sid: str = "") -> Iterator[Subaccount]:
    """Every org's subaccount in SID order, from `from_sid` on (itself included), read a page at a time."""
    start = {"start": from_sid} if from_sid else {}
    items = query_items(
        TableName=_table(),
        IndexName=_INDEX,
        KeyConditionExpression="twilioKind = :kind" + (" AND twilioSid >= :start" if start else ""),
        ExpressionAttributeValues=values(kind=KIND, **start),
    )
    return (Subaccount(org_id=str(item["orgId"]), account_sid=str(item["twilioSid"])) for item in items)
