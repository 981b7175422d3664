"""Bulk harvesting: every record a works query matches, exactly once, resumable.

A harvest plans disjoint created-date shards (see :func:`plan`), runs several cursors at once
under the client's governor, writes each record through untouched (the bytes Crossref sent)
to one JSONL part per shard, checkpoints each shard after every page, verifies each shard
(records written equal the shard's ``total-results``, no DOI twice) and redoes a shard that
fails verification, then joins the parts into the output file.

After a crash or a kill, run it again with ``resume=True``: finished shards are kept, and an
unfinished shard's part is cut back to its last checkpoint and continued by a new cursor that
starts at the created day of the last record written (records come oldest first; those
already written are recognized by DOI). No cursor is ever reused after a failure: Crossref
keeps a cursor's position on its side, so a reused or retried cursor can skip a page.

A ``sink`` callback receives each record at least once: records delivered just before a
crash, or in a shard that had to be redone, may be delivered again.

>>> import asyncio
>>> from crossref_async import Crossref
>>> from crossref_async.harvest import harvest
>>> from crossref_async.testing import FakeCrossref
>>> async def main(out: str) -> int:
...     fake = FakeCrossref(works=300)
...     async with Crossref(mailto="me@example.org", transport=fake.transport()) as cr:
...         query = cr.works.filter(type="journal-article")
...         report = await harvest(cr, query, out=out, target=100)
...         return report.records == len(fake.corpus.matching([("type", "journal-article")]))
>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as tmp:
...     asyncio.run(main(os.path.join(tmp, "works.jsonl.gz")))
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec

from ._errors import (
    CrossrefError,
    HarvestStateError,
    IncompleteResultsError,
    NotFound,
    ValidationError,
)
from ._params import MAX_ROWS, doi_key
from ._query import Route
from ._retry import Outcome
from ._shards import Plan, Shard, harvest_base, period_start, plan_shards
from ._sinks import (
    CallbackSink,
    Checkpoint,
    Compression,
    PartFile,
    compress,
    compression_for,
    encode_lines,
    read_records,
)
from ._tasks import run_concurrently

if TYPE_CHECKING:
    from ._client import Crossref
    from ._query import WorksQuery

__all__ = [
    "Harvester",
    "Plan",
    "Progress",
    "Report",
    "Shard",
    "harvest",
    "iter_records",
    "plan",
    "read_state",
]

logger = logging.getLogger("crossref_async")


async def plan(query: WorksQuery[Any], *, target: int | None = None) -> Plan:
    """Split a works query into disjoint created-date shards of at most ``target`` records
    (by default about an eighth of the total, between 2,500 and 50,000).

    Planning only counts (``rows=0``); pass the :class:`Plan` to :func:`harvest`, or save it
    (:meth:`Plan.to_json`) to run its shards as separate jobs.

    >>> the_plan = await plan(cr.works.filter(type="journal-article"), target=200)
    >>> the_plan.total, [shard.count for shard in the_plan.shards]
    (607, [197, 175, 104, 131])
    >>> [shard.label for shard in the_plan.shards]
    ['..2013-01-28', '2013-01-29..2019-07-15', '2019-07-16..2022-10-07', '2022-10-08..']
    """
    return await plan_shards(query, target=target)


@dataclass(frozen=True)
class Progress:
    """Where a harvest stands; passed to the ``on_progress`` callback after every page.

    >>> import tempfile
    >>> updates = []
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     books = cr.works.filter(type="book")
    ...     out = f"{tmp}/books.jsonl"
    ...     report = await harvest(cr, books, out=out, rows=10, on_progress=updates.append)
    >>> updates[0]
    Progress(records=10, total=36, pages=1, shards_done=0, shards=1, elapsed=...)
    >>> updates[-1].records, updates[-1].pages, updates[-1].shards_done, updates[-1].eta
    (36, 4, 1, 0.0)
    """

    records: int
    total: int
    pages: int
    shards_done: int
    shards: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Records per second so far.

        >>> Progress(records=500, total=2000, pages=5, shards_done=1, shards=4, elapsed=10.0).rate
        50.0
        """
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, if known.

        >>> Progress(records=500, total=2000, pages=5, shards_done=1, shards=4, elapsed=10.0).eta
        30.0
        >>> print(Progress(0, total=2000, pages=0, shards_done=0, shards=4, elapsed=1.0).eta)
        None
        """
        left = self.total - self.records
        return left / self.rate if self.rate > 0 and left >= 0 else None


@dataclass(frozen=True)
class Report:
    """What a harvest did: :func:`harvest` and :meth:`Harvester.run` return it.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
    >>> report
    Report(records=36, expected=36, shards=1, shards_redone=0, pages=1, retries=0,
           rate_limited=0, elapsed=..., output_bytes=..., output=...Path('.../books.jsonl'),
           since=None)
    """

    records: int
    expected: int
    shards: int
    shards_redone: int
    pages: int
    retries: int
    rate_limited: int
    elapsed: float
    output_bytes: int
    output: Path | None
    since: dt.date | None = None

    @property
    def verified(self) -> bool:
        """Whether every shard verified: as many records as announced, no DOI twice.

        Always true for a report that was returned (a shard that cannot be verified raises
        :class:`IncompleteResultsError`), except in incremental runs, where the newest copy of
        a record seen twice is kept and so ``records`` may be below ``expected``.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
        >>> report.verified, report.records, report.expected
        (True, 36, 36)
        """
        return self.records == self.expected or (
            self.since is not None and self.records <= self.expected
        )

    @property
    def records_per_second(self) -> float:
        """Throughput over the whole run.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
        >>> report.records_per_second == report.records / report.elapsed
        True
        """
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    def table(self) -> str:
        """The report as a small aligned table, for the command line.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
        >>> print(report.table())
        records    36 (expected 36)
        since      (everything)
        shards     1 (0 redone)
        pages      1
        retries    0
        429s       0
        elapsed    ... s
        records/s  ...
        output     .../books.jsonl (... bytes)
        """
        rows = [
            ("records", f"{self.records:,} (expected {self.expected:,})"),
            ("since", self.since.isoformat() if self.since else "(everything)"),
            ("shards", f"{self.shards} ({self.shards_redone} redone)"),
            ("pages", f"{self.pages:,}"),
            ("retries", f"{self.retries:,}"),
            ("429s", f"{self.rate_limited:,}"),
            ("elapsed", f"{self.elapsed:.1f} s"),
            ("records/s", f"{self.records_per_second:,.0f}"),
            ("output", f"{self.output or '(callback)'} ({self.output_bytes:,} bytes)"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


class _DoiOnly(msgspec.Struct):
    DOI: str | None = None


class _Created(msgspec.Struct):
    date_parts: list[list[int | None]] = msgspec.field(default_factory=list, name="date-parts")


class _Key(msgspec.Struct):
    DOI: str | None = None
    created: _Created | None = None

    def created_day(self) -> str | None:
        parts = self.created.date_parts[0] if self.created and self.created.date_parts else []
        if len(parts) < 3 or None in parts[:3]:
            return None
        year, month, day = parts[:3]
        return f"{year:04d}-{month:02d}-{day:02d}"


_key_decoder = msgspec.json.Decoder(_Key)


class _DoiIndexed(msgspec.Struct):
    DOI: str | None = None
    indexed: dict[str, Any] | None = None


_doi_decoder = msgspec.json.Decoder(_DoiOnly)


def _doi(raw: bytes | msgspec.Raw) -> str:
    return doi_key(_doi_decoder.decode(raw).DOI or "")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _ShardRun:
    """One pass over a shard: where it writes, its checkpoint, and the DOIs written so far."""

    shard: Shard
    part: PartFile | None
    cp: Checkpoint
    cp_path: Path | None
    seen: set[str]


@dataclass
class _Counters:
    by_shard: dict[int, int] = field(default_factory=dict)  # records written per shard
    expected: dict[int, int] = field(default_factory=dict)  # total-results per verified shard
    verified: set[int] = field(default_factory=set)
    pages: int = 0
    shards_done: int = 0
    redone: int = 0

    @property
    def records(self) -> int:
        return sum(self.by_shard.values())


@dataclass
class Harvester:
    """Runs a :class:`Plan` with a client: the engine behind :func:`harvest` and the CLI.

    Give ``out`` (a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.zst`` path) to write a file, and/or
    ``sink`` (an async callback receiving each page's records) to handle records yourself.
    Progress and checkpoints live in ``<out>.harvest/`` until the output is complete.

    >>> import tempfile
    >>> the_plan = await plan(cr.works.filter(type="book"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     harvester = Harvester(cr, the_plan, out=Path(tmp, "books.jsonl"), rows=20)
    ...     report = await harvester.run()
    >>> report.records, report.pages, harvester.complete
    (36, 2, True)
    """

    client: Crossref
    plan: Plan
    out: Path | None = None
    sink: CallbackSink | None = None
    rows: int = MAX_ROWS
    concurrency: int | None = None
    resume: bool = False
    keep_parts: bool = False
    newest_wins: bool = False
    shard_ids: Sequence[int] | None = None
    on_progress: Callable[[Progress], None] | None = None
    max_redo: int = 3
    max_restarts: int = 1000
    _counters: _Counters = field(default_factory=_Counters, init=False, repr=False)
    _started: float = field(default=0.0, init=False, repr=False)
    _complete: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.out is None and self.sink is None:
            raise ValidationError("out", "a harvest needs an output file (out=) or a sink")
        if not _whole(self.rows) or not 1 <= self.rows <= MAX_ROWS:
            raise ValidationError(self.rows, f"rows must be between 1 and {MAX_ROWS}")
        if self.concurrency is not None and (not _whole(self.concurrency) or self.concurrency < 1):
            raise ValidationError(self.concurrency, "concurrency must be a whole number, 1 or more")
        if self.out is not None:
            self.out = Path(self.out)
        self.compression: Compression = compression_for(self.out) if self.out else None
        shards = self.plan.shards
        if self.shard_ids is not None:
            shards = tuple(self.plan.shard(i) for i in self.shard_ids)
        self.shards: tuple[Shard, ...] = shards

    # -- files --------------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path | None:
        """Where checkpoints and parts live while the harvest runs.

        >>> the_plan = await plan(cr.works.filter(type="book"))
        >>> print(Harvester(cr, the_plan, out=Path("data/books.jsonl.gz")).state_dir)
        data/books.jsonl.gz.harvest
        """
        return Path(str(self.out) + ".harvest") if self.out is not None else None

    def _part(self, shard: Shard) -> PartFile | None:
        if self.state_dir is None:
            return None
        suffix = {"gzip": ".jsonl.gz", "zstd": ".jsonl.zst", None: ".jsonl"}[self.compression]
        return PartFile(self.state_dir / f"{shard.name}{suffix}", self.compression)

    def _checkpoint_path(self, shard: Shard) -> Path | None:
        return self.state_dir / f"{shard.name}.json" if self.state_dir else None

    def _prepare_state(self) -> None:
        state = self.state_dir
        if state is None:
            return
        plan_file = state / "plan.json"
        if plan_file.exists():
            if not self.resume:
                raise HarvestStateError(
                    f"a harvest into {self.out} was started before ({state}); resume it "
                    "(resume=True, --resume) or delete that folder to start over"
                )
            saved = Plan.from_json(plan_file.read_text())
            if (saved.path, saved.params) != (self.plan.path, self.plan.params):
                raise HarvestStateError(
                    f"the harvest in progress in {state} is for a different query; resume it "
                    "with the same query or delete that folder"
                )
            self.plan = saved
            self.shards = (
                tuple(saved.shard(i) for i in self.shard_ids) if self.shard_ids else saved.shards
            )
        else:
            state.mkdir(parents=True, exist_ok=True)
            tmp = plan_file.with_name("plan.json.tmp")
            tmp.write_text(self.plan.to_json())
            tmp.replace(plan_file)

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> Report:
        """Harvest every shard, verify each, and write the output; returns a :class:`Report`.

        >>> import tempfile
        >>> the_plan = await plan(cr.works.filter(type="journal-article"), target=200)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await Harvester(cr, the_plan, out=Path(tmp, "articles.jsonl.gz")).run()
        >>> report.records, report.shards, report.verified
        (607, 4, True)
        """
        self._started = time.monotonic()
        before = self._traffic()
        self._prepare_state()
        queue = list(self.shards)
        workers = self.concurrency or max(
            1, self.client.governor.pool("list").concurrency if self.client.governor else 3
        )
        await run_concurrently(self._worker_for(queue) for _ in range(min(workers, len(queue))))
        output_bytes = await anyio.to_thread.run_sync(self._finish)
        after = self._traffic()
        # What each shard's own cursor announced when it was read (verified against), not the
        # counts at planning time: the index may have grown in between.
        expected = sum(self._counters.expected.get(s.id, s.count or 0) for s in self.shards)
        return Report(
            records=self._counters.records,
            expected=expected,
            shards=len(self.shards),
            shards_redone=self._counters.redone,
            pages=self._counters.pages,
            retries=after[0] - before[0],
            rate_limited=after[1] - before[1],
            elapsed=time.monotonic() - self._started,
            output_bytes=output_bytes,
            output=self.out,
        )

    def _traffic(self) -> tuple[int, int]:
        stats = self.client.stats().values()
        return sum(s.retries for s in stats), sum(s.rate_limited for s in stats)

    @property
    def complete(self) -> bool:
        """Whether every shard of the plan (not only those run now) is done and verified.

        Shards can run as separate jobs (``shard_ids``); the output is whole once all are done:

        >>> import tempfile
        >>> the_plan = await plan(cr.works, target=300)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = Path(tmp, "works.jsonl")
        ...     first = Harvester(cr, the_plan, out=out, shard_ids=[0, 1])
        ...     _ = await first.run()
        ...     print(first.complete)
        ...     rest = Harvester(cr, the_plan, out=out, shard_ids=[2, 3, 4], resume=True)
        ...     _ = await rest.run()
        ...     print(rest.complete, sum(1 for _ in iter_records(out)))
        False
        True 1000
        """
        return self._complete or all(self._done(s) for s in self.plan.shards)

    def _done(self, shard: Shard) -> bool:
        path = self._checkpoint_path(shard)
        if path is None:
            return shard.id in self._counters.verified
        return Checkpoint.load(path, shard.id).done

    def _worker_for(self, queue: list[Shard]) -> Callable[[], Awaitable[None]]:
        async def worker() -> None:
            while queue:
                await self._run_shard(queue.pop(0))

        return worker

    def _report_progress(self) -> None:
        if self.on_progress is None:
            return
        c = self._counters
        self.on_progress(
            Progress(
                records=c.records,
                total=sum(s.count or 0 for s in self.shards),
                pages=c.pages,
                shards_done=c.shards_done,
                shards=len(self.shards),
                elapsed=time.monotonic() - self._started,
            )
        )

    async def _run_shard(self, shard: Shard) -> None:
        part = self._part(shard)
        cp_path = self._checkpoint_path(shard)
        cp = Checkpoint.load(cp_path, shard.id) if cp_path else Checkpoint(shard.id)
        if cp.done and (part is None or part.size == cp.size):
            self._counters.by_shard[shard.id] = cp.written
            self._counters.expected[shard.id] = cp.expected or 0
            self._counters.verified.add(shard.id)
            self._counters.shards_done += 1
            self._report_progress()
            return
        for attempt in range(self.max_redo + 1):
            if part is not None and (attempt == 0 and part.size >= cp.size):
                # Continue where the last checkpoint left off (after a crash or a kill):
                # anything written after it is cut off, and the DOIs in the part are known.
                await anyio.to_thread.run_sync(part.truncate, cp.size)
                seen = await anyio.to_thread.run_sync(self._dois_in, part)
            else:
                if cp.written:
                    self._counters.redone += 1
                cp = Checkpoint(shard.id, attempts=cp.attempts + 1)
                if part is not None:
                    await anyio.to_thread.run_sync(part.truncate, 0)
                seen = set()
            self._counters.by_shard[shard.id] = cp.written
            if await self._pages(_ShardRun(shard, part, cp, cp_path, seen)):
                cp.done = True
                self._counters.expected[shard.id] = cp.expected or 0
                self._counters.verified.add(shard.id)
                if cp_path:
                    cp.save(cp_path)
                self._counters.shards_done += 1
                self._report_progress()
                return
            logger.warning(
                "shard %s failed verification (%d written, %s expected); redoing it",
                shard.label,
                cp.written,
                cp.expected,
            )
        raise IncompleteResultsError(
            f"shard {shard.label} could not be harvested completely after "
            f"{self.max_redo + 1} attempts",
            expected=cp.expected or 0,
            received=cp.written,
        )

    @staticmethod
    def _dois_in(part: PartFile) -> set[str]:
        return {_doi(line) for line in read_records(part.path)} if part.size else set()

    def _params(self, shard: Shard, resume_from: str | None) -> list[tuple[str, str]]:
        window = shard.filters()
        if resume_from is not None:
            window = [(k, v) for k, v in window if k != "from-created-date"]
            window.insert(0, ("from-created-date", resume_from))
        extra = ",".join(f"{k}:{v}" for k, v in window)
        dropped = ("rows", "offset", "cursor", "sort", "order", "sample", "facet")
        params = [(k, v) for k, v in self.plan.params if k not in dropped]
        if extra:
            for i, (k, v) in enumerate(params):
                if k == "filter":
                    params[i] = (k, f"{v},{extra}")
                    break
            else:
                params.append(("filter", extra))
        # Oldest first: every record before the last one written is then already written,
        # so a broken cursor can be replaced by a new one starting at that record's day.
        params += [("sort", "created"), ("order", "asc"), ("rows", str(self.rows))]
        return params

    async def _pages(self, run: _ShardRun) -> bool:
        """Page through the shard; True when the written records verify.

        A cursor that may have skipped a page (a request that failed after it possibly reached
        the server), expired, or broke is dropped, and a new one starts at the created day of
        the last record written; records already written are recognized by DOI and skipped.
        """
        route = Route(self.plan.path, "work-list", None, works=True)
        shard, cp = run.shard, run.cp
        restarts = 0
        while True:
            base = self._params(shard, cp.resume_from)
            cursor = "*"
            try:
                while True:
                    outcome = Outcome(stop_on_ambiguous=cursor != "*")
                    params = [*base, ("cursor", cursor)]
                    page = await self.client._list(route, params, msgspec.Raw, outcome)
                    if cp.expected is None:
                        cp.expected = page.total_results
                    await self._write(run, page.items)
                    if len(page.items) < self.rows or not page.next_cursor:
                        return cp.written == (cp.expected or 0)
                    cursor = page.next_cursor
            except CrossrefError as exc:
                lost_cursor = isinstance(exc, NotFound) and cursor != "*"
                if not (lost_cursor or self.client.retry_policy.is_retryable(exc)):
                    raise
                restarts += 1
                if restarts > self.max_restarts:
                    raise
                logger.info(
                    "shard %s: %s; continuing from %s with a new cursor",
                    shard.label,
                    type(exc).__name__,
                    cp.resume_from or "the start",
                )

    async def _write(self, run: _ShardRun, items: Sequence[msgspec.Raw]) -> None:
        shard, part, cp, cp_path, seen = run.shard, run.part, run.cp, run.cp_path, run.seen
        fresh: list[msgspec.Raw] = []
        last_day: str | None = None
        for raw in items:
            record = _key_decoder.decode(raw)
            key = doi_key(record.DOI or "")
            day = record.created_day()
            if day is not None:
                last_day = day
            if key not in seen:
                seen.add(key)
                fresh.append(raw)
        if self.sink is not None and fresh:
            await self.sink(shard.id, fresh)
        if part is not None and fresh:
            cp.size = await anyio.to_thread.run_sync(part.append, fresh)
        cp.written += len(fresh)
        cp.pages += 1
        if last_day is not None:
            cp.resume_from = last_day
        if cp_path:
            await anyio.to_thread.run_sync(cp.save, cp_path)
        self._counters.by_shard[shard.id] = cp.written
        self._counters.pages += 1
        self._report_progress()

    # -- output -------------------------------------------------------------------------------

    def _finish(self) -> int:
        """Join the parts of every verified shard into the output file; returns its size.

        Shards of the plan that are not done yet (another job's ``--shard``, or a run that
        stopped) keep their state, and the state folder stays until every shard is done.
        """
        if self.out is None or self.state_dir is None:
            return 0
        done = [s for s in self.plan.shards if self._done(s)]
        self._complete = len(done) == len(self.plan.shards)
        parts = [p for p in (self._part(s) for s in done) if p is not None]
        tmp = self.out.with_name(self.out.name + ".tmp")
        if self.newest_wins:
            self._write_newest(parts, tmp)
        else:
            with open(tmp, "wb") as dst:
                for part in parts:
                    if part.path.exists():
                        with open(part.path, "rb") as src:
                            shutil.copyfileobj(src, dst, 1 << 20)
        if self.compression and tmp.stat().st_size == 0:
            # Nothing matched: still a valid (empty) compressed file, which gzip -t accepts.
            tmp.write_bytes(compress(b"", self.compression))
        tmp.replace(self.out)
        if not self.keep_parts and len(done) == len(self.plan.shards):
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return self.out.stat().st_size

    def _write_newest(self, parts: list[PartFile], tmp: Path) -> None:
        # Incremental runs can see a record twice (re-indexed while the run went on); keep the
        # copy with the newest index timestamp. Two passes keep memory at one key per record.
        decoder = msgspec.json.Decoder(_DoiIndexed)
        newest: dict[str, tuple[int, int]] = {}
        position = 0
        for part in parts:
            for line in read_records(part.path):
                rec = decoder.decode(line)
                stamp = int((rec.indexed or {}).get("timestamp") or 0)
                key = doi_key(rec.DOI or "")
                if key not in newest or stamp >= newest[key][0]:
                    newest[key] = (stamp, position)
                position += 1
        winners = {pos for _, pos in newest.values()}
        position = 0
        with open(tmp, "wb") as dst:
            for part in parts:
                batch: list[msgspec.Raw] = []
                for line in read_records(part.path):
                    if position in winners:
                        batch.append(msgspec.Raw(line))
                    position += 1
                if batch:
                    dst.write(compress(encode_lines(batch), self.compression))


async def harvest(
    client: Crossref,
    query: WorksQuery[Any] | Plan,
    *,
    out: str | Path | None = None,
    sink: CallbackSink | None = None,
    target: int | None = None,
    rows: int = MAX_ROWS,
    concurrency: int | None = None,
    resume: bool = False,
    since: dt.date | str | None = None,
    state_file: str | Path | None = None,
    shard_ids: Sequence[int] | None = None,
    keep_parts: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> Report:
    """Harvest every record ``query`` matches into ``out`` (and/or a ``sink``).

    ``since`` (a date) or ``state_file`` (remembering the last run) makes the run incremental:
    only records indexed since then (``from-index-date``, as Crossref recommends), with
    duplicates resolved to the newest copy. ``shard_ids`` runs only those shards of the plan.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     articles = cr.works.filter(type="journal-article")
    ...     report = await harvest(cr, articles, out=f"{tmp}/articles.jsonl.gz", target=200)
    ...     written = sum(1 for _ in iter_records(f"{tmp}/articles.jsonl.gz"))
    >>> report.records, report.shards, written
    (607, 4, 607)
    """
    started = dt.datetime.now(dt.timezone.utc).date()
    incremental = since is not None or state_file is not None
    if isinstance(query, Plan):
        if incremental:
            raise ValidationError("since", "give since/state_file with a query, not a plan")
        the_plan = query
    else:
        if state_file is not None and since is None:
            since = await anyio.to_thread.run_sync(_read_state, Path(state_file))
        if since is not None:
            query = query.filter(from_index_date=since)
        saved = anyio.Path(str(out) + ".harvest", "plan.json") if out is not None else None
        if resume and saved is not None and await saved.exists():
            the_plan = Plan.from_json(await saved.read_text())
            base, _, _ = harvest_base(query)
            if (the_plan.path, the_plan.params) != (base.path, tuple(base.to_params())):
                raise HarvestStateError(
                    f"the harvest in progress in {saved.parent} is for a different query; "
                    "resume it with the same query, or delete that folder to start over"
                )
        else:
            the_plan = await plan_shards(query, target=target)
    harvester = Harvester(
        client,
        the_plan,
        out=Path(out) if out is not None else None,
        sink=sink,
        rows=rows,
        concurrency=concurrency,
        resume=resume,
        keep_parts=keep_parts,
        newest_wins=incremental,
        shard_ids=shard_ids,
        on_progress=on_progress,
    )
    report = await harvester.run()
    if state_file is not None and harvester.complete:
        # Only a run that covered the whole query moves the next run's start forward.
        _write_state(Path(state_file), started)
    if since is not None:
        since_date = since if isinstance(since, dt.date) else period_start(str(since))
        report = dataclasses.replace(report, since=since_date)
    return report


def read_state(path: str | Path) -> dt.date | None:
    """The date an incremental harvest with this state file starts from next (None: from the
    start). The file is JSON: ``{"since": "YYYY-MM-DD"}``, the day the last run started.

    A complete run with ``state_file`` writes it (the date is the UTC day the run started):

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(read_state(f"{tmp}/state.json"))
    ...     books = cr.works.filter(type="book")
    ...     _ = await harvest(cr, books, out=f"{tmp}/books.jsonl", state_file=f"{tmp}/state.json")
    ...     print(read_state(f"{tmp}/state.json") == dt.datetime.now(dt.timezone.utc).date())
    None
    True
    """
    return _read_state(Path(path))


def iter_records(path: str | Path) -> Iterator[bytes]:
    """The records of a harvest output (``.jsonl``, ``.jsonl.gz`` or ``.jsonl.zst``), each as
    the JSON bytes Crossref sent; decode them with ``crossref_async.models.decode_item``.

    >>> import tempfile
    >>> from crossref_async.models import Work, decode_item
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl.gz")
    ...     books = [decode_item(line, Work) for line in iter_records(f"{tmp}/books.jsonl.gz")]
    >>> len(books), books[0].type, books[0].first_title
    (36, 'book', '...')
    """
    return read_records(Path(path))


def _read_state(path: Path) -> dt.date | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValidationError(str(path), f"not a harvest state file: {exc}") from exc
    value = data.get("since")
    return dt.date.fromisoformat(value) if value else None


def _write_state(path: Path, started: dt.date) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"since": started.isoformat()}))
    tmp.replace(path)
