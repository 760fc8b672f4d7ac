"""Client phones and Twilio numbers (NumbersTable: orgId + sk).

sk = "number#<id>"          a client phone (id "cp_…") or a Twilio number (id "tn_…"); ids sort by time
sk = "clientphone#<e164>"   guard: one client phone per number and org
sk = "call#<CallSid>"       a call already counted (expires after a while: Twilio retries within hours)
GSI byPhoneNumber (phoneNumber) finds the numbers a webhook is about; GSI byClientPhoneNumber
(orgId, clientPhoneNumber) finds the Twilio number linked to a client phone.
"""

import time
from typing import TYPE_CHECKING, Any

from robotappel.config import get_settings
from robotappel.dal.dynamodb import Item, client, from_ddb, to_ddb, unavailable_on_throttling, values

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CLIENT_PHONE = "cp"
TWILIO_NUMBER = "tn"
CALL_MEMORY_SECONDS = 7 * 24 * 3600


def _table() -> str:
    return get_settings().numbers_table


def _key(org_id: str, sk: str) -> dict[str, Any]:
    return to_ddb({"orgId": org_id, "sk": sk})


def number_sk(number_id: str) -> str:
    return f"number#{number_id}"


def _guard_sk(e164: str) -> str:
    return f"clientphone#{e164}"


def _query(**kwargs: Any) -> list[Item]:
    with unavailable_on_throttling():
        pages = client().get_paginator("query").paginate(TableName=_table(), **kwargs)
        return [from_ddb(item) for page in pages for item in page["Items"]]


# ------------------------------------------------------------------ reads
def get_number(org_id: str, number_id: str) -> Item | None:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_key(org_id, number_sk(number_id)))
    return from_ddb(response["Item"]) if "Item" in response else None


def list_numbers(org_id: str, kind: str | None = None) -> list[Item]:
    """The org's client phones and/or active Twilio numbers, newest first, in one query."""
    prefix = number_sk(f"{kind}_" if kind else "")
    return _query(
        KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
        FilterExpression="#status <> :released",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(org=org_id, prefix=prefix, released="released"),
        ScanIndexForward=False,
    )


def client_phone_exists(org_id: str, e164: str) -> bool:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_key(org_id, _guard_sk(e164)), ProjectionExpression="sk")
    return "Item" in response


def find_linked_twilio_number(org_id: str, client_e164: str) -> Item | None:
    items = _query(
        IndexName="byClientPhoneNumber",
        KeyConditionExpression="orgId = :org AND clientPhoneNumber = :phone",
        FilterExpression="#status = :active",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(org=org_id, phone=client_e164, active="active"),
    )
    return items[0] if items else None


def find_by_phone_number(e164: str) -> list[Item]:
    """Every live record of a number, across orgs (a client phone may be registered by several orgs)."""
    return _query(
        IndexName="byPhoneNumber",
        KeyConditionExpression="phoneNumber = :phone",
        FilterExpression="#status <> :released",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(phone=e164, released="released"),
    )


# ------------------------------------------------------------------ writes (transaction items)
def put_client_phone(item: Item) -> list["TransactWriteItemTypeDef"]:
    """The client phone and its guard; the guard's condition (index 0) fails if the org has it already."""
    guard = {"orgId": item["orgId"], "sk": _guard_sk(item["phoneNumber"]), "numberId": item["id"]}
    return [
        {
            "Put": {
                "TableName": _table(),
                "Item": to_ddb(guard),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
        {"Put": {"TableName": _table(), "Item": to_ddb({**item, "sk": number_sk(item["id"])})}},
    ]


def delete_client_phone(org_id: str, number_id: str, e164: str) -> list["TransactWriteItemTypeDef"]:
    return [
        {
            "Delete": {
                "TableName": _table(),
                "Key": _key(org_id, number_sk(number_id)),
                "ConditionExpression": "attribute_exists(sk)",
            }
        },
        {"Delete": {"TableName": _table(), "Key": _key(org_id, _guard_sk(e164))}},
    ]


def client_phone_still_exists(org_id: str, e164: str) -> "TransactWriteItemTypeDef":
    """Joins a transaction that links a number to a client phone: fails it if the phone was deleted meanwhile."""
    return {
        "ConditionCheck": {
            "TableName": _table(),
            "Key": _key(org_id, _guard_sk(e164)),
            "ConditionExpression": "attribute_exists(sk)",
        }
    }


def put_twilio_number(item: Item) -> list["TransactWriteItemTypeDef"]:
    return [{"Put": {"TableName": _table(), "Item": to_ddb({**item, "sk": number_sk(item["id"])})}}]


def update_number(
    org_id: str,
    number_id: str,
    changes: dict[str, Any],
    removals: tuple[str, ...] = (),
    only_if_status: str | None = None,
) -> list["TransactWriteItemTypeDef"]:
    """SET `changes` and REMOVE `removals` on a live number (the condition fails if it is gone, or if its status
    is not `only_if_status` when given)."""
    names = {f"#a{i}": name for i, name in enumerate(changes)}
    names |= {f"#r{i}": name for i, name in enumerate(removals)}
    names["#status"] = "status"
    assignments = ", ".join(f"#a{i} = :a{i}" for i in range(len(changes)))
    expression = f"SET {assignments}" if changes else ""
    if removals:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removals)))
    return [
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(org_id, number_sk(number_id)),
                "UpdateExpression": expression.strip(),
                "ConditionExpression": "attribute_exists(sk) AND #status = :expected"
                if only_if_status
                else "attribute_exists(sk) AND #status <> :released",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values(
                    **({"expected": only_if_status} if only_if_status else {"released": "released"}),
                    **{f"a{i}": value for i, value in enumerate(changes.values())},
                ),
            }
        }
    ]


def count_call(org_id: str, number_id: str, call_sid: str) -> list["TransactWriteItemTypeDef"]:
    """Add one call to a number, once per CallSid: the marker's condition (index 0) fails on a repeat."""
    marker = {"orgId": org_id, "sk": f"call#{call_sid}", "expiresAt": int(time.time()) + CALL_MEMORY_SECONDS}
    return [
        {
            "Put": {
                "TableName": _table(),
                "Item": to_ddb(marker),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(org_id, number_sk(number_id)),
                "UpdateExpression": "ADD totalCalls :one",
                "ConditionExpression": "attribute_exists(sk)",
                "ExpressionAttributeValues": values(one=1),
            }
        },
    ]
