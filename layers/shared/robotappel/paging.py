"""Pages of a listing: at most `limit` rows, and an opaque cursor to the next page while more rows exist.

A cursor is the position of a page's last row in its listing (the row's sort key), bound to the organisation and
the listing it came from: another org's cursor, or another listing's, is a 422 naming `cursor`. It carries no
secret and needs no signature: the position is only ever applied inside the caller's own readable org.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from robotappel.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True)
class PageRequest:
    limit: int = MAX_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Listing:
    """One org's rows of one listing (e.g. "clientPhones"): translates cursors to positions and back."""

    org_id: str
    name: str

    def position(self, cursor: str | None) -> str | None:
        """Where the page asked for starts: after this sort key (None: at the top)."""
        if cursor is None:
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
            org_id, name, position = fields["o"], fields["l"], fields["k"]
        except (ValueError, binascii.Error, TypeError, KeyError) as error:
            raise InvalidInput("cursor", "This cursor is not one this API gave.") from error
        if (org_id, name) != (self.org_id, self.name) or not isinstance(position, str):
            raise InvalidInput("cursor", "This cursor belongs to another listing or organisation.")
        return position

    def cursor(self, position: str | None) -> str | None:
        """The cursor of the next page, which starts after `position` (None: there is no next page)."""
        if position is None:
            return None
        payload = json.dumps({"o": self.org_id, "l": self.name, "k": position}, separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
