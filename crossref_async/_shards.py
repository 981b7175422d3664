"""Shard planning: split one works query into disjoint created-date windows of bounded size.

Shards partition on the record's ``created`` date (``from-created-date``/``until-created-date``)
because every record has one and it never changes; index and publication dates move (a
re-deposit re-indexes a record) or are missing, so windows on them could lose or double
records between planning and harvesting. Windows are split in halves by count (``rows=0``)
until each holds at most the target; the outermost shards are open-ended (or end at the
query's own created-date bounds) so that every record belongs to exactly one shard. Shard
counts guide the split; each shard is verified against the ``total-results`` its own cursor
announces when it is harvested.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import itertools
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ._errors import ValidationError
from ._params import CREATED_FROM, CREATED_UNTIL, check_whole
from ._tasks import run_concurrently
from .models import WorkKey, decoder

if TYPE_CHECKING:
    from ._query import WorksQuery
    from .models import Page

__all__ = ["Plan", "Shard", "canonical_params", "plan_shards", "without_index_date"]

logger = logging.getLogger("crossref_async")

FROM, UNTIL = CREATED_FROM, CREATED_UNTIL
INDEX_FROM = "from-index-date"


def canonical_params(params: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """A query's parameters in one canonical order, so that the same query written
    differently compares equal: filters (``name:value`` items) and ``select`` fields sorted,
    then every parameter sorted by name.

    >>> canonical_params([("filter", "type:book,from-pub-date:2020"), ("query", "x")])
    (('filter', 'from-pub-date:2020,type:book'), ('query', 'x'))
    >>> canonical_params([("filter", "from-pub-date:2020,type:book")]) == canonical_params(
    ...     [("filter", "type:book,from-pub-date:2020")])
    True
    """
    out: list[tuple[str, str]] = []
    for name, value in params:
        if name in ("filter", "select"):
            # A filter value cannot hold a comma (Crossref has no escape for it), so the
            # comma-separated items are the filters themselves.
            value = ",".join(sorted(dict.fromkeys(value.split(","))))
        out.append((name, value))
    return tuple(sorted(out))


def without_index_date(params: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The parameters without an incremental run's ``from-index-date`` filter: the query
    that daily runs of one incremental harvest have in common.

    >>> without_index_date([("filter", "type:book,from-index-date:2026-11-30")])
    (('filter', 'type:book'),)
    """
    out: list[tuple[str, str]] = []
    for name, value in params:
        if name == "filter":
            value = ",".join(
                item for item in value.split(",") if item.partition(":")[0] != INDEX_FROM
            )
            if not value:
                continue
        out.append((name, value))
    return tuple(out)


DEFAULT_TARGET = 50_000
MIN_TARGET = 2_500


@dataclass(frozen=True)
class Shard:
    """One created-date window of a query: ``start`` to ``end``, inclusive; None is open.

    ``count`` is how many records the window held when it was planned.

    >>> from crossref_async.harvest import plan
    >>> the_plan = await plan(cr.works, target=300)
    >>> the_plan.shards[0], the_plan.shards[-1].start
    (Shard(id=0, start=None, end=datetime.date(2006, 8, 14), count=110), datetime.date(2022, 10, 8))
    """

    id: int
    start: dt.date | None
    end: dt.date | None
    count: int | None = None

    def filters(self) -> list[tuple[str, str]]:
        """The filters that select this window.

        >>> Shard(1, dt.date(2006, 8, 15), dt.date(2013, 1, 28)).filters()
        [('from-created-date', '2006-08-15'), ('until-created-date', '2013-01-28')]
        >>> Shard(4, dt.date(2022, 10, 8), None).filters()
        [('from-created-date', '2022-10-08')]
        """
        out: list[tuple[str, str]] = []
        if self.start is not None:
            out.append((FROM, self.start.isoformat()))
        if self.end is not None:
            out.append((UNTIL, self.end.isoformat()))
        return out

    @property
    def label(self) -> str:
        """``2019-01-01..2019-06-30`` (``..`` for an open end).

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works, target=300)
        >>> [shard.label for shard in the_plan.shards]
        ['..2006-08-14', '2006-08-15..2013-01-28', '2013-01-29..2019-07-15',
         '2019-07-16..2022-10-07', '2022-10-08..']
        """
        start = self.start.isoformat() if self.start else ""
        end = self.end.isoformat() if self.end else ""
        return f"{start}..{end}"

    @property
    def name(self) -> str:
        """A file-name-safe identifier: ``shard-0007``.

        A harvest names each shard's part and checkpoint after it (``shard-0007.json``):

        >>> Shard(7, None, None).name
        'shard-0007'
        """
        return f"shard-{self.id:04d}"


@dataclass(frozen=True)
class Plan:
    """Disjoint shards of one works query, serializable so shards can run as separate jobs.

    :func:`crossref_async.harvest.plan` makes one; ``params`` is the query without paging:

    >>> from crossref_async.harvest import plan
    >>> the_plan = await plan(cr.works.filter(type="journal-article"), target=200)
    >>> the_plan.path, the_plan.params, the_plan.total, len(the_plan.shards)
    ('/works', (('filter', 'type:journal-article'),), 607, 4)
    >>> the_plan.shards[1]
    Shard(id=1, start=datetime.date(2013, 1, 29), end=datetime.date(2019, 7, 15), count=175)
    """

    path: str
    params: tuple[tuple[str, str], ...]
    shards: tuple[Shard, ...]
    total: int
    created: str

    @property
    def shard_total(self) -> int:
        """The sum of the shard counts (equal to ``total`` for a consistent plan).

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works, target=300)
        >>> [shard.count for shard in the_plan.shards], the_plan.shard_total
        ([110, 211, 288, 172, 219], 1000)
        """
        return sum(s.count or 0 for s in self.shards)

    @property
    def consistent(self) -> bool:
        """Whether the shard counts add up to the query's total.

        A fresh plan's do by construction (each right half's count is its window's minus the
        left half's); a plan edited by hand or cut down may not. The counts are estimates
        either way: each shard is verified by the ``total-results`` its own cursor announces.

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works, target=300)
        >>> the_plan.consistent, the_plan.total
        (True, 1000)
        """
        return self.shard_total == self.total

    def same_query(self, path: str, params: Sequence[tuple[str, str]]) -> bool:
        """Whether this plan is for the query ``path`` + ``params`` (in any order).

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works.filter(type="book", from_pub_date="2020"))
        >>> the_plan.same_query("/works", [("filter", "from-pub-date:2020,type:book")])
        True
        >>> the_plan.same_query("/works", [("filter", "type:book")])
        False
        """
        return (self.path, canonical_params(self.params)) == (path, canonical_params(params))

    def to_json(self) -> str:
        """The plan as JSON (what ``crossref-async plan`` prints).

        >>> from crossref_async.harvest import plan
        >>> print((await plan(cr.works.filter(type="book"))).to_json())
        {
          "path": "/works",
          "params": [
            [
              "filter",
              "type:book"
            ]
          ],
          "total": 36,
          "shard_total": 36,
          "consistent": true,
          "created": "...",
          "shards": [
            {
              "id": 0,
              "start": null,
              "end": null,
              "count": 36,
              "filter": ""
            }
          ]
        }
        """
        data = {
            "path": self.path,
            "params": [list(p) for p in self.params],
            "total": self.total,
            "shard_total": self.shard_total,
            "consistent": self.consistent,
            "created": self.created,
            "shards": [
                {
                    "id": s.id,
                    "start": s.start.isoformat() if s.start else None,
                    "end": s.end.isoformat() if s.end else None,
                    "count": s.count,
                    "filter": ",".join(f"{k}:{v}" for k, v in s.filters()),
                }
                for s in self.shards
            ],
        }
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        """Read a plan written by :meth:`to_json`.

        A plan saved once can be run shard by shard, by separate jobs:

        >>> from crossref_async.harvest import plan
        >>> original = await plan(cr.works, target=300)
        >>> again = Plan.from_json(original.to_json())
        >>> again == original, again.shard(2).label, again.shard(2).count
        (True, '2013-01-29..2019-07-15', 288)
        """
        try:
            data: dict[str, Any] = json.loads(text)
            shards = tuple(
                Shard(
                    id=_count(s["id"]),
                    start=dt.date.fromisoformat(s["start"]) if s.get("start") else None,
                    end=dt.date.fromisoformat(s["end"]) if s.get("end") else None,
                    count=_count(s["count"]) if s.get("count") is not None else None,
                )
                for s in data["shards"]
            )
            the_plan = cls(
                path=str(data["path"]),
                params=tuple((str(k), str(v)) for k, v in data["params"]),
                shards=shards,
                total=_count(data["total"]),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                "plan", f"not a shard plan written by crossref-async: {exc}"
            ) from exc
        the_plan._check_whole()
        return the_plan

    def _check_whole(self) -> None:
        # A plan's shards must tile the created-date axis, or records between two windows
        # would never be asked for: an edited plan that lost a shard is refused here.
        if not self.shards:
            raise ValidationError("plan", "a shard plan needs at least one shard")
        ids = [s.id for s in self.shards]
        if len(set(ids)) != len(ids):
            raise ValidationError("plan", "two shards of the plan have the same id")
        ordered = sorted(self.shards, key=lambda s: s.start or dt.date.min)
        for before, after in itertools.pairwise(ordered):
            if (
                before.end is None
                or after.start is None
                or (after.start - before.end) != dt.timedelta(days=1)
            ):
                raise ValidationError(
                    "plan",
                    f"its shards do not cover the query: nothing between shard {before.id} "
                    f"({before.label}) and shard {after.id} ({after.label}); was a shard "
                    "removed or edited? Make a new plan",
                )
        if not self.consistent:
            raise ValidationError(
                "plan",
                f"its shard counts add up to {self.shard_total:,} but its total is "
                f"{self.total:,}; was a shard removed or edited? Make a new plan",
            )

    def page_params(
        self, shard: Shard, resume_from: str | None = None, *, rows: int = 1000
    ) -> list[tuple[str, str]]:
        """The parameters of a page of ``shard``'s cursor walk (without the cursor): the
        plan's query within the shard's window, oldest first, from ``resume_from`` (a
        created day) when a broken cursor is replaced.

        Oldest first, so every record before the last one written is already written, and a
        new cursor can start at that record's day.

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works.filter(type="book"), target=10)
        >>> the_plan.page_params(the_plan.shard(1), rows=500)
        [('filter', 'type:book,from-created-date:...,until-created-date:...'),
         ('sort', 'created'), ('order', 'asc'), ('rows', '500')]
        """
        window = shard.filters()
        if resume_from is not None:
            window = [(k, v) for k, v in window if k != FROM]
            window.insert(0, (FROM, resume_from))
        extra = ",".join(f"{k}:{v}" for k, v in window)
        dropped = ("rows", "offset", "cursor", "sort", "order", "sample", "facet")
        params = [(k, v) for k, v in self.params if k not in dropped]
        if extra:
            for i, (k, v) in enumerate(params):
                if k == "filter":
                    params[i] = (k, f"{v},{extra}")
                    break
            else:
                params.append(("filter", extra))
        params += [("sort", "created"), ("order", "asc"), ("rows", str(rows))]
        return params

    def sample_params(self, shard: Shard, size: int) -> list[tuple[str, str]]:
        """The parameters of a ``sample`` of ``size`` records of ``shard``'s window, each
        reduced to its DOI and created date (what cutting the window needs).

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works.filter(type="book"))
        >>> the_plan.sample_params(the_plan.shard(0), 100)
        [('filter', 'type:book'), ('select', 'DOI,created'), ('sample', '100')]
        """
        dropped = ("sort", "order", "rows", "select")
        params = [(k, v) for k, v in self.page_params(shard) if k not in dropped]
        return [*params, ("select", "DOI,created"), ("sample", str(size))]

    def shard(self, shard_id: int) -> Shard:
        """The shard with this id.

        >>> from crossref_async.harvest import plan
        >>> the_plan = await plan(cr.works, target=300)
        >>> the_plan.shard(4)
        Shard(id=4, start=datetime.date(2022, 10, 8), end=None, count=219)
        >>> try:
        ...     the_plan.shard(9)
        ... except ValidationError as error:
        ...     print(error.rule)
        no shard with that id in the plan (ids: 0, 1, 2, 3, 4)
        """
        for s in self.shards:
            if s.id == shard_id:
                return s
        ids = ", ".join(str(s.id) for s in self.shards)
        raise ValidationError(shard_id, f"no shard with that id in the plan (ids: {ids})")


def _count(value: object) -> int:
    return check_whole(value, "a shard id or count", low=0)


def period_start(text: str) -> dt.date:
    """The first day of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    parts = [int(p) for p in text.split("-")]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def _period_end(text: str) -> dt.date:
    # Crossref reads "until 2010-06" as the whole of June, "until 2010" as the whole year.
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        return dt.date(*parts)
    if len(parts) == 2:
        return dt.date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    return dt.date(parts[0], 12, 31)


def split_created_bounds(
    filters: Sequence[tuple[str, str]],
) -> tuple[tuple[tuple[str, str], ...], dt.date | None, dt.date | None]:
    """Take the query's own created-date filters out, as bounds for the shard windows.

    Repeating a filter name means OR to Crossref, so shard windows cannot simply be added to
    a query that already filters on created dates; they are intersected with it instead.
    """
    rest = tuple(f for f in filters if f[0] not in (FROM, UNTIL))
    starts = [period_start(v) for k, v in filters if k == FROM]
    ends = [_period_end(v) for k, v in filters if k == UNTIL]
    return rest, min(starts) if starts else None, max(ends) if ends else None


def _created_of(page_items: Sequence[msgspec.Raw]) -> dt.date | None:
    for raw in page_items:
        created = decoder(WorkKey).decode(raw).created
        day = created.date if created is not None else None
        if day is not None:
            return day
    return None


async def _edge(query: WorksQuery[Any], order: Literal["asc", "desc"]) -> Page[msgspec.Raw]:
    """The query's oldest or newest record (DOI and created date only), with the total."""
    return await query.sort("created", order).select("DOI", "created").raw_page(rows=1)


def harvest_base(
    query: WorksQuery[Any],
) -> tuple[WorksQuery[Any], dt.date | None, dt.date | None]:
    """The query a harvest pages through, and the created-date bounds it had.

    Its own created-date filters become bounds; paging parameters go; facets go (they would
    be computed again for every page); a ``select`` keeps ``DOI`` and ``created``, which the
    harvester needs to de-duplicate and to resume.
    """
    base, created = query.harvest_form()
    _, lower, upper = split_created_bounds(created)
    return base, lower, upper


async def plan_shards(
    query: WorksQuery[Any], *, target: int | None = None, max_shards: int = 10_000
) -> Plan:
    """Split ``query`` into created-date shards of at most ``target`` records each.

    Without a ``target``, shards hold about an eighth of the total (between 2,500 and 50,000
    records), so that even a small harvest runs several cursors at once, with few part-filled
    pages. Costs two requests (the first, sorted oldest first, gives the total and the
    earliest created date; the second the latest) plus one count per split: the windows are
    open-ended at the outside from the start, so the second half's count is the window's minus
    the first's and nothing needs counting again. Windows are split between the records' own
    earliest and latest created days, however wide the query's own created-date bounds.
    """
    if target is not None:
        check_whole(target, "target")
    if query.sample_size is not None:
        raise ValidationError("sample", "a sampled query cannot be sharded")
    created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    base, lower, upper = harvest_base(query)
    bounded = _window(base, lower, upper)
    oldest = await _edge(bounded, "asc")
    total = oldest.total_results
    if target is None:
        target = min(DEFAULT_TARGET, max(MIN_TARGET, math.ceil(total / 8)))
    if total <= target:
        shards = (Shard(0, lower, upper, total),)
        return Plan(query.path, tuple(base.to_params()), shards, total, created)

    # Split between the records' own first and last created days, within the query's bounds
    # (a query from 1900 still splits where its records are).
    first = _created_of(oldest.items)
    last = _created_of((await _edge(bounded, "desc")).items)
    if first is None or last is None or first > last:
        logger.warning(
            "%d records, above the target %d, in one shard: their created dates are missing",
            total,
            target,
        )
        shards = (Shard(0, lower, upper, total),)
        return Plan(query.path, tuple(base.to_params()), shards, total, created)

    # (first day it covers, start, end, count); an open start or end (None) also takes the
    # records created outside [first, last] while the harvest runs.
    windows: list[tuple[dt.date, dt.date | None, dt.date | None, int]] = []

    async def split(start: dt.date | None, end: dt.date | None, count: int) -> None:
        low = max(start, first) if start else first
        high = min(end, last) if end else last
        if count <= target or low >= high or len(windows) >= max_shards:
            if count > target:
                logger.warning(
                    "shard %s..%s holds %d records, above the target %d: one day of "
                    "created dates cannot be split further",
                    low,
                    high,
                    count,
                    target,
                )
            windows.append((low, start, end, count))
            return
        mid = low + (high - low) // 2
        left = await _window(base, start, mid).count()
        await run_concurrently(
            [
                functools.partial(split, start, mid, left),
                # Never below zero, should the index change between the two counts.
                functools.partial(split, mid + dt.timedelta(days=1), end, max(0, count - left)),
            ]
        )

    await split(lower, upper, total)
    windows.sort(key=lambda window: window[0])
    shards_list = tuple(
        Shard(i, start, end, count) for i, (_, start, end, count) in enumerate(windows)
    )
    return Plan(query.path, tuple(base.to_params()), shards_list, total, created)


def cut_at_sample(
    days: Sequence[dt.date],
    parts: int,
    total: int,
    weights: Sequence[float] | None = None,
) -> tuple[list[dt.date], list[int]]:
    """Where to cut a window into ``parts`` shards of about equal size (or of sizes in
    proportion to ``weights``, one per shard), from the created days of a random sample of its
    records, and the estimated records in each shard (summing to ``total``). A cut day starts
    a shard; cuts are distinct and after the sample's first day, so there may be fewer shards
    than asked for (a sample all on one day gives one).

    >>> days = [dt.date(2020, 1, d) for d in range(1, 31)]
    >>> cuts, counts = cut_at_sample(days, 3, 3000)
    >>> [c.isoformat() for c in cuts], counts
    (['2020-01-11', '2020-01-21'], [1000, 1000, 1000])
    >>> cut_at_sample([dt.date(2020, 1, 1)] * 50, 4, 5000)
    ([], [5000])
    >>> cut_at_sample(days, 3, 3000, weights=[2, 2, 1])[1]
    [1200, 1200, 600]
    """
    ordered = sorted(days)
    if not ordered or parts <= 1:
        return [], [total]
    if weights is None:
        weights = [1.0] * parts
    if len(weights) != parts or any(w <= 0 for w in weights):
        raise ValueError(f"weights must be {parts} positive numbers, not {list(weights)!r}")
    cuts: list[dt.date] = []
    start = 0  # where the current shard's share of the sample begins
    while len(cuts) < parts - 1:
        # The next cut where the rest of the sample divides among the shards left by their
        # weights; on a day boundary (a day is never split), whichever side is nearer.
        left = weights[len(cuts) :]
        want = start + (len(ordered) - start) * left[0] / sum(left)
        at = min(len(ordered) - 1, math.ceil(want))
        before = bisect.bisect_left(ordered, ordered[at])
        after = bisect.bisect_right(ordered, ordered[at])
        sides = [i for i in (before, after) if start < i < len(ordered)]
        if not sides:
            break
        at = min(sides, key=lambda i: abs(i - want))
        cuts.append(ordered[at])
        start = at
    # Each shard's share of the sample, scaled to the total (the remainder to the last).
    shares = [sum(1 for d in ordered if lo <= d < hi) for lo, hi in _spans(ordered[0], cuts)]
    counts = [total * share // len(ordered) for share in shares]
    counts[-1] += total - sum(counts)
    return cuts, counts


def _spans(first: dt.date, cuts: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    return list(itertools.pairwise([first, *cuts, dt.date.max]))


def shards_between(
    lower: dt.date | None, upper: dt.date | None, cuts: Sequence[dt.date], counts: Sequence[int]
) -> tuple[Shard, ...]:
    """Shards ``lower``..``cuts[0] - 1``, ``cuts[0]``..``cuts[1] - 1``, ... ``cuts[-1]``..``upper``
    (None: open), with their estimated counts: every created day in exactly one of them.

    >>> for shard in shards_between(None, None, [dt.date(2020, 1, 11)], [10, 20]):
    ...     print(shard.label, shard.count)
    ..2020-01-10 10
    2020-01-11.. 20
    """
    starts = [lower, *cuts]
    ends = [*(c - dt.timedelta(days=1) for c in cuts), upper]
    return tuple(
        Shard(i, start, end, count)
        for i, (start, end, count) in enumerate(zip(starts, ends, counts, strict=True))
    )


def _window(query: WorksQuery[Any], start: dt.date | None, end: dt.date | None) -> WorksQuery[Any]:
    filters: dict[str, object] = {}
    if start is not None:
        filters[FROM] = start
    if end is not None:
        filters[UNTIL] = end
    return query.filter(filters) if filters else query
