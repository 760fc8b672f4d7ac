"""One bad item never stops a run: each item's work runs on its own, its failure logged with the item's key,
counted and skipped; an item whose work failed PARK_AFTER runs in a row is parked (skipped, and counted every run:
metric ReconciledItemParked and its alarm) until an operator sets it right.

A DomainError (Twilio or DynamoDB unavailable) is counted but does not move an item towards parking: it says
nothing about the item. Anything else (a malformed item, a bug, a race lost) does.
"""

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from robotappel.dal import item_failures
from robotappel.errors import DomainError
from robotappel.observability import logger

T = TypeVar("T")
PARK_AFTER = 3
ITEM_FAILED, ITEM_PARKED = "item_failed", "item_parked"
FINDINGS = (ITEM_FAILED, ITEM_PARKED)


class Isolation:
    """The items of one run: what failed before (read once), what fails now (written once, by `save`)."""

    def __init__(self) -> None:
        self._before = item_failures.failures_so_far()
        self._now: dict[str, int] = {}
        self.findings: Counter[str] = Counter()

    def run(self, key: str, work: Callable[[], T]) -> T | None:
        """`work()` for the item `key`; None when the item is parked or its work failed."""
        failed_before = self._before.get(key, 0)
        if failed_before >= PARK_AFTER:
            logger.error("a reconciler item is parked: set it right by hand", extra={"itemKey": key})
            self._now[key] = failed_before
            self.findings[ITEM_PARKED] += 1
            return None
        try:
            return work()
        except DomainError:
            logger.exception("reconciling an item failed: skipped, the next run tries again", extra={"itemKey": key})
            self._now[key] = failed_before
        except Exception:  # any failure of one item is that item's, not the run's
            logger.exception("reconciling an item failed: skipped", extra={"itemKey": key})
            self._now[key] = failed_before + 1
        self.findings[ITEM_FAILED] += 1
        return None

    def save(self) -> None:
        if self._now or self._before:
            item_failures.record_failures({key: count for key, count in self._now.items() if count})
