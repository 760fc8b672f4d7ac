"""Token accounts and their ledger (TokensTable: orgId + sk).

sk = "account"                     -> {balance, createdAt, operatorOrg, lastEntry, "hold#<entryId>": tokens (one per
                                      open hold)}
sk = "ledger#<iso time>#<entryId>" -> {entryId, route, tokens, status: held|charged|refunded|credited, requestId,
                                      reason and byKeyId (credits), openHold ("held", while held: GSI byOpenHold), ...}
sk = "applied#<entryId>"           -> {expiresAt}: a debit or credit applied (`_apply_once`), kept a day (TTL)

The account item is the organisation: it is created once, when the org is (`open_account`), and an org without
one does not exist (`account_exists`).

Every change of a balance is one write of the account item that also sets `lastEntry`, the ledger entry it makes.
A debit or credit is written in one transaction with its entry's applied marker, so that a retry of it never
applies twice (a condition on `lastEntry` could not tell once another entry was applied between the tries); the
balance it left is then read (consistently) for X-Tokens-Remaining. The table's stream carries every such write
exactly once, in order per account, to the token_ledger function, which writes `lastEntry` as a ledger item
(`write_ledger_entry`, idempotent). The ledger therefore trails the balance by the stream's delay (about a second)
but never misses an entry: a stream record is retried until it is written.
"""

import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robotappel.config import get_settings
from robotappel.dal.dynamodb import (
    ConditionFailed,
    Item,
    Rows,
    Write,
    client,
    from_ddb,
    query_items,
    query_rows,
    to_ddb,
    transact,
    unavailable_on_throttling,
    update,
    values,
)
from robotappel.errors import InsufficientTokens, InvalidInput
from robotappel.ids import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import ConditionCheckTypeDef

ACCOUNT_SK = "account"
LEDGER_PREFIX = "ledger#"
HELD, CHARGED, REFUNDED, CREDITED = "held", "charged", "refunded", "credited"
# The route of a top-up's ledger entry: it is no API call's cost.
CREDIT_ROUTE = "credit"
# The account attribute of an operator org (true): the only orgs whose keys may be admin keys.
OPERATOR = "operatorOrg"  # "operator" is a DynamoDB reserved word
SUSPENDED_AT = "suspendedAt"  # set while the org is suspended (tenants.suspension)
OPEN_HOLD, OPEN_HOLDS_INDEX = "openHold", "byOpenHold"
# Names of the writes whose condition a caller may ask about.
ACCOUNT = "account"
CHARGE = "charge"
REFUND = "refund"


@dataclass(frozen=True)
class LedgerEntry:
    org_id: str
    entry_id: str
    route: str
    tokens: int
    request_id: str
    created_at: str
    reason: str | None = None
    by_key_id: str | None = None  # a credit's: the admin key that made it (None: the operators' tool, the seed)

    @property
    def sk(self) -> str:
        return f"{LEDGER_PREFIX}{self.created_at}#{self.entry_id}"

    @property
    def hold_attribute(self) -> str:
        return f"hold#{self.entry_id}"

    def attributes(self) -> Item:
        return {
            "orgId": self.org_id,
            "entryId": self.entry_id,
            "route": self.route,
            "tokens": self.tokens,
            "requestId": self.request_id,
            "createdAt": self.created_at,
            **({"reason": self.reason} if self.reason is not None else {}),
            **({"byKeyId": self.by_key_id} if self.by_key_id is not None else {}),
        }

    @classmethod
    def from_attributes(cls, item: Item) -> "LedgerEntry":
        return cls(
            org_id=item["orgId"],
            entry_id=item["entryId"],
            route=item["route"],
            tokens=int(item["tokens"]),
            request_id=item["requestId"],
            created_at=item["createdAt"],
            reason=item.get("reason"),
            by_key_id=item.get("byKeyId"),
        )

    def with_status(self, status: str) -> Item:
        """The account's `lastEntry` for a change of this entry's status."""
        return {**self.attributes(), "status": status, "at": now_iso()}


@dataclass(frozen=True)
class RecordedEntry:
    """A ledger item: the entry and the latest status the stream wrote for it."""

    entry: LedgerEntry
    status: str

    @classmethod
    def from_item(cls, item: Item) -> "RecordedEntry":
        return cls(LedgerEntry.from_attributes(item), item["status"])


def _table() -> str:
    return get_settings().tokens_table


def _account_key(org_id: str) -> Item:
    return to_ddb({"orgId": org_id, "sk": ACCOUNT_SK})


def get_balance(org_id: str) -> int:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_account_key(org_id), ConsistentRead=True)
    return int(from_ddb(response["Item"])["balance"]) if "Item" in response else 0


def debit(entry: LedgerEntry, status: str) -> int:
    """Take `entry.tokens` off the balance, never below zero, as a charge or as a hold; returns the new balance.

    A hold is also kept on the account (`hold#<entryId>`) until `settle` or `refund` closes it.

    Applied once, whatever happens between its tries (`_apply_once`)."""
    expression = "SET #balance = #balance - :tokens, lastEntry = :entry"
    names = {"#balance": "balance"}
    if status == HELD:
        expression += ", #hold = :tokens"
        names["#hold"] = entry.hold_attribute
    change = {
        "UpdateExpression": expression,
        "ConditionExpression": "#balance >= :tokens",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values(tokens=entry.tokens, entry=entry.with_status(status)),
    }
    try:
        _apply_once(entry, change)
    except ConditionFailed as failure:
        if failure.failed(ACCOUNT):
            balance = int(failure.old_item(ACCOUNT).get("balance", 0))
            raise InsufficientTokens(entry.tokens, balance) from failure
        raise
    return get_balance(entry.org_id)


# How long an entry's applied marker is kept: past any retry of its write (botocore's, within one invocation).
APPLIED_MARKER_SECONDS = 24 * 3600
APPLIED = "applied"


def _applied_sk(entry_id: str) -> str:
    return f"applied#{entry_id}"


def _apply_once(entry: LedgerEntry, account_change: dict[str, Any]) -> None:
    """Apply `account_change` (an Update of the account item, ACCOUNT) together with the entry's applied marker
    (APPLIED: an item "applied#<entryId>" that must not exist yet), in one transaction.

    botocore retries a request DynamoDB answered with a 500 or not at all, which may have applied it; other entries
    may have been applied in between. The marker makes the retry fail its condition whatever happened meanwhile;
    such a retry returns as if it had applied (the entry is applied, once). Markers expire (TTL expiresAt) long
    after any retry; the ledger stream skips them (they are not the account)."""
    marker = {"orgId": entry.org_id, "sk": _applied_sk(entry.entry_id)}
    account: Any = {
        "TableName": _table(),
        "Key": _account_key(entry.org_id),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        **account_change,
    }
    try:
        transact(
            [
                Write(
                    APPLIED,
                    {
                        "Update": {
                            "TableName": _table(),
                            "Key": to_ddb(marker),
                            "UpdateExpression": "SET expiresAt = :expires",
                            "ConditionExpression": "attribute_not_exists(sk)",
                            "ExpressionAttributeValues": values(expires=int(time.time()) + APPLIED_MARKER_SECONDS),
                        }
                    },
                ),
                Write(ACCOUNT, {"Update": account}),
            ]
        )
    except ConditionFailed as failure:
        if not failure.failed(APPLIED):
            raise


def settle(entry: LedgerEntry) -> Write:
    """Turn a hold into a charge: joins the transaction of the state change it paid for (CHARGE fails if the hold
    is closed already)."""
    return Write(
        CHARGE,
        {
            "Update": {
                "TableName": _table(),
                "Key": _account_key(entry.org_id),
                "UpdateExpression": "SET lastEntry = :entry REMOVE #hold",
                "ConditionExpression": "attribute_exists(#hold)",
                "ExpressionAttributeNames": {"#hold": entry.hold_attribute},
                "ExpressionAttributeValues": values(entry=entry.with_status(CHARGED)),
            }
        },
    )


def hold_closed(entry: LedgerEntry) -> bool:
    """Whether the hold `entry` is closed (settled or refunded), read consistently."""
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(),
            Key=_account_key(entry.org_id),
            ConsistentRead=True,
            ProjectionExpression="#hold",
            ExpressionAttributeNames={"#hold": entry.hold_attribute},
        )
    return entry.hold_attribute not in from_ddb(response.get("Item", {}))


def refund(entry: LedgerEntry) -> None:
    """Give a hold's tokens back (once, whatever retries: the hold is closed in the same write)."""
    update(ACCOUNT, **refund_with(entry).request["Update"])


def refund_with(entry: LedgerEntry) -> Write:
    """`refund` as a part of the transaction of the state change it goes with (REFUND fails if the hold is closed
    already): the record lets go of its hold in the same write, so nothing can come in between."""
    return Write(
        REFUND,
        {
            "Update": {
                "TableName": _table(),
                "Key": _account_key(entry.org_id),
                "UpdateExpression": "SET balance = balance + :tokens, lastEntry = :entry REMOVE #hold",
                "ConditionExpression": "attribute_exists(#hold)",
                "ExpressionAttributeNames": {"#hold": entry.hold_attribute},
                "ExpressionAttributeValues": values(tokens=entry.tokens, entry=entry.with_status(REFUNDED)),
            }
        },
    )


def account_exists(org_id: str) -> bool:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_account_key(org_id), ProjectionExpression="sk")
    return "Item" in response


def account_still_exists(org_id: str, *, operator: bool = False) -> Write:
    """ACCOUNT joins a transaction that needs the org to exist (issuing it a key), and with `operator` to be an
    operator org (an admin key): it fails if it does not, with the account as it is when it exists."""
    check: ConditionCheckTypeDef = {
        "TableName": _table(),
        "Key": _account_key(org_id),
        "ConditionExpression": "attribute_exists(sk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if operator:
        check["ConditionExpression"] += f" AND {OPERATOR} = :operator"
        check["ExpressionAttributeValues"] = values(operator=True)
    return Write(ACCOUNT, {"ConditionCheck": check})


def is_operator(org_id: str) -> bool:
    """Whether the org exists and is an operator org, as it is now (a consistent read)."""
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(), Key=_account_key(org_id), ProjectionExpression=OPERATOR, ConsistentRead=True
        )
    return from_ddb(response.get("Item", {})).get(OPERATOR) is True


def org_ids() -> Iterator[str]:
    """Every org's id (a Scan of the accounts: the operators' tool's, for work on every org)."""
    pages = (
        client()
        .get_paginator("scan")
        .paginate(
            TableName=_table(),
            FilterExpression="sk = :account",
            ProjectionExpression="orgId",
            ExpressionAttributeValues=values(account=ACCOUNT_SK),
        )
    )
    with unavailable_on_throttling():
        for page in pages:
            yield from (str(from_ddb(item)["orgId"]) for item in page["Items"])


def open_account(org_id: str, created_at: str, opening: LedgerEntry | None, *, operator: bool = False) -> None:
    """Create an org's account, with `opening` credited (its ledger entry) when there is one; an operator org's
    says so (`operator`: it may hold admin keys).

    ACCOUNT fails if the account exists already."""
    expression = f"SET balance = :tokens, createdAt = :at, {OPERATOR} = :operator" + (
        ", lastEntry = :entry" if opening else ""
    )
    update(
        ACCOUNT,
        TableName=_table(),
        Key=_account_key(org_id),
        UpdateExpression=expression,
        ConditionExpression="attribute_not_exists(sk)",
        ExpressionAttributeValues=values(
            tokens=opening.tokens if opening else 0,
            at=created_at,
            operator=operator,
            **({"entry": opening.with_status(CREDITED)} if opening else {}),
        ),
    )


def make_operator(org_id: str) -> None:
    """Mark an existing org an operator org (an org made before orgs said so). ACCOUNT fails if it does not exist."""
    update(
        ACCOUNT,
        TableName=_table(),
        Key=_account_key(org_id),
        UpdateExpression=f"SET {OPERATOR} = :operator",
        ConditionExpression="attribute_exists(sk)",
        ExpressionAttributeValues=values(operator=True),
    )


def set_suspended(org_id: str, suspended_at: str | None) -> None:
    """Suspend the org since `suspended_at`, or (None) reactivate it. ACCOUNT fails if it does not exist."""
    change = (
        {"UpdateExpression": f"SET {SUSPENDED_AT} = :at", "ExpressionAttributeValues": values(at=suspended_at)}
        if suspended_at
        else {"UpdateExpression": f"REMOVE {SUSPENDED_AT}"}
    )
    update(ACCOUNT, TableName=_table(), Key=_account_key(org_id), ConditionExpression="attribute_exists(sk)", **change)


def suspended_since(org_id: str) -> str | None:
    """When the org was suspended; None when it is not (or does not exist). The authorizer's read: eventually
    consistent, like its cached answers."""
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_account_key(org_id), ProjectionExpression=SUSPENDED_AT)
    since = from_ddb(response.get("Item", {})).get(SUSPENDED_AT)
    return str(since) if since else None


def credit(entry: LedgerEntry) -> int:
    """Add `entry.tokens` to an existing account, as a ledger entry; returns the new balance.

    ACCOUNT fails if the org has no account (it does not exist). Applied once, as `debit`."""
    _apply_once(
        entry,
        {
            "UpdateExpression": "SET balance = balance + :tokens, lastEntry = :entry",
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeValues": values(tokens=entry.tokens, entry=entry.with_status(CREDITED)),
        },
    )
    return get_balance(entry.org_id)


def list_entries(org_id: str, limit: int, after: str | None) -> Rows[RecordedEntry]:
    """A page of the org's ledger, newest first, after the sort key `after`."""
    if after is not None and not after.startswith(LEDGER_PREFIX):
        raise InvalidInput("cursor", "This cursor belongs to another listing.")
    return query_rows(
        RecordedEntry.from_item,
        limit,
        {"orgId": org_id, "sk": after} if after else None,
        TableName=_table(),
        KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
        ExpressionAttributeValues=values(org=org_id, prefix=LEDGER_PREFIX),
        ScanIndexForward=False,
    )


def write_ledger_entry(entry: LedgerEntry, status: str, at: str) -> None:
    """Record `entry` in the ledger with `status`; replays and late arrivals of an older status change nothing.

    A status only moves forward: an entry is created held, charged or credited, and a held one becomes charged or
    refunded.
    A held entry carries `openHold` (GSI byOpenHold) until it is settled: how the reconciler finds old holds."""
    settled = status != HELD
    attributes = {**entry.attributes(), "status": status, **({"settledAt": at} if settled else {OPEN_HOLD: HELD})}
    attributes.pop("orgId")  # the key
    assignments = ", ".join(f"#{name} = :{name}" for name in attributes)
    names = {f"#{name}": name for name in attributes}
    expression = f"SET {assignments}"
    if settled:
        expression += " REMOVE #openHold"
        names["#openHold"] = OPEN_HOLD
    with suppress(ConditionFailed):  # recorded already, with this status or a later one
        update(
            "ledger_entry",
            TableName=_table(),
            Key=to_ddb({"orgId": entry.org_id, "sk": entry.sk}),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(sk)" + (" OR #status = :held" if settled else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values(**attributes), **(values(held=HELD) if settled else {})},
        )


def open_hold_items(created_before: str, page_size: int, after: Item | None = None) -> Iterator[Item]:
    """The items of the open holds (as the ledger knows them: it trails the accounts by the stream's delay) opened
    before `created_before`, oldest first, after the one whose `hold_position` is `after` (where an earlier sweep
    stopped), read a page at a time, as stored: each is read into a LedgerEntry (`LedgerEntry.from_attributes`) on
    its own, so that a malformed one fails alone; `refund` closes one only if it is still open."""
    return query_items(
        TableName=_table(),
        IndexName=OPEN_HOLDS_INDEX,
        KeyConditionExpression="#openHold = :held AND createdAt < :before",
        ExpressionAttributeNames={"#openHold": OPEN_HOLD},
        ExpressionAttributeValues=values(held=HELD, before=created_before),
        Limit=page_size,
        **({"ExclusiveStartKey": to_ddb(after)} if after else {}),
    )


def hold_position(item: Item) -> Item:
    """Where a sweep of `open_hold_items` that stopped after `item` resumes."""
    return {key: item[key] for key in (OPEN_HOLD, "createdAt", "orgId", "sk")}
