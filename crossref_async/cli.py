"""The ``crossref-async`` command: harvest, count, plan, get, check, cite, fake-server.

Every command that talks to the API takes ``--base-url``, ``--mailto`` (or
``CROSSREF_MAILTO``), ``--budget`` (or ``CROSSREF_BUDGET``), ``--filter name:value,...``,
``--query``, ``--select`` and reads the Plus token from ``CROSSREF_PLUS_TOKEN``. ``--fake``
runs it against the embedded simulator, with no network at all (a ``--budget`` still applies).

``--budget redis://host:6379/0`` shares one request budget through that Redis server with
every other process using it under the same identity (the mailto, or the Plus token): the
shards of a plan run as an array job, or the workers of a web application. Without it,
``CROSSREF_BUDGET`` applies (the client reads it); ``--budget ''`` turns sharing off even when
that is set. The URL is checked before any request is sent.

Exit statuses: 0 done; 1 done, but not everything was found or verified (a DOI not found, a
harvest short of its total); 2 bad input or an error from the API; 3 the output is locked by
another harvest; 4 the server kept failing (circuit open past ``--max-outage``), resumable;
5 the output or its state cannot be written (disk full, read-only), resumable; 6 the output
read back from disk does not hold what was expected (the parts are kept); 130 interrupted
(Ctrl-C) and 143 terminated (SIGTERM), both resumable; 7 the ``--budget`` URL (or
``CROSSREF_BUDGET``) is not a usable Redis URL, refused before any request; 8 the shared
budget's Redis server cannot be reached (at start, or lost for longer than the client waits
for it; a harvest stopped so is resumable).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import anyio
import msgspec
from anyio import CancelScope

from ._cite import DEFAULT_CITE_BASE_URL, FORMATS
from ._client import DEFAULT_BASE_URL, Crossref
from ._errors import (
    CircuitOpenError,
    CrossrefError,
    OutputError,
    OutputLockedError,
    ValidationError,
    VerificationError,
)
from ._query import WorksQuery
from ._shared import BudgetUnavailableError, redact_url, url_problem
from ._tasks import run_beside
from .harvest import Plan, Progress, Report, harvest, plan
from .models import Work

__all__ = ["main"]

logger = logging.getLogger("crossref_async")

FAKE_MAILTO = "demo@example.org"
BUDGET_ENV = "CROSSREF_BUDGET"
BUDGET_FORMS = (
    "redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or unix:///path/to/redis.sock"
)


class BudgetURLError(ValidationError):
    """The ``--budget`` URL (or ``$CROSSREF_BUDGET``) is not a usable Redis URL; refused before
    any request is sent, naming the value (its password redacted) and the forms accepted.
    ``value`` is the redacted URL, ``rule`` what is wrong with it, ``source`` where it came from.

    >>> print(BudgetURLError("--budget", "http://:pw@host/0", "not a Redis URL"))
    --budget 'http://:***@host/0': not a Redis URL
      use redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or unix:///path/to/redis.sock
    """

    def __init__(self, source: str, url: str, problem: str) -> None:
        self.source = source
        # Shown as typed unless it may hold a password (redact_url rebuilds the URL, and
        # would turn a typo such as "redis:///0" into another one).
        secret = "@" in url or "password" in url.lower()
        self.url = redact_url(url) if secret else url
        self.problem = problem
        super().__init__(self.url, f"{problem}\n  use {BUDGET_FORMS}")
        self.args = (f"{source} {self.args[0]}",)  # says where the value came from


#: Exit statuses by error class (the first match wins); see the module docstring.
EXIT_STATUSES: tuple[tuple[type[CrossrefError], int], ...] = (
    (OutputLockedError, 3),
    (CircuitOpenError, 4),
    (OutputError, 5),
    (VerificationError, 6),
    (BudgetURLError, 7),
    (BudgetUnavailableError, 8),
)
#: Errors after which running the same command with --resume continues the work.
RESUMABLE = (CircuitOpenError, OutputError)
ROUTES = ("member", "journal", "funder", "prefix", "type")


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"{item!r}: a filter is name:value")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _field_query(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: a field query is field=words")
    return name.strip().replace("-", "_"), value


def _check_budget(given: str | None) -> None:
    """Refuse an unusable shared-budget URL (``--budget``, else ``$CROSSREF_BUDGET``, which
    the client reads) before any request; "" means no shared budget."""
    source, url = (
        ("--budget", given) if given is not None else (BUDGET_ENV, os.environ.get(BUDGET_ENV))
    )
    if not url:
        return
    problem = url_problem(url)
    if problem:
        raise BudgetURLError(source, url, problem)


def _api_options(parser: argparse.ArgumentParser, *, query: bool = True) -> None:
    group = parser.add_argument_group("API")
    group.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="API root (default: %(default)s)"
    )
    group.add_argument(
        "--mailto",
        default=os.environ.get("CROSSREF_MAILTO"),
        help="your e-mail, for Crossref's polite pool (default: $CROSSREF_MAILTO)",
    )
    group.add_argument(
        "--budget",
        metavar="URL",
        help="Redis URL (redis://host:6379/0, rediss://, unix://) of one request budget shared "
        "by every process using the same Redis and identity (mailto or Plus token), e.g. "
        f"the tasks of an array job (default: ${BUDGET_ENV}; '' for none)",
    )
    group.add_argument(
        "--fake",
        action="store_true",
        help="use the embedded Crossref simulator (no network)",
    )
    group.add_argument("--fake-works", type=int, default=20_000, help="simulator size")
    group.add_argument(
        "--fake-preset",
        default="polite-2026",
        help="simulator limits preset (default: %(default)s)",
    )
    if not query:
        return
    q = parser.add_argument_group("query")
    q.add_argument(
        "--route",
        metavar="KIND:ID",
        help="works of one member/journal/funder/prefix/type, e.g. member:311 or journal:0028-0836",
    )
    q.add_argument("--query", help="free-text query")
    q.add_argument(
        "--field",
        type=_field_query,
        action="append",
        default=[],
        metavar="FIELD=WORDS",
        help="field query such as author=carberry (repeatable)",
    )
    q.add_argument(
        "--filter",
        type=_pairs,
        action="append",
        default=[],
        metavar="NAME:VALUE,...",
        help="filters (repeatable; the same name twice means OR)",
    )
    q.add_argument("--select", help="comma-separated fields to return, e.g. DOI,title")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossref-async",
        description="Harvest and query the Crossref REST API, politely and fast.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    h = commands.add_parser("harvest", help="write every matching record to a JSONL file")
    _api_options(h)
    h.add_argument("--out", required=True, type=Path, help="output .jsonl, .jsonl.gz or .jsonl.zst")
    h.add_argument("--rows", type=int, default=1000, help="records per request (max 1000)")
    h.add_argument(
        "--shard-size", type=int, help="target records per shard (default: about total/8)"
    )
    h.add_argument("--concurrency", type=int, help="shards at once (default: the pool's limit)")
    h.add_argument("--resume", action="store_true", help="continue an interrupted harvest")
    h.add_argument("--since", help="incremental: records indexed since this date (YYYY-MM-DD)")
    h.add_argument("--state", type=Path, help="incremental: remember the last run in this file")
    h.add_argument("--plan", type=Path, help="run a plan written by 'crossref-async plan'")
    h.add_argument("--shard", type=int, action="append", help="run only this shard id (repeatable)")
    h.add_argument("--keep-parts", action="store_true", help="keep per-shard parts and checkpoints")
    h.add_argument(
        "--overwrite", action="store_true", help="replace an existing output (never by default)"
    )
    h.add_argument(
        "--max-outage",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="stop (resumable) after the server failed this long (default: %(default)g)",
    )
    h.add_argument("--no-progress", action="store_true", help="no progress display")

    c = commands.add_parser("count", help="print how many records match")
    _api_options(c)

    p = commands.add_parser("plan", help="print a shard plan as JSON (for one job per shard)")
    _api_options(p)
    p.add_argument(
        "--shard-size", type=int, help="target records per shard (default: about total/8)"
    )

    g = commands.add_parser("get", help="resolve DOIs (arguments or --file) to JSONL records")
    _api_options(g, query=False)
    g.add_argument("dois", nargs="*", metavar="DOI", help="DOIs (any pasted form)")
    g.add_argument("--file", type=Path, help="a file with one DOI per line ('-' for stdin)")
    g.add_argument("--select", help="comma-separated fields to return, e.g. DOI,title")
    g.add_argument("--out", type=Path, help="write JSONL here (default: standard output)")

    k = commands.add_parser("check", help="check the DOIs of a bibliography (text file)")
    _api_options(k, query=False)
    k.add_argument("file", type=Path, help="the bibliography, any text ('-' for stdin)")
    k.add_argument("--json", action="store_true", help="one JSON object per DOI")

    t = commands.add_parser("cite", help="a formatted citation (BibTeX, RIS, CSL-JSON, text)")
    _api_options(t, query=False)
    t.add_argument("doi", help="the DOI")
    t.add_argument("--format", default="bibtex", choices=sorted(FORMATS), help="(default: bibtex)")
    t.add_argument("--style", help="CSL style for --format text (apa, ieee, ...)")
    t.add_argument("--locale", help="locale for --format text (en-US, de-DE, ...)")
    t.add_argument(
        "--cite-base-url", default=DEFAULT_CITE_BASE_URL, help="content negotiation service"
    )

    commands.add_parser(
        "fake-server", help="serve the Crossref simulator on loopback (see fake-server --help)"
    )
    return parser


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[Crossref]:
    token = os.environ.get("CROSSREF_PLUS_TOKEN") or None
    cite_base = getattr(args, "cite_base_url", DEFAULT_CITE_BASE_URL)
    if args.fake:
        from .testing import FakeCrossref

        fake = FakeCrossref(works=args.fake_works, limits=args.fake_preset)
        async with Crossref(
            mailto=args.mailto or FAKE_MAILTO,
            transport=fake.transport(),
            base_url=args.base_url,
            cite_base_url=cite_base,
            budget=args.budget,
        ) as cr:
            yield cr
        return
    async with Crossref(
        mailto=args.mailto,
        plus_token=token,
        base_url=args.base_url,
        cite_base_url=cite_base,
        budget=args.budget,  # None: the client reads $CROSSREF_BUDGET
    ) as cr:
        yield cr


def _query(cr: Crossref, args: argparse.Namespace) -> WorksQuery[Work]:
    query = cr.works
    if args.route:
        kind, _, ident = args.route.partition(":")
        if kind not in ROUTES or not ident:
            raise CrossrefError(f"--route {args.route!r}: use one of {', '.join(ROUTES)} and an id")
        query = getattr(cr, f"{kind}_works")(ident)
    if args.query or args.field:
        query = query.query(args.query, **dict(args.field))
    for pairs in args.filter:
        query = query.filter(pairs)
    if args.select:
        query = query.select(args.select)
    return query


class _ProgressDisplay:
    """A one-line progress bar on a terminal; a log line every few seconds otherwise.

    ``pause`` (if given) is asked on every refresh what the client is waiting for (a 429
    pause, an open circuit), so a paused harvest says so even when no page arrives.
    """

    def __init__(
        self, stream: TextIO, enabled: bool, pause: Callable[[], str | None] | None = None
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.pause = pause
        self._last = 0.0
        self._latest: Progress | None = None

    def __call__(self, p: Progress) -> None:
        self._latest = p
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < (0.2 if self.tty else 5.0) and p.shards_done < p.shards:
            return
        self._last = now
        self._draw(p)

    def tick(self) -> None:
        """Redraw with the latest figures (called every second while the harvest runs)."""
        if self._latest is not None and self.enabled:
            self._draw(self._latest)

    def _draw(self, p: Progress) -> None:
        eta = f"{p.eta:,.0f}s" if p.eta is not None else "?"
        line = (
            f"{p.records:,}/{p.total:,} records  {p.rate:,.0f}/s  ETA {eta}  "
            f"shards {p.shards_done}/{p.shards}"
        )
        paused = p.paused or (self.pause() if self.pause else None)
        if paused:
            line += f"  [{paused}]"
        if self.tty:
            width = max(10, min(40, 100 - len(line)))
            done = int(width * p.records / p.total) if p.total else width
            self.stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {line}\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _pause_of(cr: Crossref) -> Callable[[], str | None]:
    def pause() -> str | None:
        current = cr.session.paused()
        if current is None:
            return None
        return f"paused {current.remaining:.0f}s: {current.reason}"

    return pause


async def _harvest(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        display = _ProgressDisplay(sys.stderr, not args.no_progress, _pause_of(cr))
        target: WorksQuery[Work] | Plan
        target = Plan.from_json(args.plan.read_text()) if args.plan else _query(cr, args)

        async def refresh(scope: CancelScope) -> None:
            while True:
                await anyio.sleep(1.0)
                display.tick()

        async def run() -> Report:
            return await harvest(
                cr,
                target,
                out=args.out,
                target=args.shard_size,
                rows=args.rows,
                concurrency=args.concurrency,
                resume=args.resume,
                since=args.since,
                state_file=args.state,
                shard_ids=args.shard,
                keep_parts=args.keep_parts,
                on_progress=display,
                overwrite=args.overwrite,
                max_outage=args.max_outage,
            )

        try:
            report = await run_beside(run, refresh)
        finally:
            display.close()
    assert report is not None  # only a signal stops it early, and that cancels this task
    print(report.table())
    return 0 if report.verified else 1


async def _count(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        print(await _query(cr, args).count())
    return 0


async def _plan(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        the_plan = await plan(_query(cr, args), target=args.shard_size)
    print(the_plan.to_json())
    if not the_plan.consistent:
        print(
            f"warning: shard counts add up to {the_plan.shard_total:,}, "
            f"the query matches {the_plan.total:,}",
            file=sys.stderr,
        )
        return 1
    return 0


def _read_text(path: Path) -> str:
    return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")


async def _get(args: argparse.Namespace) -> int:
    dois = list(args.dois)
    if args.file:
        dois += [line.strip() for line in _read_text(args.file).splitlines() if line.strip()]
    if not dois:
        raise CrossrefError("give DOIs as arguments or with --file")
    select = [s.strip() for s in args.select.split(",")] if args.select else []
    found = missing = 0
    with contextlib.ExitStack() as stack:
        out: BinaryIO = stack.enter_context(args.out.open("wb")) if args.out else sys.stdout.buffer
        async with _client(args) as cr:
            async for doi, work in cr.iter_works_by_doi(dois, select=select):
                if work is None:
                    missing += 1
                    print(f"not found: {doi}", file=sys.stderr)
                    continue
                found += 1
                out.write(msgspec.json.encode(work) + b"\n")
        out.flush()
    print(f"{found} found, {missing} not found", file=sys.stderr)
    return 0 if missing == 0 else 1


async def _check(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        entries = await cr.check_bibliography(_read_text(args.file))
    for entry in entries:
        title = entry.work.first_title if entry.work else None
        if args.json:
            record = {"doi": entry.doi, "status": entry.status, "agency": entry.agency,
                      "title": title}  # fmt: skip
            print(json.dumps(record))
        else:
            detail = title or (f"registered with {entry.agency}" if entry.agency else "")
            print(f"{entry.status:15} {entry.doi}  {detail}")
    bad = sum(e.status == "not-registered" for e in entries)
    print(f"{len(entries)} DOIs: {len(entries) - bad} registered, {bad} not", file=sys.stderr)
    return 0 if bad == 0 else 1


async def _cite(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        text = await cr.cite(args.doi, format=args.format, style=args.style, locale=args.locale)
    print(text.strip())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fake-server"]:
        # The simulator has its own options (and --help); hand them over untouched.
        from .testing._server import main_fake_server

        return main_fake_server(argv[1:])
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runners: dict[str, Any] = {
        "harvest": _harvest,
        "count": _count,
        "plan": _plan,
        "get": _get,
        "check": _check,
        "cite": _cite,
    }
    if args.budget == "":
        # --budget '' is "no shared budget" even when $CROSSREF_BUDGET is set; the client reads
        # that variable whenever it is given budget=None, so this process must not have it.
        os.environ.pop(BUDGET_ENV, None)
        args.budget = None
    try:
        _check_budget(args.budget)
        return int(anyio.run(_until_signalled, runners[args.command], args))
    except _Stopped as stop:
        name = signal.Signals(stop.signum).name
        hint = _resume_hint(argv) if args.command == "harvest" else ""
        print(f"\ncrossref-async: stopped by {name}{hint}", file=sys.stderr)
        return 128 + stop.signum
    except BudgetUnavailableError as exc:
        # One line (the reason may hold the server's own line breaks); the URL is redacted.
        print(f"crossref-async: error: {' '.join(str(exc).split())}", file=sys.stderr)
        if args.command == "harvest" and _harvest_started(args):
            print(f"  to continue: {_resume_command(argv)}", file=sys.stderr)
        return 8
    except CrossrefError as exc:
        print(f"crossref-async: error: {exc}", file=sys.stderr)
        if isinstance(exc, RESUMABLE) and args.command == "harvest":
            print(f"  to continue: {_resume_command(argv)}", file=sys.stderr)
        return next((code for cls, code in EXIT_STATUSES if isinstance(exc, cls)), 2)
    except KeyboardInterrupt:
        hint = _resume_hint(argv) if args.command == "harvest" else ""
        print(f"\ncrossref-async: interrupted{hint}", file=sys.stderr)
        return 130


class _Stopped(Exception):
    """A termination signal arrived; the work was cancelled cleanly."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


async def _until_signalled(
    runner: Callable[[argparse.Namespace], Awaitable[int]], args: Any
) -> int:
    """Run a command; SIGTERM (and Ctrl-C) cancel it cleanly: checkpoints stay consistent,
    locks are let go, and the caller reports the signal."""
    received: list[int] = []

    async def watch(scope: CancelScope) -> None:
        if sys.platform == "win32":  # no signal receivers there; Ctrl-C still works
            return
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                received.append(int(signum))
                scope.cancel()
                return

    result = await run_beside(functools.partial(runner, args), watch)
    if received or result is None:
        raise _Stopped(received[0] if received else signal.SIGTERM)
    return result


def _harvest_started(args: argparse.Namespace) -> bool:
    """Whether the harvest left state to resume (a Redis lost mid-run, not one never reached)."""
    return Path(str(args.out) + ".harvest").exists()


def _resume_command(argv: Sequence[str]) -> str:
    again = list(argv) if "--resume" in argv else [*argv, "--resume"]
    return f"crossref-async {shlex.join(again)}"


def _resume_hint(argv: Sequence[str]) -> str:
    return f"; progress is saved. To continue: {_resume_command(argv)}"


if __name__ == "__main__":
    sys.exit(main())
