"""The opening of a fresh harvest: records arrive with the first answer, no planning phase.

Planning by counts is a serial phase before the first record: the oldest record, then the
newest, then a count per split, each waiting for the one before (8 of the 23 requests of a
10,000-record harvest, at the list pool's 3 a second). A fresh harvest starts instead with:

* a ``sample`` of 100 of the query's records reduced to DOI and created date, first (until an
  answer states the budget, the governor lets one request through at a time, and this one
  answers in a fraction of a page's time). Crossref announces a filtered or queried sample's
  ``total-results`` as the query's (recorded: ``query=ecology&sample=20`` gives 452,242),
  and the sample shows where the created dates lie, so the shards are cut at its quantiles
  and every cursor starts its own window as soon as it answers;
* for a bare ``/works`` only (its sample announces its own size), a ``rows=0`` count first
  and then the sample beside the first page of the whole query, oldest first: the first page
  of shard 0 whatever the plan turned out to be (shard 0 always starts where the query does),
  so its records are written, not thrown away.

The budget's window may not let every cursor start at once (the sample, and the count and
the first page, took their share of it): a cursor that must wait gets a smaller shard, so
that the first cursors end together (:meth:`Opening._weights`).

The counts in such a plan are estimates: each shard is verified, as always, against the total
its own cursor announces. When the query needs more shards than a sample of 100 can place
(millions of records), the count-based planner (:func:`~crossref_async._shards.plan_shards`)
plans instead: its serial phase is then seconds in a harvest of hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import msgspec

from ._clock import loop_time
from ._errors import CrossrefError
from ._retry import Outcome
from ._shards import DEFAULT_TARGET, Plan, Shard, cut_at_sample, shards_between
from .models import Page, WorkKey

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["SAMPLE", "Opening"]

logger = logging.getLogger("crossref_async")

#: The records of the sample (the API's largest).
SAMPLE = 100
#: Above this many shards a sample of 100 places the cuts too coarsely: plan by counts.
MAX_SAMPLED_SHARDS = SAMPLE // 4
#: A 1000-row page's seconds in the 2026 list pools (about 1.3 s): how many records a cursor
#: that starts later than the others would have fetched meanwhile. Only the shards' sizes
#: depend on it; a wrong guess costs balance, never a record.
PAGE_SECONDS = 1.3


@dataclass
class Opening:
    """The first page and the plan of a fresh harvest of one query, fetched side by side.

    Run :meth:`fetch_first` as a task, then await :meth:`plan`; the harvester takes the first
    page from :meth:`first_page` as the start of shard 0 (None if it failed or, for a filtered
    or queried harvest, was never fetched: shard 0 then starts a cursor of its own).
    ``fallback`` plans by counts (many shards).
    """

    session: Session
    path: str
    params: tuple[tuple[str, str], ...]
    lower: dt.date | None
    upper: dt.date | None
    rows: int
    workers: int
    fallback: Callable[[], Awaitable[Plan]]
    target: int | None = None
    max_outage: float = 1800.0
    _first: Page[msgspec.Raw] | None = field(default=None, init=False, repr=False)
    _arrived: anyio.Event = field(default_factory=anyio.Event, init=False, repr=False)
    _answered: anyio.Event = field(default_factory=anyio.Event, init=False, repr=False)
    #: The created days of the sample, once :meth:`plan` has answered (where to split).
    days: tuple[dt.date, ...] = field(default=(), init=False)

    @property
    def whole(self) -> Plan:
        """The query as one shard: the window the first page and the sample are taken from."""
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return Plan(self.path, self.params, (Shard(0, self.lower, self.upper),), 0, created)

    @property
    def fetches_first(self) -> bool:
        """Whether the opening fetches a first page of the whole query (a bare ``/works``):
        a filtered or queried harvest is planned by its sample alone."""
        return not _sample_tells_total(self.params)

    async def fetch_first(self) -> None:
        """For a bare ``/works``, fetch the whole window's first page (oldest first, a new
        cursor) once the count has answered: until an answer states the budget, the governor
        lets one request through at a time, and a count answers in a fraction of a page's
        time. A filtered or queried harvest has no such page: its sample alone plans it."""
        await self._answered.wait()
        if not self.fetches_first:
            # The sample alone planned the harvest, before any page could go: shard 0 starts
            # a cursor of its own window, like every other shard (no count to narrow it).
            self._arrived.set()
            return
        whole = self.whole
        params = [*whole.page_params(whole.shards[0], rows=self.rows), ("cursor", "*")]
        outcome = Outcome(deadline=loop_time() + self.max_outage)
        try:
            self._first = await self.session.page(
                self.path, "work-list", params, msgspec.Raw, outcome
            )
        except CrossrefError as exc:
            # Not lost: shard 0 starts its own cursor, as any shard does.
            logger.info("the harvest's first page failed (%s); shard 0 starts again", exc)
        finally:
            self._arrived.set()

    async def first_page(self) -> Page[msgspec.Raw] | None:
        """The first page once it has arrived (None if it failed); handed out once."""
        await self._arrived.wait()
        first, self._first = self._first, None
        return first

    async def plan(self) -> Plan:
        """Shards cut at the quantiles of a sample of the query's created dates."""
        whole = self.whole
        try:
            if _sample_tells_total(self.params):
                sample = await self._sample(whole)
                total = await self._total(sample, whole)
            else:
                # A bare /works sample announces its own size: count first.
                total = await self._count(whole)
                sample = await self._sample(whole)
        finally:
            self._answered.set()
        pages = max(1, math.ceil(total / self.rows))
        if self.target is not None:
            parts = max(1, math.ceil(total / self.target))
        else:
            # A multiple of the cursors at once, so that they finish together; never more
            # shards than pages (each shard ends on a part-filled page).
            parts = self.workers * max(1, math.ceil(total / (self.workers * DEFAULT_TARGET)))
            parts = max(1, min(parts, pages))
        if parts > MAX_SAMPLED_SHARDS:
            logger.info("%d records in about %d shards: planning by counts", total, parts)
            return await self.fallback()
        days = [k.created.date for k in sample.items if k.created and k.created.date]
        self.days = tuple(sorted(days))
        cuts, counts = cut_at_sample(days, parts, total, self._weights(parts, total))
        shards = shards_between(self.lower, self.upper, cuts, counts)
        return Plan(self.path, self.params, shards, total, whole.created)

    def _weights(self, parts: int, total: int) -> list[float] | None:
        """Shard sizes that let the first cursors finish together although they cannot all
        start now: the budget's window may hold the last of them back for up to an interval
        (the sample, and for a bare ``/works`` the count and the opening page, took their
        share of it). None (equal shards) when there are more shards than cursors: the later
        shards start as the first ones end, and idle cursors split what is left."""
        if parts != self.workers or parts < 2:
            return None
        # The opening page, when there is one, is shard 0's first and already under way.
        started = 0 if _sample_tells_total(self.params) else 1
        waits = [0.0] * started + self.session.start_offsets("list", parts - started)
        speed = 1000 / PAGE_SECONDS  # records a second, a cursor
        # Every cursor busy until the same end: total = sum((end - wait) * speed).
        end = (total / speed + sum(waits)) / parts
        if end <= max(waits):
            return None  # too small to matter: a cursor that starts late gets nothing then
        return [end - wait for wait in waits]

    async def _sample(self, whole: Plan) -> Page[WorkKey]:
        params = whole.sample_params(whole.shards[0], SAMPLE)
        try:
            return await self.session.page(self.path, "work-list", params, WorkKey)
        finally:
            self._answered.set()

    async def _count(self, whole: Plan) -> int:
        params = [(k, v) for k, v in whole.page_params(whole.shards[0]) if k != "rows"]
        try:
            counted = await self.session.page(
                self.path, "work-list", [*params, ("rows", "0")], msgspec.Raw
            )
        finally:
            self._answered.set()
        return counted.total_results

    async def _total(self, sample: Page[WorkKey], whole: Plan) -> int:
        if sample.total_results > len(sample.items) or len(sample.items) < SAMPLE:
            return max(sample.total_results, len(sample.items))
        return await self._count(whole)  # a server that announces the sample's own size


def _sample_tells_total(params: tuple[tuple[str, str], ...]) -> bool:
    """Whether Crossref announces a sample's total as the query's: with a filter or a query
    (recorded), not on a bare ``/works``."""
    return any(name == "filter" or name.startswith("query") for name, _ in params)
