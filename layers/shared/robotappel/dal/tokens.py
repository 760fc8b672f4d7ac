"""Token accounts and their ledger (TokensTable: orgId + sk).

sk = "account"                    -> {balance}
sk = "ledger#<iso time>#<entryId>" -> {entryId, route, tokens, status: held|charged|refunded, requestId, ...}
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from robotappel.config import get_settings
from robotappel.dal.dynamodb import (
    ConditionFailed,
    Item,
    client,
    from_ddb,
    to_ddb,
    transact,
    unavailable_on_throttling,
    values,
)
from robotappel.errors import InsufficientTokens
from robotappel.ids import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

ACCOUNT_SK = "account"


@dataclass(frozen=True)
class LedgerEntry:
    org_id: str
    entry_id: str
    route: str
    tokens: int
    request_id: str
    created_at: str

    @property
    def sk(self) -> str:
        return f"ledger#{self.created_at}#{self.entry_id}"


def _table() -> str:
    return get_settings().tokens_table


def get_balance(org_id: str) -> int:
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(),
            Key=to_ddb({"orgId": org_id, "sk": ACCOUNT_SK}),
            ConsistentRead=True,
        )
    return int(from_ddb(response["Item"])["balance"]) if "Item" in response else 0


def debit_items(entry: LedgerEntry, status: str) -> list["TransactWriteItemTypeDef"]:
    """Take `entry.tokens` off the balance (never below zero) and record the ledger entry with `status`."""
    return [
        {
            "Update": {
                "TableName": _table(),
                "Key": to_ddb({"orgId": entry.org_id, "sk": ACCOUNT_SK}),
                "UpdateExpression": "SET balance = balance - :tokens",
                "ConditionExpression": "balance >= :tokens",
                "ExpressionAttributeValues": values(tokens=entry.tokens),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Put": {
                "TableName": _table(),
                "Item": to_ddb(
                    {
                        "orgId": entry.org_id,
                        "sk": entry.sk,
                        "entryId": entry.entry_id,
                        "route": entry.route,
                        "tokens": entry.tokens,
                        "requestId": entry.request_id,
                        "status": status,
                        "createdAt": entry.created_at,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
    ]


def debit(entry: LedgerEntry, status: str, with_items: list["TransactWriteItemTypeDef"] | None = None) -> None:
    """Debit the account in one transaction with `with_items` (the state change it pays for, kept first so
    their indices in ConditionFailed are the caller's own)."""
    state_change = with_items or []
    try:
        transact([*state_change, *debit_items(entry, status)])
    except ConditionFailed as failure:
        account_index = len(state_change)
        if failure.failed_at(account_index):
            balance = int(failure.old_item(account_index).get("balance", 0))
            raise InsufficientTokens(entry.tokens, balance) from failure
        raise


def settle_item(entry: LedgerEntry) -> "TransactWriteItemTypeDef":
    """Turn a held entry into a charge (joins the transaction of the state change it paid for)."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": to_ddb({"orgId": entry.org_id, "sk": entry.sk}),
            "UpdateExpression": "SET #status = :charged, settledAt = :now",
            "ConditionExpression": "#status = :held",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values(charged="charged", held="held", now=now_iso()),
        }
    }


def refund(entry: LedgerEntry) -> None:
    """Give a held entry's tokens back; the entry stays in the ledger as `refunded` (once, whatever retries)."""
    transact(
        [
            {
                "Update": {
                    "TableName": _table(),
                    "Key": to_ddb({"orgId": entry.org_id, "sk": ACCOUNT_SK}),
                    "UpdateExpression": "SET balance = balance + :tokens",
                    "ExpressionAttributeValues": values(tokens=entry.tokens),
                }
            },
            {
                "Update": {
                    "TableName": _table(),
                    "Key": to_ddb({"orgId": entry.org_id, "sk": entry.sk}),
                    "UpdateExpression": "SET #status = :refunded, settledAt = :now",
                    "ConditionExpression": "#status = :held",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values(refunded="refunded", held="held", now=now_iso()),
                }
            },
        ]
    )


def credit(org_id: str, tokens: int) -> None:
    """Top up an account (seeding, back office). Creates the account when it does not exist."""
    with unavailable_on_throttling():
        client().update_item(
            TableName=_table(),
            Key=to_ddb({"orgId": org_id, "sk": ACCOUNT_SK}),
            UpdateExpression="SET balance = if_not_exists(balance, :zero) + :tokens",
            ExpressionAttributeValues=values(tokens=tokens, zero=0),
        )


def ledger(org_id: str) -> list[Item]:
    with unavailable_on_throttling():
        paginator = client().get_paginator("query")
        pages = paginator.paginate(
            TableName=_table(),
            KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=values(org=org_id, prefix="ledger#"),
            ConsistentRead=True,
        )
        return [from_ddb(item) for page in pages for item in page["Items"]]
