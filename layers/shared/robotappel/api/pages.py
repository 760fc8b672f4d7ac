"""The `limit` and `cursor` query parameters of a listing, and its page as a response (X-Next-Cursor)."""

from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from robotappel.paging import MAX_LIMIT, Page

T = TypeVar("T")

NEXT_CURSOR = "X-Next-Cursor"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page (1-1000)")]
Cursor = Annotated[
    str | None, Query(max_length=1024, description="The previous page's X-Next-Cursor; absent for the first page")
]


def page_response(page: Page[T]) -> Response[list[T]]:
    """The page's rows as the body (an array, as the route always answered); X-Next-Cursor while more exist."""
    headers: dict[str, Any] = {NEXT_CURSOR: page.next_cursor} if page.next_cursor else {}
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=page.items, headers=headers)
