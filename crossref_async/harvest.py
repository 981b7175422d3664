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

One harvest at a time writes an output: the output (and an incremental run's state file) is
locked before anything is read or sent, and a second harvest on it is refused with
:class:`~crossref_async.OutputLockedError`. The lock dies with its process, so a killed run
never blocks its resume. As each shard is done, its part joins a temporary file beside the
output while the other cursors go on, and is read back from disk (records, distinct DOIs
across every part, every line valid JSON; :mod:`crossref_async._joining`); what the file
holds is compared with what the shards verified before it replaces the output; a finished
output gets a manifest beside it (``<out>.manifest.json``: endpoint, query, records,
SHA-256). An existing output is never replaced unless asked (``overwrite=True``):
``resume=True`` on a finished harvest verifies the file against its manifest and sends
nothing, and an incremental run (``since=``, ``state_file=``) updates the output of the same
query in place, the newest copy of each record winning.

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

import bisect
import dataclasses
import datetime as dt
import functools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._clock import loop_time
from ._errors import (
    BadRequestError,
    CircuitOpenError,
    CrossrefError,
    HarvestStateError,
    IncompleteResultsError,
    NotFoundError,
    OutputError,
    ValidationError,
    VerificationError,
)
from ._joining import Joined, Joiner
from ._lock import OutputLock
from ._opening import Opening
from ._output import Contents, fsync_dir, now_iso
from ._paging import walk_ends
from ._params import MAX_ROWS, check_whole, doi_key
from ._publish import (
    Layout,
    Published,
    exists_message,
    finished_contents,
    manifest_for,
    output_error,
    publish,
)
from ._retry import Outcome
from ._shards import (
    Plan,
    Shard,
    harvest_base,
    period_start,
    plan_shards,
)
from ._sinks import (
    CallbackSink,
    Checkpoint,
    Compression,
    PartFile,
    compression_for,
    read_records,
    sha256_of,
)
from ._tasks import Turns, run_alongside, run_beside, run_concurrently
from ._written import WrittenKeys
from .models import WorkKey, decoder

if TYPE_CHECKING:
    from anyio import CancelScope

    from ._client import Crossref
    from ._query import WorksQuery
    from .models import Page

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

#: How long a shard may go without a successful page (the server down, or failing every
#: request) before the harvest stops, resumable. Crossref's outages are mostly minutes long;
#: half an hour rides them out without leaving a nightly job spinning for the whole night.
DEFAULT_MAX_OUTAGE = 1800.0
#: Cursor restarts in a row that bring no new record before a shard gives up.
DEFAULT_MAX_RESTARTS = 100


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

    ``paused`` says why and until when the harvest is waiting (an outage), or is None.

    >>> import tempfile
    >>> updates = []
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     books = cr.works.filter(type="book")
    ...     out = f"{tmp}/books.jsonl"
    ...     report = await harvest(cr, books, out=out, rows=10, on_progress=updates.append)
    >>> updates[0]
    Progress(records=..., total=36, pages=1, shards_done=0, shards=4, elapsed=..., paused=None)
    >>> updates[-1].records, updates[-1].shards_done, updates[-1].eta
    (36, 4, 0.0)
    """

    records: int
    total: int
    pages: int
    shards_done: int
    shards: int
    elapsed: float
    paused: str | None = None

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

    ``records`` are the records this run wrote, ``expected`` what their shards' cursors
    announced. ``on_disk`` is what the output holds, read back from disk after joining
    (None for a sink-only harvest): records, distinct DOIs, invalid lines, SHA-256. An
    incremental run into an existing output ``kept`` that many records of it and
    ``replaced`` that many older copies. ``repaired`` counts records whose bytes were not
    valid UTF-8 (kept, with U+FFFD for the bad bytes, and logged). ``already_complete`` is
    True when a resumed harvest found its output finished and sent nothing.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
    >>> report
    Report(records=36, expected=36, shards=1, shards_redone=0, pages=1, retries=0,
           rate_limited=0, elapsed=..., output_bytes=..., output=...Path('.../books.jsonl'),
           since=None, on_disk=Contents(records=36, unique=36, invalid=0, ...), kept=0,
           replaced=0, repaired=0, already_complete=False)
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
    on_disk: Contents | None = None
    kept: int = 0
    replaced: int = 0
    repaired: int = 0
    already_complete: bool = False

    @property
    def verified(self) -> bool:
        """Whether every shard verified (as many records as announced, no DOI twice) and the
        output read back from disk holds exactly what was expected.

        Always true for a report that was returned: a shard that cannot be verified raises
        :class:`IncompleteResultsError`, an output that does not read back right raises
        :class:`~crossref_async.VerificationError`.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await harvest(cr, cr.works.filter(type="book"), out=f"{tmp}/books.jsonl")
        >>> report.verified, report.records, report.expected, report.on_disk.unique
        (True, 36, 36, 36)
        """
        shards_ok = self.already_complete or self.records == self.expected
        if self.on_disk is None:
            return shards_ok
        return shards_ok and self.on_disk.sound

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
        on disk    36 records, 36 unique DOIs, all valid JSON
        since      (everything)
        shards     1 (0 redone)
        pages      1
        retries    0
        429s       0
        elapsed    ... s
        records/s  ...
        output     .../books.jsonl (... bytes)
        """
        if self.already_complete:
            first = ("records", "none sent: the output was already complete")
        else:
            first = ("records", f"{self.records:,} (expected {self.expected:,})")
        rows = [first]
        if self.on_disk is not None:
            disk = self.on_disk.describe()
            if self.kept or self.replaced:
                disk += f" ({self.kept:,} kept from before, {self.replaced:,} replaced)"
            rows.append(("on disk", disk))
        if self.repaired:
            rows.append(("repaired", f"{self.repaired:,} records with invalid UTF-8 (see log)"))
        rows += [
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


_key_decoder = decoder(WorkKey)

#: Pages a harvest holds in memory at once (on their way, or fetched and not yet written),
#: across all its cursors. Memory then stays flat whatever the harvest's size (about this
#: many 1000-record pages, 5 MB each for full records). More buys nothing: the polite pool
#: fills with 3 pages on their way and 3 being written, and beyond that the client's CPU is
#: the limit, not the wait for pages.
PAGES_IN_MEMORY = 8


def _written_in(part: PartFile) -> WrittenKeys:
    """The DOI keys (and created days) of the records in a part."""
    keys = WrittenKeys()
    if part.size:
        for line in read_records(part.path):
            record = _key_decoder.decode(line)
            if record.DOI:
                keys.add(doi_key(record.DOI), record.created.day if record.created else None)
    return keys


#: The output names a harvest writes, by how they end (any case): JSONL, gzipped or zstd.
OUTPUT_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")


def check_output_name(out: str | Path) -> None:
    """Refuse an output whose name does not end in one of :data:`OUTPUT_SUFFIXES` (a
    ``.csv`` would otherwise be written as JSONL, under a name that says otherwise).

    >>> check_output_name("works.jsonl.gz")
    >>> try:
    ...     check_output_name("works.csv")
    ... except ValidationError as exc:
    ...     print(exc)
    'works.csv': a harvest writes JSONL: the name must end in .jsonl, .jsonl.gz or .jsonl.zst
    """
    name = str(out).lower()
    # .zstd: the spelling compression_for has always taken for zstd.
    if not name.endswith((*OUTPUT_SUFFIXES, ".jsonl.zstd")):
        raise ValidationError(
            str(out), "a harvest writes JSONL: the name must end in .jsonl, .jsonl.gz or .jsonl.zst"
        )


def check_options(
    rows: int,
    concurrency: int | None,
    *,
    shard_ids: Sequence[int] | None = None,
    max_outage: float = DEFAULT_MAX_OUTAGE,
    target: int | None = None,
    out: str | Path | None = None,
) -> None:
    """Refuse bad harvest options before anything is planned or sent: ``rows``,
    ``concurrency``, ``shard_ids``, ``max_outage``, the shard ``target`` and the output's name.

    >>> try:
    ...     check_options(5000, None)
    ... except ValidationError as exc:
    ...     print(exc)
    5000: rows must be between 1 and 1000
    """
    check_whole(rows, "rows", high=MAX_ROWS)
    if concurrency is not None:
        check_whole(concurrency, "concurrency")
    if target is not None:
        check_whole(target, "target")
    if isinstance(max_outage, bool) or not (
        isinstance(max_outage, (int, float)) and max_outage >= 0
    ):
        raise ValidationError(max_outage, "max_outage must be seconds, 0 or more")
    # A folder is refused with its own message (a file name is wanted) once the lock is held.
    if out is not None and not Path(out).is_dir():
        check_output_name(out)
    if shard_ids is None:
        return
    # An empty list reads as "none" to some and "all" to others: it is neither, it is refused.
    if not shard_ids:
        raise ValidationError(
            shard_ids, "shard_ids must name at least one shard; give None for all"
        )
    for shard_id in shard_ids:
        check_whole(shard_id, "a shard id", low=0)
    repeated = sorted({i for i in shard_ids if shard_ids.count(i) > 1})
    if repeated:
        raise ValidationError(shard_ids, f"shard_ids names shard {repeated[0]} more than once")


#: The most cursors a harvest runs at once unless told (``concurrency=``): the event loop
#: decodes every page, so beyond a few cursors a generous pool (Plus, an unmetered simulator)
#: brings memory (a page each) and no speed (``benchmarks/ceiling.py``).
MAX_DEFAULT_CURSORS = 8


def default_cursors(client: Crossref) -> int:
    """Cursors at once by default: the list pool's concurrency, at most
    :data:`MAX_DEFAULT_CURSORS` (3 for a ``mailto`` in 2026)."""
    return max(1, min(client.session.concurrency("list") or 3, MAX_DEFAULT_CURSORS))


def _endpoint(client: Crossref) -> str:
    """The API root as the state records it: never with credentials in it."""
    parts = urlsplit(client.base_url)
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass
class _ShardRun:
    """One pass over a shard: where it writes, its checkpoint, and the DOIs written so far."""

    shard: Shard
    part: PartFile | None
    cp: Checkpoint
    seen: WrittenKeys
    cursor: str | None = None  # where the walk goes on (the opening page's next cursor)
    split: bool = False  # the window was cut short by a split; not yet seen by the walk
    selected: str | None = None  # the last day of the records picked to write (maybe not yet)
    held: int = 0  # pages of the harvest's room in memory this pass holds (fetched, unwritten)


@dataclass(frozen=True)
class _Done:
    """A shard whose walk verified (or, ``earlier``, that was done in an earlier run)."""

    shard: Shard
    cp: Checkpoint
    part: PartFile | None
    earlier: bool = False


@dataclass
class _Batch:
    """A page's records to write, and the shard's last day once they are written."""

    fresh: list[msgspec.Raw]
    last_day: str | None
    held: bool = False  # its page holds a place in the harvest's room (given back once written)


@dataclass
class _Counters:
    by_shard: dict[int, int] = field(default_factory=dict)  # records written per shard
    expected: dict[int, int] = field(default_factory=dict)  # total-results per verified shard
    verified: set[int] = field(default_factory=set)
    pages: int = 0
    shards_done: int = 0
    redone: int = 0
    repaired: int = 0

    @property
    def records(self) -> int:
        return sum(self.by_shard.values())


@dataclass
class Harvester:
    """Runs a :class:`Plan` with a client: the engine behind :func:`harvest` and the CLI.

    Give ``out`` (a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.zst`` path) to write a file, and/or
    ``sink`` (an async callback receiving each page's records) to handle records yourself.
    Progress and checkpoints live in ``<out>.harvest/`` until the output is complete.

    An existing output is replaced only with ``overwrite=True``; ``newest_wins=True`` (an
    incremental run) updates it instead: records seen again replace their older copies, the
    rest are kept. ``max_outage`` is how many seconds a shard may go without a successful
    page (the server down, every request failing) before the harvest stops, resumable;
    ``max_restarts`` caps cursor restarts in a row that bring no new record.
    ``opening_page`` gives shard 0's first page when it was fetched over the whole query before
    the plan was made (:mod:`crossref_async._opening`); its records in shard 0's window are
    written, and shard 0 goes on from there. ``known_days`` (created days of a sample of the
    query's records, as the opening drew) lets the harvest split a running shard's remaining
    window, at the sample's median day in it, when a cursor would otherwise sit idle at the
    end: only in a plan this harvester runs whole.

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
    max_restarts: int = DEFAULT_MAX_RESTARTS
    overwrite: bool = False
    max_outage: float = DEFAULT_MAX_OUTAGE
    opening_page: Callable[[], Awaitable[Page[msgspec.Raw] | None]] | None = None
    known_days: Sequence[dt.date] = ()
    _counters: _Counters = field(default_factory=_Counters, init=False, repr=False)
    _started: float = field(default=0.0, init=False, repr=False)
    _complete: bool = field(default=False, init=False, repr=False)
    _paused: str | None = field(default=None, init=False, repr=False)
    _running: dict[int, _ShardRun] = field(default_factory=dict, init=False, repr=False)
    _moved: anyio.Event = field(default_factory=anyio.Event, init=False, repr=False)
    _active: int = field(default=0, init=False, repr=False)  # shards being run
    _plan_saved: anyio.Lock = field(default_factory=anyio.Lock, init=False, repr=False)
    # Pages fetched or on their way and not yet written, across every cursor: memory stays
    # bounded whatever the harvest's size and however many cursors run (see PAGES_IN_MEMORY).
    _room: anyio.Semaphore = field(
        default_factory=lambda: anyio.Semaphore(PAGES_IN_MEMORY), init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.out is None and self.sink is None:
            raise ValidationError("out", "a harvest needs an output file (out=) or a sink")
        check_options(
            self.rows,
            self.concurrency,
            shard_ids=self.shard_ids,
            max_outage=self.max_outage,
            out=self.out,
        )
        if self.out is not None:
            self.out = Path(self.out)
        self.compression: Compression = compression_for(self.out) if self.out else None
        self.layout = Layout(self.out, self.compression) if self.out is not None else None
        self.shards: tuple[Shard, ...] = self._chosen(self.plan)
        self._turns = Turns(())
        self._joiner: Joiner | None = None
        self._walked: MemoryObjectSendStream[_Done] | None = None

    def _chosen(self, the_plan: Plan) -> tuple[Shard, ...]:
        # None means every shard (check_options refuses an empty list).
        if self.shard_ids is None:
            return the_plan.shards
        return tuple(the_plan.shard(i) for i in self.shard_ids)

    # -- files --------------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path | None:
        """Where checkpoints and parts live while the harvest runs.

        >>> the_plan = await plan(cr.works.filter(type="book"))
        >>> print(Harvester(cr, the_plan, out=Path("data/books.jsonl.gz")).state_dir)
        data/books.jsonl.gz.harvest
        """
        return self.layout.state_dir if self.layout is not None else None

    def _part(self, shard: Shard) -> PartFile | None:
        return self.layout.part(shard) if self.layout is not None else None

    def _checkpoint(self, shard: Shard) -> Checkpoint:
        return self.layout.checkpoint(shard) if self.layout is not None else Checkpoint(shard.id)

    def _save(self, cp: Checkpoint, shard: Shard) -> None:
        if self.layout is not None:
            self.layout.save(cp, shard)

    def _check_output(self) -> Report | None:
        """Before anything is sent: what the existing output (if any) allows.

        Returns the report of a finished harvest when resuming one (nothing to do).
        """
        if self.layout is None:
            return None
        out, state = self.layout.out, self.layout.state_dir
        if out.is_dir():
            raise OutputError(f"{out} is a folder; give a file name for the output", path=str(out))
        if state.exists() or not out.exists():
            return None  # a harvest in progress (checked by _prepare_state), or a new output
        if self.newest_wins:
            manifest_for(out, *self._query_key, purpose="update")
            return None
        if self.resume:
            return _finished_report(out, self.client, self.plan.path, self.plan.params)
        if self.overwrite:
            return None
        raise HarvestStateError(exists_message(out, *self._query_key))

    @property
    def _query_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return _endpoint(self.client), self.plan.path, self.plan.params

    def _prepare_state(self) -> None:
        if self.layout is None:
            return
        state, plan_file, run_file = (
            self.layout.state_dir,
            self.layout.plan_file,
            self.layout.run_file,
        )
        endpoint = _endpoint(self.client)
        if plan_file.exists():
            if not self.resume:
                raise HarvestStateError(
                    f"a harvest into {self.out} was started before ({state}); resume it "
                    "(resume=True, --resume) or delete that folder to start over"
                )
            saved = _read_plan(plan_file)
            if not saved.same_query(self.plan.path, self.plan.params):
                raise HarvestStateError(
                    f"the harvest in progress in {state} is for a different query; resume it "
                    "with the same query or delete that folder"
                )
            started_at = _read_run(run_file).get("endpoint")
            if started_at is not None and started_at != endpoint:
                raise HarvestStateError(
                    f"the harvest in progress in {state} was started against {started_at}; "
                    f"this run talks to {endpoint}. Resume it against the same API, or "
                    "delete that folder to start over"
                )
            self.plan = saved
            self.shards = self._chosen(saved)
        else:
            try:
                state.mkdir(parents=True, exist_ok=True)
                _write_json(run_file, {"endpoint": endpoint, "started": now_iso()})
                _write_json(plan_file, None, text=self.plan.to_json())
            except OSError as exc:
                raise output_error(exc, state, "the harvest's state folder") from exc

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> Report:
        """Harvest every shard, verify each, and write the output; returns a :class:`Report`.

        The output is locked for the whole run (:class:`~crossref_async.OutputLockedError`
        if another harvest holds it).

        >>> import tempfile
        >>> the_plan = await plan(cr.works.filter(type="journal-article"), target=200)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = await Harvester(cr, the_plan, out=Path(tmp, "articles.jsonl.gz")).run()
        >>> report.records, report.shards, report.verified
        (607, 4, True)
        """
        with _locks(self.out, None):
            return await self.run_locked()

    async def run_locked(self) -> Report:
        """:meth:`run` for a caller that already holds the output's lock (:func:`harvest`).

        >>> import tempfile
        >>> from crossref_async._lock import OutputLock
        >>> the_plan = await plan(cr.works.filter(type="book"))
        >>> with tempfile.TemporaryDirectory() as tmp, OutputLock(Path(tmp, "b.jsonl")):
        ...     report = await Harvester(cr, the_plan, out=Path(tmp, "b.jsonl")).run_locked()
        >>> report.records
        36
        """
        self._started = time.monotonic()
        finished = self._check_output()
        if finished is not None:
            return finished
        before = self._traffic()
        self._prepare_state()
        await anyio.to_thread.run_sync(self._check_done_parts)
        queue = list(self.shards)
        self._turns = Turns(s.id for s in queue)
        workers = self.concurrency or default_cursors(self.client)
        if not self.known_days or self.shard_ids is not None:
            workers = min(workers, len(queue))  # no splits: a cursor per shard at most
        if self.layout is not None and not self.layout.merges(self.newest_wins):
            self._joiner = Joiner(self.layout.tmp, self.compression)
        send, receive = anyio.create_memory_object_stream[_Done](math.inf)
        self._walked = send

        async def cursors() -> None:
            with send:  # once every cursor has ended, the settling ends too
                await run_concurrently(self._worker_for(queue) for _ in range(workers))

        try:
            await run_concurrently([cursors, functools.partial(self._settle_each, receive)])
            published = await anyio.to_thread.run_sync(self._finish)
        finally:
            if self._joiner is not None:
                self._joiner.discard()  # published (renamed away) or abandoned
        self._complete = published.complete or all(
            s.id in self._counters.verified for s in self.plan.shards
        )
        after = self._traffic()
        # What each shard's own cursor announced when it was read (verified against), not the
        # counts at planning time: the index may have grown in between.
        expected = sum(self._counters.expected.get(s.id, s.count or 0) for s in self.shards)
        contents = published.contents
        return Report(
            records=self._counters.records,
            expected=expected,
            shards=len(self.shards),
            shards_redone=self._counters.redone,
            pages=self._counters.pages,
            retries=after[0] - before[0],
            rate_limited=after[1] - before[1],
            elapsed=time.monotonic() - self._started,
            output_bytes=contents.bytes if contents else 0,
            output=self.out,
            on_disk=contents,
            kept=published.kept,
            replaced=published.replaced,
            repaired=self._counters.repaired,
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
        if self.layout is None:
            return shard.id in self._counters.verified
        return self.layout.checkpoint(shard).done

    def _check_done_parts(self) -> None:
        """A shard done in an earlier run is kept only if its part is byte for byte what was
        verified then (its SHA-256); anything else is logged and the shard redone."""
        for shard in self.shards:
            part = self._part(shard)
            if part is None:
                continue
            cp = self._checkpoint(shard)
            if not cp.done:
                continue
            actual = sha256_of(part.path) if part.path.exists() else None
            if actual is not None and cp.sha256 is not None and actual == cp.sha256:
                continue
            logger.warning(
                "shard %s: its part %s is not what was verified (%s); redoing the shard",
                shard.label,
                part.path,
                "missing" if actual is None else "its contents changed",
            )
            self._counters.redone += 1
            self._save(Checkpoint(shard.id, attempts=cp.attempts + 1), shard)

    def _worker_for(self, queue: list[Shard]) -> Callable[[], Awaitable[None]]:
        async def worker() -> None:
            while True:
                shard = queue.pop(0) if queue else await self._split()
                if shard is None:
                    return
                self._active += 1
                try:
                    await self._run_shard(shard)
                finally:
                    self._turns.taken(shard.id)
                    self._active -= 1
                    self._moving()

        return worker

    async def _split(self) -> Shard | None:
        """A new shard cut from a running shard, as soon as one has enough left to share;
        None when none will (every cursor is near its end, or splits are off)."""
        if not self.known_days or self.shard_ids is not None:
            return None
        while True:
            shard = await self._split_now()
            if shard is not None:
                return shard
            # Worth waiting for: a shard whose total is not known yet, or with pages left.
            starting = self._active > len(self._running)
            if not starting and not any(
                r.cp.expected is None or r.split or (r.cp.expected - r.cp.written) >= 2 * self.rows
                for r in self._running.values()
            ):
                return None
            await self._moved.wait()

    def _moving(self) -> None:
        """A shard wrote a page or ended: an idle cursor may find something to split."""
        self._moved.set()
        self._moved = anyio.Event()

    async def _split_now(self) -> Shard | None:
        """A new shard cut from the running shard with the most records left, or None.

        The back half of the victim's remaining days (by date) becomes a shard of its own; the
        victim's window ends before it, and the page it has in flight keeps only its own
        days (see :meth:`_pages`). Every created day stays in exactly one shard, and the plan
        is saved before the new shard writes anything, so a resumed harvest runs the same
        windows.
        """
        known = sorted(self.known_days)
        if not known:
            return None
        newest = known[-1]
        runs = [r for r in self._running.values() if not r.split and r.cp.expected is not None]
        best = max(runs, key=lambda r: (r.cp.expected or 0) - r.cp.written, default=None)
        if best is None or (best.cp.expected or 0) - best.cp.written < 2 * self.rows:
            return None
        victim = best.shard
        # After every record picked to write, written or still on its way to the disk.
        last = max(filter(None, (best.cp.resume_from, best.selected)), default=None)
        after = period_start(last) if last else victim.start
        low = (after or newest) + dt.timedelta(days=1)
        high = victim.end or newest
        if low >= high:
            return None  # one day left: it cannot be split
        # The sample's median day in what is left (records are rarely spread evenly over
        # days), else the middle day.
        inside = known[bisect.bisect_right(known, low) : bisect.bisect_right(known, high)]
        cut = inside[len(inside) // 2] if len(inside) >= 2 else low + (high - low) // 2
        left = (best.cp.expected or 0) - best.cp.written
        # The estimated counts move with the days, so that they still add up to the total
        # (a saved plan whose counts do not is refused on resume).
        moved = min(left // 2, victim.count or 0)
        shard = Shard(max(s.id for s in self.plan.shards) + 1, cut, victim.end, moved)
        kept = dataclasses.replace(
            victim,
            end=cut - dt.timedelta(days=1),
            count=None if victim.count is None else victim.count - moved,
        )
        shards = tuple(kept if s.id == victim.id else s for s in self.plan.shards)
        self.plan = dataclasses.replace(self.plan, shards=(*shards, shard))
        self.shards = self._chosen(self.plan)
        best.shard, best.split = kept, True
        logger.info(
            "shard %s split at %s: %d records left, shard %s takes the later days",
            victim.label,
            cut,
            left,
            shard.label,
        )
        if self.layout is not None:
            # One writer at a time (two splits at once), each writing the newest plan.
            async with self._plan_saved:
                save = functools.partial(
                    _write_json, self.layout.plan_file, None, text=self.plan.to_json()
                )
                await anyio.to_thread.run_sync(save)
        return shard

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
                paused=self._paused,
            )
        )

    async def _run_shard(self, shard: Shard) -> None:
        part = self._part(shard)
        cp = self._checkpoint(shard)
        if cp.done and (part is None or part.size == cp.size):
            self._counters.by_shard[shard.id] = cp.written
            self._counters.expected[shard.id] = cp.expected or 0
            self._counters.verified.add(shard.id)
            self._counters.shards_done += 1
            self._report_progress()
            self._hand_over(_Done(shard, cp, part, earlier=True))
            return
        for attempt in range(self.max_redo + 1):
            if part is not None and (attempt == 0 and part.size >= cp.size):
                # Continue where the last checkpoint left off (after a crash or a kill):
                # anything written after it is cut off, and the DOIs in the part are known.
                await anyio.to_thread.run_sync(self._cut_back, part, cp.size)
                seen = await anyio.to_thread.run_sync(_written_in, part)
            else:
                # A redo whatever the failed attempt wrote (nothing, too): it is one more walk.
                if attempt > 0 or cp.written:
                    self._counters.redone += 1
                cp = Checkpoint(shard.id, attempts=cp.attempts + 1)
                if part is not None:
                    await anyio.to_thread.run_sync(self._cut_back, part, 0)
                seen = WrittenKeys()
            self._counters.by_shard[shard.id] = cp.written
            run = _ShardRun(shard, part, cp, seen)
            self._running[shard.id] = run
            try:
                # The shards' sizes were cut for their cursors starting in plan order (a later
                # start, a smaller shard): each first request waits for the one before.
                await self._turns.wait(shard.id)
                ended = await self._opening(run)
                verified = ended if ended is not None else await self._pages(run)
            finally:
                del self._running[shard.id]
                self._give_back(run, run.held)
            shard = run.shard  # its window may have been cut short by a split
            if verified:
                # Settled beside the cursors (:meth:`_settle`): this one takes the next shard.
                self._hand_over(_Done(shard, cp, part))
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

    def _hand_over(self, done: _Done) -> None:
        if self._walked is None:
            raise RuntimeError("shards are run by run_locked(), which settles them")
        self._walked.send_nowait(done)

    async def _settle_each(self, walked: MemoryObjectReceiveStream[_Done]) -> None:
        """Settle each shard whose walk verified, one at a time, as the cursors go on."""
        async with walked:
            async for done in walked:
                await self._settle(done)

    async def _settle(self, done: _Done) -> None:
        """A verified shard's part joins the output (read back, every line decoded), and
        the shard is checkpointed done with the SHA-256 of its part. A part done in an
        earlier run (its SHA-256 checked at the start) only joins the output."""
        shard, cp, part, joiner = done.shard, done.cp, done.part, self._joiner
        if done.earlier:
            if part is not None and joiner is not None:
                await self._join_part(joiner, shard, part)
            return
        if part is not None:
            if cp.written and not part.path.exists():
                await self._unsettled(shard, cp, f"its part {part.path} is missing", None)
            if joiner is None:
                cp.sha256 = await anyio.to_thread.run_sync(sha256_of, part.path)
            else:
                joined = await self._join_part(joiner, shard, part)
                if not joined.sound or joined.records != cp.written:
                    read = f"{joined.records:,} records ({joined.problem or 'all sound'})"
                    await self._unsettled(
                        shard, cp, f"its part {part.path}, read back, holds {read}", joined
                    )
                cp.sha256 = joined.sha256
        cp.done = True
        self._counters.expected[shard.id] = cp.expected or 0
        self._counters.verified.add(shard.id)
        await anyio.to_thread.run_sync(self._save, cp, shard)
        self._counters.shards_done += 1
        self._report_progress()

    async def _join_part(self, joiner: Joiner, shard: Shard, part: PartFile) -> Joined:
        """Add a done shard's part to the joined output; a failed write is an OutputError."""
        try:
            return await anyio.to_thread.run_sync(joiner.add, shard.id, part.path)
        except OSError as exc:
            raise output_error(exc, joiner.tmp, "the output") from exc

    async def _unsettled(
        self, shard: Shard, cp: Checkpoint, why: str, joined: Joined | None
    ) -> NoReturn:
        """A verified shard whose part does not read back as written: the harvest stops, and
        the shard starts over when it is resumed (the other shards keep their progress)."""
        fresh = Checkpoint(shard.id, attempts=cp.attempts + 1)
        await anyio.to_thread.run_sync(self._save, fresh, shard)
        raise VerificationError(
            f"shard {shard.label} verified {cp.written:,} records, but {why}; the output was "
            "not written. Run the harvest again with resume to redo that shard",
            path=str(self.out),
            records=joined.records if joined else 0,
            unique=joined.records if joined else 0,  # repeats: known once every part joined
            invalid=joined.invalid if joined else 0,
            expected=cp.written,
        )

    async def _opening(self, run: _ShardRun) -> bool | None:
        """Shard 0's opening page, if it has one: True or False when the walk ended with it
        (verified or not), None when paging goes on.

        The page is the first of the whole query's cursor, oldest first, so it holds shard 0's
        first records (and, when the plan has more shards, maybe some of the next one's, which
        are left to it). A single shard's walk goes on with the page's own cursor. Otherwise the
        window narrowed: a count of the new window gives ``expected`` (a record the page lost
        is still missed), taken beside the first page of a new cursor that starts at the last
        day written.
        """
        shard, cp = run.shard, run.cp
        # Shard 0's own run takes it, whichever shard's run gets here first.
        if self.opening_page is None or shard.id != self.plan.shards[0].id:
            return None
        take, self.opening_page = self.opening_page, None
        if cp.pages or cp.written:
            return None
        self._turns.taken(shard.id)  # its first page is already on its way
        page = await take()
        if page is None:
            return None
        if len(self.plan.shards) == 1:
            cp.expected = page.total_results
            await self._write(run, page.items)
            if walk_ends(len(page.items), cp.written, cp.expected, cursor=page.next_cursor):
                return cp.written == cp.expected
            run.cursor = page.next_cursor
            return None
        await self._write(run, page.items, window=shard)
        cp.expected, cp.recount = None, True
        await anyio.to_thread.run_sync(self._save, cp, shard)
        return None

    @staticmethod
    def _cut_back(part: PartFile, size: int) -> None:
        try:
            part.truncate(size)
        except OSError as exc:
            raise output_error(exc, part.path, "a shard's part") from exc

    async def _pages(self, run: _ShardRun) -> bool:
        """Page through the shard; True when the written records verify.

        A cursor that may have skipped a page (a request that failed after it possibly reached
        the server), expired, or broke is dropped, and a new one starts at the created day of
        the last record written; records already written are recognized by DOI and skipped.
        While the client's circuit breaker is open (the server failing), the shard waits for
        it, up to ``max_outage`` seconds without a successful page.
        """
        session = self.client.session
        shard, cp = run.shard, run.cp
        restarts = 0
        last_page = loop_time()
        pending: _Batch | None = None  # the last page's records, written beside the next fetch
        while True:
            shard = run.shard
            if pending is not None:
                # A new cursor starts from the last day written: write it first.
                await self._persist(run, pending)
                pending = None
            base = self.plan.page_params(shard, cp.resume_from, rows=self.rows)
            cursor, run.cursor = run.cursor or "*", None
            try:
                while True:
                    admitted = anyio.Event()
                    outcome = Outcome(
                        stop_on_ambiguous=cursor != "*",
                        deadline=last_page + self.max_outage,
                        on_admitted=functools.partial(self._admitted, shard.id, admitted),
                    )
                    params = [*base, ("cursor", cursor)]
                    batch, pending = pending, None
                    fetch: Callable[[], Awaitable[Page[msgspec.Raw]]] = functools.partial(
                        self._held_page,
                        run,
                        functools.partial(
                            session.page, self.plan.path, "work-list", params, msgspec.Raw, outcome
                        ),
                    )
                    if cp.recount:
                        fetch = functools.partial(self._recounted, run, fetch, admitted)
                    page = await self._fetch_beside(run, batch, fetch)
                    last_page = loop_time()
                    if self._paused is not None:
                        self._paused = None
                        logger.warning("the server answers again; harvesting goes on")
                    if run.split:
                        # The window was cut short while this page was on its way: keep its
                        # own days, then a new cursor walks what is left of the window.
                        await self._write(run, page.items, window=run.shard, held=True)
                        cp.expected, cp.recount, run.split = None, True, False
                        await anyio.to_thread.run_sync(self._save, cp, run.shard)
                        break
                    if cp.expected is None:
                        cp.expected = page.total_results
                    batch = self._select(run, page.items)
                    batch.held = True
                    if batch.fresh:
                        restarts = 0
                    written = cp.written + len(batch.fresh)
                    # The end is what ends every cursor walk (an empty page, no next cursor,
                    # every announced record written); a short page before it is only short.
                    # Verification then tells a true end from one that lost records.
                    if walk_ends(
                        len(page.items), written, cp.expected or 0, cursor=page.next_cursor
                    ):
                        await self._persist(run, batch)
                        return cp.written == (cp.expected or 0)
                    pending = batch
                    cursor = page.next_cursor or cursor
            except CrossrefError as exc:
                # The pages this cursor dropped free their places now, not after the wait.
                kept = 1 if pending is not None and pending.held else 0  # written at the top
                self._give_back(run, run.held - kept)
                if not (
                    isinstance(exc, CircuitOpenError)
                    or _lost_cursor(exc, cursor)
                    or session.is_retryable(exc)
                ):
                    raise
                down = loop_time() - last_page
                if down >= self.max_outage:
                    raise self._outage(shard, exc, down) from exc
                if isinstance(exc, CircuitOpenError):
                    await self._wait_for_circuit(exc, down)
                    continue
                restarts += 1
                if restarts > self.max_restarts:
                    _note(
                        exc,
                        f"shard {shard.label}: {restarts - 1} new cursors in a row brought no "
                        f"new record (max_restarts {self.max_restarts}); stopped. Every record "
                        "written so far is checkpointed: run the harvest again with resume to "
                        "continue",
                    )
                    raise
                logger.info(
                    "shard %s: %s; continuing from %s with a new cursor",
                    shard.label,
                    type(exc).__name__,
                    cp.resume_from or "the start",
                )

    def _outage(self, shard: Shard, exc: CrossrefError, down: float) -> CircuitOpenError:
        """The error that ends a harvest whose server kept failing past ``max_outage``."""
        circuit = exc if isinstance(exc, CircuitOpenError) else None
        return CircuitOpenError(
            f"shard {shard.label}: no successful answer for {_duration(down)} (max_outage "
            f"{_duration(self.max_outage)}); stopped. Last error: {exc} Every record written "
            "so far is checkpointed: run the harvest again with resume to continue",
            retry_in=circuit.retry_in if circuit else None,
            failure_rate=circuit.failure_rate if circuit else None,
            sample=circuit.sample if circuit else 0,
        )

    async def _wait_for_circuit(self, exc: CircuitOpenError, down: float) -> None:
        """Wait out an open circuit, telling the progress line why and until when."""
        wait = min(max(exc.retry_in or 0.0, 0.05), self.max_outage - down)
        pause = self.client.session.paused()
        why = pause.reason if pause is not None else str(exc)
        until = dt.datetime.now().astimezone() + dt.timedelta(seconds=wait)
        note = f"paused until {until:%H:%M:%S}: {why}"
        if note != self._paused:
            self._paused = note
            self._report_progress()
        await anyio.sleep(wait)

    async def _write(
        self,
        run: _ShardRun,
        items: Sequence[msgspec.Raw],
        *,
        window: Shard | None = None,
        held: bool = False,
    ) -> int:
        """Write a page's new records and checkpoint; returns how many were new. With
        ``window``, records created outside it are left out (the page came from a wider
        window: another shard takes them). ``held``: the page holds a place in the room."""
        batch = self._select(run, items, window)
        batch.held = held
        await self._persist(run, batch)
        return len(batch.fresh)

    def _select(
        self, run: _ShardRun, items: Sequence[msgspec.Raw], window: Shard | None = None
    ) -> _Batch:
        """A page's records not written before (and inside ``window``, if given), and where
        the shard stands once they are written."""
        cp, seen = run.cp, run.seen
        fresh: list[msgspec.Raw] = []
        last_day = cp.resume_from
        for raw in items:
            record = _key_decoder.decode(raw)
            key = doi_key(record.DOI or "")
            day = record.created.day if record.created else None
            if window is not None and not _inside(window, day):
                continue
            if not seen.add(key, day):
                continue
            fresh.append(self._valid_utf8(raw, record.DOI))
            if day is not None and (last_day is None or day > last_day):
                last_day = day  # records come oldest first
        run.selected = last_day
        return _Batch(fresh, last_day)

    async def _persist(self, run: _ShardRun, batch: _Batch) -> None:
        """Hand a batch to the sink and the part, then checkpoint (never cancelled halfway:
        a part and its checkpoint must agree)."""
        try:
            with anyio.CancelScope(shield=True):
                await self._persist_batch(run, batch)
        finally:
            if batch.held:
                batch.held = False
                self._give_back(run, 1)

    async def _held_page(
        self, run: _ShardRun, fetch: Callable[[], Awaitable[Page[msgspec.Raw]]]
    ) -> Page[msgspec.Raw]:
        """``fetch()`` once the room has a place for its page; the place is the page's
        until its records are written (:meth:`_persist`)."""
        await self._room.acquire()
        run.held += 1
        try:
            return await fetch()
        except BaseException:
            self._give_back(run, 1)
            raise

    def _give_back(self, run: _ShardRun, pages: int) -> None:
        for _ in range(min(pages, run.held)):
            run.held -= 1
            self._room.release()

    async def _persist_batch(self, run: _ShardRun, batch: _Batch) -> None:
        shard, part, cp, fresh = run.shard, run.part, run.cp, batch.fresh
        if self.sink is not None and fresh:
            await self.sink(shard.id, fresh)
        if part is not None and fresh:
            try:
                cp.size = await anyio.to_thread.run_sync(part.append, fresh)
            except OSError as exc:
                raise output_error(exc, part.path, "a shard's part") from exc
        cp.written += len(fresh)
        cp.pages += 1
        cp.resume_from = batch.last_day
        await anyio.to_thread.run_sync(self._save, cp, shard)
        self._counters.by_shard[shard.id] = cp.written
        self._counters.pages += 1
        self._report_progress()
        self._moving()

    async def _recount(self, run: _ShardRun) -> None:
        """``expected`` from a count of the shard's whole window (``rows=0``): its new
        cursor starts at the last day written and announces only what is left."""
        cp = run.cp
        params = [(k, v) for k, v in self.plan.page_params(run.shard) if k != "rows"]
        counted = await self.client.session.page(
            self.plan.path, "work-list", [*params, ("rows", "0")], msgspec.Raw
        )
        cp.expected, cp.recount = counted.total_results, False
        await anyio.to_thread.run_sync(self._save, cp, run.shard)

    def _admitted(self, shard_id: int, admitted: anyio.Event) -> None:
        """A page's request was admitted by the budget: the next shard may start, and a
        count waiting to go beside it may go."""
        self._turns.taken(shard_id)
        admitted.set()

    async def _recounted(
        self,
        run: _ShardRun,
        fetch: Callable[[], Awaitable[Page[msgspec.Raw]]],
        admitted: anyio.Event,
    ) -> Page[msgspec.Raw]:
        """``fetch()`` a new cursor's first page with the count of the shard's whole window
        (:meth:`_recount`) beside it, not before it: the page is not sent later for the
        count. The count asks for the budget once the page was admitted (``admitted``), so
        that the page has the earlier place, and the page's records are taken once both
        have answered (a count answers in a fraction of a page's time, unless the budget
        holds it back). Both must succeed (a failure is raised, the page dropped, and a new
        cursor counts again)."""

        async def page() -> Page[msgspec.Raw]:
            try:
                return await fetch()
            finally:
                admitted.set()  # a page that failed before it was sent lets the count go

        async def count() -> None:
            await admitted.wait()
            await self._recount(run)

        return await run_alongside(page, count, stop=False)

    async def _fetch_beside(
        self,
        run: _ShardRun,
        batch: _Batch | None,
        fetch: Callable[[], Awaitable[Page[msgspec.Raw]]],
    ) -> Page[msgspec.Raw]:
        """``fetch()`` the next page while the last one's ``batch`` is written: the next
        request does not wait for the disk. The batch is always written in full, whatever
        the fetch does; a write that fails stops the fetch and is raised."""
        if batch is None:
            return await fetch()
        return await run_alongside(fetch, functools.partial(self._persist, run, batch), stop=True)

    def _valid_utf8(self, raw: msgspec.Raw, doi: str | None) -> msgspec.Raw:
        # JSON text must be UTF-8, and msgspec does not check the bytes of fields it skips.
        # A record that is not is kept (data is not dropped), its bad bytes replaced, loudly.
        data = bytes(raw)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._counters.repaired += 1
            logger.warning(
                "record %s has bytes that are not UTF-8 (%s); kept with U+FFFD in their place",
                doi,
                exc.reason,
            )
            return msgspec.Raw(data.decode("utf-8", "replace").encode())
        return raw

    # -- output -------------------------------------------------------------------------------

    def _finish(self) -> Published:
        if self.layout is None:
            return Published(None)
        return publish(
            self.layout,
            self.plan,
            endpoint=_endpoint(self.client),
            update=self.newest_wins,
            keep_parts=self.keep_parts,
            joined=self._joiner,
        )


def _inside(shard: Shard, day: str | None) -> bool:
    """Whether a record created on ``day`` (``YYYY-MM-DD``) belongs to ``shard``'s window."""
    if day is None:
        return True  # undated: kept where it was sent
    if shard.start is not None and day < shard.start.isoformat():
        return False
    return shard.end is None or day <= shard.end.isoformat()


def _lost_cursor(exc: CrossrefError, cursor: str) -> bool:
    """Whether a failure on a later page means the cursor is gone: expired or unknown
    (404), or refused as not valid (a 400 naming the cursor)."""
    if cursor == "*":
        return False
    if isinstance(exc, NotFoundError):
        return True
    return isinstance(exc, BadRequestError) and any(
        "cursor" in (d.type or "") or "cursor" in (d.value or "").lower() or d.value == cursor
        for d in exc.messages
    )


def _note(exc: BaseException, text: str) -> None:
    """Add ``text`` to ``exc`` as a note (PEP 678) that tracebacks show, and log it (Python
    3.10 keeps the note but does not show it)."""
    if sys.version_info >= (3, 11):
        exc.add_note(text)
    else:  # the same attribute that add_note fills
        notes = getattr(exc, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            vars(exc)["__notes__"] = notes
        notes.append(text)
    logger.error("%s", text)


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _write_json(path: Path, data: object, *, text: str | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text if text is not None else json.dumps(data))
    tmp.replace(path)


def _read_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(path.read_text())
    except ValidationError as exc:
        raise HarvestStateError(f"{path}: {exc.rule}; delete that folder to start over") from exc


def _read_run(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}  # written by an older version
    except ValueError as exc:
        raise HarvestStateError(f"{path} is damaged ({exc}); delete that folder") from exc
    return data if isinstance(data, dict) else {}


def _locks(out: Path | None, state_file: Path | None) -> ExitStack:
    """Lock the output and the state file (whichever are given), in that order."""
    stack = ExitStack()
    try:
        if out is not None:
            stack.enter_context(OutputLock(out, "output"))
        if state_file is not None:
            stack.enter_context(OutputLock(state_file, "state file"))
    except BaseException:
        stack.close()
        raise
    return stack


def _finished_report(
    out: Path, client: Crossref, path: str, params: Sequence[tuple[str, str]]
) -> Report:
    """The report of a harvest found finished: its output verified, nothing sent."""
    started = time.monotonic()
    contents = finished_contents(out, _endpoint(client), path, params)
    return Report(
        records=0,
        expected=0,
        shards=0,
        shards_redone=0,
        pages=0,
        retries=0,
        rate_limited=0,
        elapsed=time.monotonic() - started,
        output_bytes=contents.bytes,
        output=out,
        on_disk=contents,
        already_complete=True,
    )


def _starting_point(
    client: Crossref,
    out: Path | None,
    path: str,
    params: tuple[tuple[str, str], ...],
    resume: bool,
    incremental: bool,
    overwrite: bool,
) -> Plan | Report | None:
    """Where a harvest of a query starts, decided before anything is sent: the saved plan of
    a harvest in progress, the report of a finished one (resuming it sends nothing), or None
    (plan afresh). An existing output that the run may not touch is refused here, so that a
    run that cannot finish sends no planning requests."""
    if out is None:
        return None
    state = Path(str(out) + ".harvest")
    saved = state / "plan.json"
    if resume and saved.exists():
        the_plan = _read_plan(saved)
        if not the_plan.same_query(path, params):
            raise HarvestStateError(
                f"the harvest in progress in {state} is for a different query; resume it "
                "with the same query, or delete that folder to start over"
            )
        return the_plan
    if out.is_dir():
        raise OutputError(f"{out} is a folder; give a file name for the output", path=str(out))
    if not out.exists() or state.exists() or overwrite:
        return None  # a new output, a run in progress (the harvester says to resume it)
    if incremental:
        manifest_for(out, _endpoint(client), path, params, purpose="update")
        return None
    if resume:
        return _finished_report(out, client, path, params)
    raise HarvestStateError(exists_message(out, _endpoint(client), path, params))


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
    overwrite: bool = False,
    max_outage: float = DEFAULT_MAX_OUTAGE,
) -> Report:
    """Harvest every record ``query`` matches into ``out`` (and/or a ``sink``).

    ``since`` (a date) or ``state_file`` (remembering the last run) makes the run incremental:
    only records indexed since then (``from-index-date``, as Crossref recommends); an
    existing output of the same query is updated (new records added, records seen again
    replaced by their newest copy, the rest kept). ``shard_ids`` runs only those shards of the
    plan. An existing output is otherwise kept: ``resume=True`` verifies a finished one and
    sends nothing, ``overwrite=True`` replaces it. ``max_outage`` bounds how long the harvest
    waits for a failing server (seconds without a successful page) before it stops, resumable.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     articles = cr.works.filter(type="journal-article")
    ...     report = await harvest(cr, articles, out=f"{tmp}/articles.jsonl.gz", target=200)
    ...     written = sum(1 for _ in iter_records(f"{tmp}/articles.jsonl.gz"))
    ...     again = await harvest(cr, articles, out=f"{tmp}/articles.jsonl.gz", resume=True)
    >>> report.records, report.shards, written, again.already_complete
    (607, 4, 607, True)
    """
    # Everything that can be checked without the API is checked before the first request.
    check_options(
        rows,
        concurrency,
        shard_ids=shard_ids,
        max_outage=max_outage,
        target=target,
        out=out,
    )
    started = dt.datetime.now(dt.timezone.utc).date()
    incremental = since is not None or state_file is not None
    out_path = Path(out) if out is not None else None
    state_path = Path(state_file) if state_file is not None else None
    with _locks(out_path, state_path):
        opening: Opening | None = None
        the_plan: Plan | None = None
        if isinstance(query, Plan):
            if incremental:
                raise ValidationError("since", "give since/state_file with a query, not a plan")
            the_plan = query
        else:
            if state_path is not None and since is None:
                since = await anyio.to_thread.run_sync(_read_state, state_path)
            if since is not None:
                query = query.filter(from_index_date=since)
            base, lower, upper = harvest_base(query)
            params = tuple(base.to_params())
            start = _starting_point(
                client, out_path, base.path, params, resume, incremental, overwrite
            )
            if isinstance(start, Report):
                return start
            the_plan = start
            if the_plan is None and shard_ids is None:
                # Shard ids only mean something in a plan made by counts, the same every time.
                workers = concurrency or default_cursors(client)
                opening = Opening(
                    client.session,
                    base.path,
                    params,
                    lower,
                    upper,
                    rows=rows,
                    workers=workers,
                    fallback=functools.partial(plan_shards, query, target=target),
                    target=target,
                    max_outage=max_outage,
                )
        sampled = query if not isinstance(query, Plan) else None

        async def run() -> tuple[Report, bool]:
            chosen = the_plan
            if chosen is None:
                assert sampled is not None  # a Plan was given otherwise
                chosen = await (opening.plan() if opening else plan_shards(sampled, target=target))
            harvester = Harvester(
                client,
                chosen,
                out=out_path,
                sink=sink,
                rows=rows,
                concurrency=concurrency,
                resume=resume,
                keep_parts=keep_parts,
                newest_wins=incremental,
                shard_ids=shard_ids,
                on_progress=on_progress,
                overwrite=overwrite,
                max_outage=max_outage,
                opening_page=opening.first_page if opening and opening.fetches_first else None,
                known_days=opening.days if opening else (),
            )
            return await harvester.run_locked(), harvester.complete

        async def first_page(_: CancelScope) -> None:
            if opening is not None:
                await opening.fetch_first()

        ran = await run_beside(run, first_page)
        assert ran is not None  # the helper never cancels the run
        report, complete = ran
        if state_path is not None and complete:
            # Only a run that covered the whole query moves the next run's start forward.
            try:
                _write_state(state_path, started)
            except OSError as exc:
                raise output_error(exc, state_path, "the state file") from exc
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
    except (OSError, ValueError) as exc:
        raise ValidationError(str(path), f"not a harvest state file: {exc}") from exc
    value = data.get("since") if isinstance(data, dict) else None
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            str(path), f"not a harvest state file: since must be YYYY-MM-DD, not {value!r}"
        ) from exc


def _write_state(path: Path, started: dt.date) -> None:
    data = json.dumps({"since": started.isoformat()}).encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)
