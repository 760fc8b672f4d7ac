"""Holds nobody will close: a function that died between its hold and its commit leaves the tokens reserved.

Past HOLD_EXPIRY, longer than any route function may run, a hold still open is given back, unless work still
open owns it (a purchase intent, a pending client phone): that work's own step settles or refunds it. The sweep
resumes after the last hold the run before looked at (its cursor, `positions[STEP]`), and each hold is worked on
its own (`isolation`): a malformed one or a lost race is skipped, and parked if it keeps failing.
"""

import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from functools import partial

from robotappel.dal import ledger
from robotappel.dal.dynamodb import ConditionFailed, Item
from robotappel.ids import iso
from robotappel.observability import logger
from robotappel.reconcile.isolation import Isolation

# API Gateway gives up on a request after 29 s, and no route function may run longer (template.yaml): a hold
# older than this belongs to an invocation that is over.
HOLD_EXPIRY = timedelta(minutes=5)
PAGE = 50
STEP = "holds"
FINDINGS = ("stale_hold_refunded",)


def sweep_stale_holds(
    out_of_time: Callable[[], bool], owned: Collection[str], isolation: Isolation, positions: dict[str, str]
) -> dict[str, int]:
    """Refund the holds opened more than HOLD_EXPIRY ago and still open, except those in `owned` (entry ids)."""
    cutoff = iso(datetime.now(UTC) - HOLD_EXPIRY)
    after = json.loads(positions.pop(STEP)) if STEP in positions else None
    refunded = 0
    for item in ledger.open_hold_items(cutoff, PAGE, after):
        if out_of_time():
            if after:
                positions[STEP] = json.dumps(after)
            break
        refunded += bool(isolation.run(f"hold/{item['orgId']}/{item['sk']}", partial(_refund, item, owned)))
        after = ledger.hold_position(item)
    return {"stale_hold_refunded": refunded}


def _refund(item: Item, owned: Collection[str]) -> bool:
    entry = ledger.LedgerEntry.from_attributes(item)
    if entry.entry_id in owned:
        return False
    try:
        ledger.refund(entry)
    except ConditionFailed:
        return False  # closed meanwhile (settled or refunded); the ledger has not caught up yet
    logger.warning("stale hold refunded", extra={"holdOrgId": entry.org_id, "entryId": entry.entry_id})
    return True
