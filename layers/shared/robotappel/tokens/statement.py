"""GET /tokens/ledger: what an org was charged for and credited, newest first, a page at a time."""

from robotappel.caller import Caller
from robotappel.dal import ledger
from robotappel.models.ledger import TokenLedgerEntry, TokenLedgerPage
from robotappel.paging import Listing, PageRequest
from robotappel.tenants.access import readable_org


def ledger_page(caller: Caller, requested_org_id: str | None, page: PageRequest) -> TokenLedgerPage:
    listing = Listing(readable_org(caller, requested_org_id), "ledger")
    rows = ledger.list_entries(listing.org_id, page.limit, listing.position(page.cursor))
    return TokenLedgerPage(entries=[_view(row) for row in rows.records], nextCursor=listing.cursor(rows.last_sk))


def _view(row: ledger.RecordedEntry) -> TokenLedgerEntry:
    entry = row.entry
    return TokenLedgerEntry(
        entryId=entry.entry_id,
        createdAt=entry.created_at,
        route=entry.route,
        tokens=entry.tokens,
        status=row.status,
        requestId=entry.request_id,
        reason=entry.reason,
    )
