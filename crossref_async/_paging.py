"""Paging: every page of a list query as an async generator, cursor or offset.

Works routes page with cursors (no depth limit); the other routes page with offsets, which
Crossref caps at ``offset + rows <= 10,000``. Paging stops at the first page shorter than
``rows``: asking a cursor again after that returns empty pages forever, the infinite loop
other clients fall into.

Nothing is fetched ahead: the next page is requested only when the consumer asks for it, so
a slow consumer slows the requests (back-pressure) and memory holds one page at a time.
Closing the generator early (``break``, ``aclose()``) leaves nothing running.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, TypeVar

from . import _params as P
from ._errors import IncompleteResultsError, OffsetLimitError, ValidationError
from ._retry import Outcome
from .models import Page

if TYPE_CHECKING:
    from ._query import ListQuery

__all__ = ["iter_items", "iter_pages"]

logger = logging.getLogger("crossref_async")

T = TypeVar("T")


def page_rows(query: ListQuery[Any], rows: int | None) -> int:
    """Rows per page: the argument, else the query's own ``rows``, else the maximum."""
    chosen = rows if rows is not None else query._rows if query._rows else P.MAX_ROWS
    if isinstance(chosen, bool) or not isinstance(chosen, int) or not 1 <= chosen <= P.MAX_ROWS:
        raise ValidationError(chosen, f"rows per page must be between 1 and {P.MAX_ROWS}")
    return chosen


async def iter_pages(
    query: ListQuery[Any], item: type[T], *, rows: int | None = None
) -> AsyncGenerator[Page[T], None]:
    """Yield every non-empty page of ``query`` decoded with ``item`` (a model or Raw)."""
    size = page_rows(query, rows)
    client, route = query._client, query._route
    sample = getattr(query, "_sample", None)
    if sample is not None:
        yield await client._list(route, query.to_params(), item)
        return
    if route.works:
        async for page in _cursor_pages(query, item, size):
            yield page
        return
    offset = query._offset or 0
    while True:
        if offset + size > P.MAX_OFFSET_WINDOW:
            size = P.MAX_OFFSET_WINDOW - offset
        page = await client._list(route, query.to_params(rows=size, offset=offset), item)
        if page.items:
            yield page
        offset += len(page.items)
        if len(page.items) < size:
            return
        if offset >= P.MAX_OFFSET_WINDOW:
            total = page.total_results or 0
            if total > offset:
                raise OffsetLimitError(
                    f"{route.path} can only be paged by offset up to {P.MAX_OFFSET_WINDOW:,} "
                    f"items; {total:,} match. Narrow the query with filters."
                )
            return


async def _cursor_pages(query: ListQuery[Any], item: type[T], size: int) -> AsyncIterator[Page[T]]:
    client, route = query._client, query._route
    cursor = "*"
    expected: int | None = None
    received = 0
    replayed = False
    while True:
        outcome = Outcome()
        params = query.to_params(rows=size, cursor=cursor)
        page = await client._list(route, params, item, outcome)
        replayed = replayed or (outcome.replayed and cursor != "*")
        if expected is None:
            expected = page.total_results
        received += len(page.items)
        if page.items:
            yield page
        if len(page.items) < size or not page.next_cursor:
            break
        cursor = page.next_cursor
    if expected is not None and received != expected:
        if replayed and received < expected:
            raise IncompleteResultsError(
                f"{route.path}: received {received:,} of {expected:,} items; a cursor request "
                "was retried after it may have reached the server, so a page was probably "
                "skipped. Run the query again (the harvester redoes such shards by itself).",
                expected=expected,
                received=received,
            )
        logger.info(
            "%s: %d items received, %d announced (the index changed during paging)",
            route.path,
            received,
            expected,
        )


async def iter_items(
    query: ListQuery[Any], item: type[T], *, max_items: int | None = None, rows: int | None = None
) -> AsyncIterator[T]:
    """Yield the items of every page, stopping after ``max_items`` if given."""
    if max_items is not None and (
        isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0
    ):
        raise ValidationError(max_items, "max_items must be a whole number (0 or more)")
    if max_items == 0:
        return
    size = page_rows(query, rows)
    if max_items is not None:
        size = min(size, max_items)
    count = 0
    pages = iter_pages(query, item, rows=size)
    try:
        async for page in pages:
            for record in page.items:
                yield record
                count += 1
                if max_items is not None and count >= max_items:
                    return
    finally:
        await pages.aclose()
