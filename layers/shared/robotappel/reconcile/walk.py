"""Twilio's lists, walked across every org's subaccount: a pass reads each subaccount's list in turn, in SID order,
and may span runs; its position is the subaccount it was in and the page there to read (a page URL names its
subaccount), kept in the run's positions (dal.cursors).

A subaccount the walk reaches is one recorded for an org (dal.subaccounts): one of ours by construction. A suspended
one (tenants.suspension, or Twilio's console) is passed over: Twilio lets nothing of it be read.

A pass keeps the SIDs each page listed (dal.cursors): once it has read the whole list, the records older than it
whose SID it did not list are the ones a judgment fetches by SID at Twilio (reconcile.purchases: numbers gone,
reconcile.caller_ids: caller IDs gone)."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar
from uuid import uuid4

from robotappel.dal import cursors, subaccounts
from robotappel.dal.subaccounts import Subaccount
from robotappel.ids import now_iso
from robotappel.observability import logger
from robotappel.tenants.subaccounts import recorded_account_of
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


@dataclass(frozen=True)
class Pass:
    """A pass over one of Twilio's lists, kept in the run's positions between runs: its id (the key of the SIDs its
    pages listed), when it started, how many pages it read, and where it goes on (None: at the very start)."""

    id: str
    started: str
    pages: int = 0
    at: Position | None = None

    @classmethod
    def of(cls, kept: str | None, step: str) -> "Pass":
        """The pass kept for `step` (None: a new one). A cursor that cannot be read starts a new one too: one of an
        old format (before subaccounts, the caller IDs' was a bare Twilio page URL), which the step's first run of
        this version finds."""
        if kept is None:
            return cls(uuid4().hex, now_iso())
        try:
            stored = json.loads(kept)
            return cls(str(stored["pass"]), str(stored["started"]), int(stored["page"]), Position.of(stored.get("at")))
        except (ValueError, KeyError, TypeError):
            # The cursor itself is not logged: an old one is a page URL, with a PageToken.
            logger.warning("a reconciler cursor of an old format: the step starts a fresh pass", extra={"step": step})
            return cls(uuid4().hex, now_iso())

    def kept(self) -> str:
        at = {"at": self.at.as_dict()} if self.at else {}
        return json.dumps({"pass": self.id, "started": self.started, "page": self.pages, **at})

    def after(self, walked: Walked[Any], sids: list[str]) -> "Pass":
        """This pass once the page `walked`, which listed `sids`, is done: those kept for the judgment."""
        cursors.keep_seen(self.id, self.pages, sids, int(time.time()) + cursors.SEEN_KEPT_SECONDS)
        return replace(self, pages=self.pages + 1, at=Position.after(walked))

    def judged(self, judging: str | None) -> str:
        """The judgment of this whole pass, kept: it goes on from where the `judging` one (kept, if any) is, since
        any whole pass may judge the records older than it, and starting over at each pass would never reach the
        end of a list longer than a pass."""
        after = {key: value for key, value in json.loads(judging or "{}").items() if key == "after"}
        return json.dumps({"pass": self.id, "started": self.started, **after})


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


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """What Twilio holds under a SID in its org's subaccount now: `resource`, or None when it has no such one."""

    resource: T | None


def fetched_in_its_org(org_id: str, sid: str, fetch: Callable[[str, str], T | None]) -> Fetched[T] | None:
    """`fetch(account, sid)` in the subaccount of org `org_id`, as a proof of presence or absence; None when Twilio
    cannot be asked (the org has no subaccount, or it is suspended): then absence would prove nothing."""
    account = recorded_account_of(org_id)
    if account is None:
        return None
    try:
        return Fetched(fetch(account, sid))
    except AccountNotActive:
        return None
