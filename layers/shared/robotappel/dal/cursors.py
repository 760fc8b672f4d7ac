"""Where each reconciler step stopped, so that the next run resumes there (NumbersTable, orgId "#reconciler",
sk "cursors"): one item holding each step's position as text (a pass over Twilio's lists, the last key read). Read
once and written once a run, beside the item failures (dal.item_failures); a run that dies leaves the positions of
the run before, so its work is done again, which every step may (its writes are conditional).

The SIDs Twilio listed in a pass over its numbers or its caller IDs are kept a page an item (orgId
"#reconciler-seen", sk "seen#<pass>#<page>", expiring after a day): a pass spans runs, and only the whole pass says
which record's number or caller ID is no longer listed."""

from robotappel.config import get_settings
from robotappel.dal.dynamodb import client, from_ddb, query_items, to_ddb, unavailable_on_throttling, values

_KEY = {"orgId": "#reconciler", "sk": "cursors"}
_SEEN = "#reconciler-seen"
SEEN_KEPT_SECONDS = 24 * 3600


def positions() -> dict[str, str]:
    with unavailable_on_throttling():
        response = client().get_item(TableName=get_settings().numbers_table, Key=to_ddb(_KEY), ConsistentRead=True)
    stored = from_ddb(response.get("Item", {})).get("positions", {})
    return {str(step): str(position) for step, position in stored.items()}


def save_positions(positions: dict[str, str]) -> None:
    """`positions` in place of what was stored: a step without one starts from the beginning next run."""
    with unavailable_on_throttling():
        client().put_item(TableName=get_settings().numbers_table, Item=to_ddb({**_KEY, "positions": positions}))


def keep_seen(pass_id: str, page: int, sids: list[str], expires_at: int) -> None:
    """The SIDs of one page listed in pass `pass_id` (a page listed again replaces its item)."""
    item = {"orgId": _SEEN, "sk": _seen_sk(pass_id, page), "sids": sids, "expiresAt": expires_at}
    with unavailable_on_throttling():
        client().put_item(TableName=get_settings().numbers_table, Item=to_ddb(item))


def seen_in(pass_id: str) -> set[str]:
    """Every SID listed in pass `pass_id`, read consistently (its last page was written a moment ago)."""
    items = query_items(
        TableName=get_settings().numbers_table,
        KeyConditionExpression="orgId = :seen AND begins_with(sk, :pass)",
        ExpressionAttributeValues=values(seen=_SEEN, **{"pass": _seen_sk(pass_id, None)}),
        ConsistentRead=True,
    )
    return {str(sid) for item in items for sid in item.get("sids", [])}


def _seen_sk(pass_id: str, page: int | None) -> str:
    return f"seen#{pass_id}#" + ("" if page is None else f"{page:06d}")
