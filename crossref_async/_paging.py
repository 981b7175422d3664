"""Paging: every page of a list query as an async generator, cursor or offset.

Works routes and the ``/members``, ``/journals`` and ``/funders`` lists page with cursors (no
depth limit); the others page with offsets, which Crossref caps at ``offset + rows <= 10,000``.

A page shorter than ``rows`` is not the end: Crossref sends them with more to come (recorded:
19 items for ``rows=20`` at offset 0 of 336,022). A walk ends only at a true end
(:func:`walk_ends`): an empty page, a cursor page without ``next-cursor``, or the items seen
reaching ``total-results``. An empty page ends it even when fewer items arrived than
announced, because asking a cursor again after its end gives empty pages forever (the infinite
loop other clients fall into); that shortfall is logged as a WARNING naming both numbers, or
raised as :class:`~crossref_async.IncompleteResultsError` when the caller asked for
``complete=True`` or a retried cursor request probably skipped a page.

A list route that refuses a cursor (a 400 naming ``cursor``, as Crossref answered in 2019) or
ignores it (no ``next-cursor`` on the first page while more remain) is paged by offset instead,
with a WARNING: everything up to 10,000 items still arrives, and past that
:class:`~crossref_async.OffsetLimitError` says how many were out of reach, so nothing is
dropped silently.

Nothing is fetched ahead: the next page is requested only when the consumer asks for it, so
a slow consumer slows the requests (back-pressure) and memory holds one page at a time.
Closing the generator early (``break``, ``aclose()``) leaves nothing running.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Protocol, TypeVar

from . import _params as P
from ._errors import BadRequestError, IncompleteResultsError, OffsetLimitError
from ._retry import Outcome
from .models import Page

__all__ = ["iter_items", "iter_pages", "walk_ends"]

logger = logging.getLogger("crossref_async")

T = TypeVar("T")


class Source(Protocol):
    """What paging needs of a list query (:class:`crossref_async._query.PageSource`)."""

    @property
    def path(self) -> str: ...

    @property
    def cursors(self) -> bool: ...

    @property
    def works(self) -> bool: ...

    @property
    def rows(self) -> int | None: ...

    @property
    def offset(self) -> int | None: ...

    @property
    def sampled(self) -> bool: ...

    def params(
        self, *, rows: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> list[tuple[str, str]]: ...

    async def fetch(
        self, params: list[tuple[str, str]], item: type[T], outcome: Outcome | None = None
    ) -> Page[T]: ...


def page_rows(source: Source, rows: int | None) -> int:
    """Rows per page: the argument, else the query's own ``rows``, else the maximum."""
    chosen = rows if rows is not None else source.rows if source.rows else P.MAX_ROWS
    return P.check_whole(chosen, "rows per page", high=P.MAX_ROWS)


def walk_ends(items: int, seen: int, total: int, *, cursor: str | bool | None = False) -> bool:
    """Whether a page walk is over after a page of ``items`` items, ``seen`` in all so far.

    The end is an empty page, the items seen reaching ``total`` (the announced
    ``total-results``; 0 means not announced), or, on a cursor walk, a page without a next
    cursor (``cursor`` is the page's ``next_cursor``; offset walks leave it ``False``). A
    short page is not an end.

    >>> walk_ends(19, 19, 336_022, cursor="token")  # the recorded short page: more to come
    False
    >>> walk_ends(0, 19, 336_022, cursor="token"), walk_ends(20, 60, 60, cursor="token")
    (True, True)
    >>> walk_ends(20, 40, 60, cursor=None), walk_ends(20, 40, 60)
    (True, False)
    """
    return items == 0 or cursor is None or cursor == "" or (total > 0 and seen >= total)


def _shortfall(
    path: str, received: int, expected: int, *, complete: bool, replayed: bool = False
) -> None:
    """Account for a walk that ended with ``received`` of ``expected`` announced items."""
    if expected <= 0 or received == expected:
        return
    if received > expected:
        logger.info(
            "%s: %d items received, %d announced (the index grew during paging)",
            path,
            received,
            expected,
        )
        return
    if replayed:
        raise IncompleteResultsError(
            f"{path}: received {received:,} of {expected:,} items; a cursor request was "
            "retried after it may have reached the server, so a page was probably skipped. "
            "Run the query again (the harvester redoes such shards by itself).",
            expected=expected,
            received=received,
        )
    if complete:
        raise IncompleteResultsError(
            f"{path}: the server ended the list after {received:,} of {expected:,} announced "
            "items (complete=True asks for all of them). Run the query again, or harvest it "
            "(a harvest verifies every shard and redoes one that comes back short).",
            expected=expected,
            received=received,
        )
    logger.warning(
        "%s: paging ended after %d of %d announced items (the server sent an empty page or "
        "no next cursor); pass complete=True to raise instead",
        path,
        received,
        expected,
    )


def _refuses_cursor(exc: BadRequestError) -> bool:
    """Whether a 400 is the route refusing the ``cursor`` parameter itself."""
    return any(d.value == "cursor" or "cursor" in (d.type or "") for d in exc.messages)


async def iter_pages(
    source: Source, item: type[T], *, rows: int | None = None, complete: bool = False
) -> AsyncGenerator[Page[T], None]:
    """Yield every non-empty page of ``source`` decoded with ``item`` (a model or Raw).

    ``complete=True`` raises :class:`~crossref_async.IncompleteResultsError` when the server
    ends the list before ``total-results`` items arrived, instead of logging a WARNING.
    """
    size = page_rows(source, rows)
    if source.sampled:
        yield await source.fetch(source.params(), item)
        return
    if not source.cursors or source.offset is not None:
        async with aclosing(
            _offset_pages(source, item, size, source.offset or 0, complete)
        ) as pages:
            async for page in pages:
                yield page
        return
    async with aclosing(_cursor_pages(source, item, size, complete)) as pages:
        async for page in pages:
            yield page


async def _offset_pages(
    source: Source, item: type[T], size: int, offset: int, complete: bool
) -> AsyncGenerator[Page[T], None]:
    """Pages from ``offset`` on; the offset reached is what counts against the total, since
    the items before a starting offset are as good as seen."""
    total = 0
    while True:
        rows = min(size, P.MAX_OFFSET_WINDOW - offset)
        page = await source.fetch(source.params(rows=rows, offset=offset), item)
        total = page.total_results
        got = len(page.items)
        if got:
            yield page
        # Advance by what arrived: a short page is followed by the items it did not carry.
        offset += got
        if walk_ends(got, offset, total):
            break
        if offset >= P.MAX_OFFSET_WINDOW:
            raise OffsetLimitError(
                f"{source.path} can only be paged by offset up to {P.MAX_OFFSET_WINDOW:,} "
                f"items; {total:,} match. Narrow the query with filters."
            )
    _shortfall(source.path, offset, total, complete=complete)


async def _cursor_pages(
    source: Source, item: type[T], size: int, complete: bool
) -> AsyncGenerator[Page[T], None]:
    cursor = "*"
    expected = 0
    received = 0
    replayed = False
    while True:
        outcome = Outcome()
        params = source.params(rows=size, cursor=cursor)
        try:
            page = await source.fetch(params, item, outcome)
        except BadRequestError as exc:
            if cursor != "*" or source.works or not _refuses_cursor(exc):
                raise
            logger.warning(
                "%s refuses cursors (%s); paging by offset instead, which reaches at most %d items",
                source.path,
                exc,
                P.MAX_OFFSET_WINDOW,
            )
            async with aclosing(_offset_pages(source, item, size, 0, complete)) as fallbacks:
                async for fallback in fallbacks:
                    yield fallback
            return
        replayed = replayed or (outcome.replayed and cursor != "*")
        if cursor == "*":
            expected = page.total_results
        received += len(page.items)
        if page.items:
            yield page
        if (
            cursor == "*"
            and not source.works
            and not page.next_cursor
            and not walk_ends(len(page.items), received, expected)
        ):
            # The server answered the first page but ignored the cursor: that page was the
            # first ``size`` items, so offset paging picks up right after them.
            logger.warning(
                "%s ignored the cursor (no next-cursor with %d of %d items seen); paging by "
                "offset instead, which reaches at most %d items",
                source.path,
                received,
                expected,
                P.MAX_OFFSET_WINDOW,
            )
            async with aclosing(_offset_pages(source, item, size, received, complete)) as fallbacks:
                async for fallback in fallbacks:
                    yield fallback
            return
        if walk_ends(len(page.items), received, expected, cursor=page.next_cursor):
            break
        cursor = page.next_cursor or cursor
    _shortfall(source.path, received, expected, complete=complete, replayed=replayed)


async def iter_items(
    source: Source,
    item: type[T],
    *,
    max_items: int | None = None,
    rows: int | None = None,
    complete: bool = False,
) -> AsyncIterator[T]:
    """Yield the items of every page, stopping after ``max_items`` if given."""
    if max_items is not None:
        P.check_whole(max_items, "max_items", low=0)
    if max_items == 0:
        return
    size = page_rows(source, rows)
    if max_items is not None:
        size = min(size, max_items)
    count = 0
    pages = iter_pages(source, item, rows=size, complete=complete)
    try:
        async for page in pages:
            for record in page.items:
                yield record
                count += 1
                if max_items is not None and count >= max_items:
                    return
    finally:
        await pages.aclose()
