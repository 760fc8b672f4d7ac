"""Twilio's lists, walked across every org's subaccount: a pass reads each subaccount's list in turn, in SID order,
and may span runs; its position is the subaccount it was in and the page there to read (a page URL names its
subaccount), kept in the run's positions (dal.cursors).

A subaccount the walk reaches is one recorded for an org (dal.subaccounts): one of ours by construction. A suspended
one (tenants.suspension, or Twilio's console) is passed over: Twilio lets nothing of it be read."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from robotappel.dal import subaccounts
from robotappel.dal.subaccounts import Subaccount
from robotappel.observability import logger
from robotappel.twilio.errors import AccountNotActive
from robotappel.twilio.gateway import Page

T = TypeVar("T")


@dataclass(frozen=True)
class Position:
    """Where a walk is: in subaccount `account_sid`, at the page at `page_url` (None: its first page), or past its
    last page (`finished`: the walk goes on with the next subaccount)."""

    account_sid: str
    page_url: str | None = None
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account_sid, "page": self.page_url, "finished": self.finished}

    @classmethod
    def of(cls, kept: dict[str, Any] | None) -> "Position | None":
        if not kept:
            return None
        return cls(account_sid=str(kept["account"]), page_url=kept.get("page"), finished=bool(kept.get("finished")))

    @classmethod
    def after(cls, walked: "Walked[Any]") -> "Position":
        """Where a walk goes on once `walked` is done."""
        next_url = walked.page.next_url
        return cls(walked.subaccount.account_sid, next_url, finished=next_url is None)


@dataclass(frozen=True)
class Walked(Generic[T]):
    subaccount: Subaccount
    page: Page[T]


def walk(start: Position | None, pages: Callable[[str, str | None], Iterator[Page[T]]]) -> Iterator[Walked[T]]:
    """Every subaccount's pages from `start` (None: from the first subaccount's first page): `pages(account_sid,
    page_url)` lists one subaccount from a page."""
    for subaccount in subaccounts.every(start.account_sid if start else ""):
        at_start = start is not None and start.account_sid == subaccount.account_sid
        if at_start and start is not None and start.finished:
            continue
        resume = start.page_url if at_start and start is not None else None
        try:
            for page in pages(subaccount.account_sid, resume):
                yield Walked(subaccount, page)
        except AccountNotActive:
            # A suspended org's: nothing of it can be read, nor needs settling while its routes are stopped.
            logger.info("a suspended Twilio subaccount skipped", extra={"accountSid": subaccount.account_sid})
