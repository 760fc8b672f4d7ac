"""The reconciler's items that failed in the runs before (NumbersTable, orgId "#reconciler", sk "item-failures"):
one item holding, for each item key that failed, how many runs in a row it did. Read once and written once a run."""

from robotappel.config import get_settings
from robotappel.dal.dynamodb import client, from_ddb, to_ddb, unavailable_on_throttling

_KEY = {"orgId": "#reconciler", "sk": "item-failures"}


def failures_so_far() -> dict[str, int]:
    with unavailable_on_throttling():
        response = client().get_item(TableName=get_settings().numbers_table, Key=to_ddb(_KEY), ConsistentRead=True)
    counts = from_ddb(response.get("Item", {})).get("counts", {})
    return {str(key): int(count) for key, count in counts.items()}


def record_failures(counts: dict[str, int]) -> None:
    """`counts` in place of what was stored: an item that did not fail this run starts again from zero."""
    with unavailable_on_throttling():
        client().put_item(TableName=get_settings().numbers_table, Item=to_ddb({**_KEY, "counts": counts}))
