"""Holds nobody will close: a function that died between its hold and its commit leaves the tokens reserved.

Past HOLD_EXPIRY, longer than any route function may run, a hold still open is given back, unless work still
open owns it (a purchase intent, a pending client phone): that work's own step settles or refunds it.
"""

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from robotappel.dal import ledger
from robotappel.dal.dynamodb import ConditionFailed
from robotappel.ids import iso
from robotappel.observability import logger

# API Gateway gives up on a request after 29 s, and no route function may run longer (template.yaml): a hold
# older than this belongs to an invocation that is over.
HOLD_EXPIRY = timedelta(minutes=5)
PAGE = 50
FINDINGS = ("stale_hold_refunded",)


def sweep_stale_holds(out_of_time: Callable[[], bool], owned: Collection[str]) -> dict[str, int]:
    """Refund the holds opened more than HOLD_EXPIRY ago and still open, except those in `owned` (entry ids)."""
    cutoff = iso(datetime.now(UTC) - HOLD_EXPIRY)
    refunded = 0
    for entry in ledger.holds_opened_before(cutoff, PAGE):
        if out_of_time():
            break
        if entry.entry_id in owned:
            continue
        try:
            ledger.refund(entry)
        except ConditionFailed:
            continue  # closed meanwhile (settled or refunded); the ledger has not caught up yet
        logger.warning("stale hold refunded", extra={"holdOrgId": entry.org_id, "entryId": entry.entry_id})
        refunded += 1
    return {"stale_hold_refunded": refunded}
