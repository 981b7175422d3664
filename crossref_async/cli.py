"""The ``crossref-async`` command: harvest, count, plan, get, check, cite, fake-server.

Every command that talks to the API takes ``--base-url``, ``--mailto`` (or
``CROSSREF_MAILTO``), ``--budget`` (or ``CROSSREF_BUDGET``), ``--filter name:value,...``,
``--query``, ``--select`` and reads the Plus token from ``CROSSREF_PLUS_TOKEN``. ``--fake``
runs it against the embedded simulator, with no network at all (a ``--budget`` still applies);
its API root is then ``http://crossref-simulator.invalid/v1``, so that no message or log line
under ``--fake`` looks like one from Crossref. ``-v`` goes before or after the command.

``--budget redis://host:6379/0`` shares one request budget through that Redis server with
every other process using it under the same identity (the mailto, or the Plus token): the
shards of a plan run as an array job, or the workers of a web application. Without it,
``CROSSREF_BUDGET`` applies (the client reads it); ``--budget ''`` turns sharing off even when
that is set. The URL is checked before any request is sent.

Everything that can be checked without the API is checked before the first request: the
options' values, the files read (``get --file``, ``check``, ``--plan``) and the folders
written (``--out`` and ``--state`` folders are created when missing). ``--out -`` writes the
JSONL to standard output (``harvest`` writes a private temporary file, verifies it, copies
it out and removes it, so the records still arrive exactly once). ``get`` reports each line
that is not a DOI (``file:line: value: rule``) and each DOI given more than once, and goes on
with the rest.

Exit statuses:

===  ===========================================================================================
0    done
1    done, but not everything was found or verified (a DOI not found or not a DOI, a harvest
     short of its total)
2    bad input (an option's value, options that do not go together, a file that is not a
     plan) or an error from the API
3    the output is locked by another harvest
4    the server kept failing (circuit open past ``--max-outage``), resumable
5    the output or its state cannot be written during the run (disk full, read-only),
     resumable
6    the output read back from disk does not hold what was expected (the parts are kept)
7    the ``--budget`` URL (or ``CROSSREF_BUDGET``) is not a usable Redis URL, refused before
     any request
8    the shared budget's Redis server cannot be reached (at start, or lost for longer than
     the client waits for it; a harvest stopped so is resumable)
9    a file or folder given cannot be read or written (missing, a folder, no permission, not
     UTF-8), refused before any request
130  interrupted (Ctrl-C), resumable
141  standard output closed early (a pipe into ``head``): stopped quietly, as a process
     killed by SIGPIPE (128 + 13)
143  terminated (SIGTERM), resumable
===  ===========================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import tempfile
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import anyio
import anyio.to_thread
import msgspec
from anyio import CancelScope

from ._cite import DEFAULT_CITE_BASE_URL, FORMATS
from ._cli_checks import (
    STDIO,
    PathProblem,
    UsageError,
    nonblank,
    prepare_output,
    read_dois,
    read_text,
    whole_number,
)
from ._client import DEFAULT_BASE_URL, Crossref
from ._errors import (
    CircuitOpenError,
    CrossrefError,
    OutputError,
    OutputLockedError,
    PublicPoolWarning,
    ValidationError,
    VerificationError,
)
from ._params import MAX_ROWS
from ._progress import ProgressDisplay, pause_of, retries_of
from ._query import WorksQuery
from ._shared import BudgetUnavailableError, redact_url, url_problem
from ._tasks import run_beside
from .harvest import Plan, Report, check_options, check_output_name, harvest, plan
from .models import Work

__all__ = ["main"]

logger = logging.getLogger("crossref_async")

FAKE_MAILTO = "demo@example.org"
#: The API root and content-negotiation root under ``--fake``: ``.invalid`` names no real
#: host (RFC 2606), so a URL in an error or a log line says it came from the simulator.
FAKE_BASE_URL = "http://crossref-simulator.invalid/v1"
FAKE_CITE_BASE_URL = "http://doi-simulator.invalid"
BUDGET_ENV = "CROSSREF_BUDGET"
MAILTO_ENV = "CROSSREF_MAILTO"
BUDGET_FORMS = (
    "redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or unix:///path/to/redis.sock"
)
EPILOG = """exit statuses:
  0 done     1 done, not all found or verified     2 bad input or an API error
  3 output locked by another harvest     4 server kept failing (resumable)
  5 output cannot be written (resumable)     6 output did not verify
  7 --budget is not a Redis URL     8 the budget's Redis cannot be reached
  9 a file or folder given cannot be read or written
  130 interrupted, 143 terminated (both resumable)     141 standard output closed early
"""
#: The status of a run whose standard output was closed early, as a shell reports a
#: process killed by SIGPIPE.
BROKEN_PIPE = 128 + 13


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
    (PathProblem, 9),
)
#: Errors after which running the same command with --resume continues the work.
RESUMABLE = (CircuitOpenError, OutputError)
ROUTES = ("member", "journal", "funder", "prefix", "type")


class _Parser(argparse.ArgumentParser):
    """argparse with two-line errors: the problem, then where the help is (the full usage of
    a command runs to a dozen lines, and buries the one that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n  see: {self.prog} --help\n")


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
    if not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: an empty field query matches nothing")
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


def _api_options(
    parser: argparse.ArgumentParser, *, query: bool = True, fake_works: int, presets: list[str]
) -> None:
    group = parser.add_argument_group("API")
    group.add_argument(
        "--base-url",
        help=f"API root (default: {DEFAULT_BASE_URL}; with --fake {FAKE_BASE_URL})",
    )
    group.add_argument(
        "--mailto",
        default=os.environ.get(MAILTO_ENV),
        help=f"your e-mail, for Crossref's polite pool (default: ${MAILTO_ENV})",
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
    group.add_argument(
        "--fake-works",
        type=whole_number(1),
        default=fake_works,
        metavar="N",
        help="works in the simulator's corpus (default: %(default)s, as fake-server --works)",
    )
    group.add_argument(
        "--fake-preset",
        default="polite-2026",
        choices=presets,
        metavar="PRESET",
        help="simulator limits preset: %(choices)s (default: %(default)s)",
    )
    if not query:
        return
    q = parser.add_argument_group("query")
    q.add_argument(
        "--route",
        metavar="KIND:ID",
        help="works of one member/journal/funder/prefix/type, e.g. member:311 or journal:0028-0836",
    )
    q.add_argument("--query", help="free-text query (not empty)")
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
    # The simulator's own names and sizes, so --help lists what fake-server takes.
    from .testing._limits import PRESETS
    from .testing._server import DEFAULT_WORKS

    presets = sorted(PRESETS)
    # -v after the command too: each command takes it into a name of its own (a command's
    # default would otherwise replace a count given before the command), added up in main.
    verbose = _Parser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        dest="command_verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more log output (-vv for every request)",
    )
    parser = _Parser(
        prog="crossref-async",
        description="Harvest and query the Crossref REST API, politely and fast.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=text, description=text, parents=[verbose]
        )
        return sub

    api = functools.partial(_api_options, fake_works=DEFAULT_WORKS, presets=presets)
    h = command("harvest", "write every matching record to a JSONL file")
    api(h)
    h.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output .jsonl, .jsonl.gz or .jsonl.zst (folders created); '-' for standard output",
    )
    h.add_argument(
        "--rows", type=int, default=MAX_ROWS, help=f"records per request (max {MAX_ROWS})"
    )
    h.add_argument(
        "--shard-size", type=int, help="target records per shard (default: about total/8)"
    )
    h.add_argument("--concurrency", type=int, help="shards at once (default: the pool's limit)")
    h.add_argument("--resume", action="store_true", help="continue an interrupted harvest")
    h.add_argument("--since", help="incremental: records indexed since this date (YYYY-MM-DD)")
    h.add_argument(
        "--state",
        type=Path,
        help="incremental: remember the last run in this file (folders created)",
    )
    h.add_argument(
        "--plan",
        type=Path,
        help="run a plan written by 'crossref-async plan' (it holds the query: no query options)",
    )
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

    c = command("count", "print how many records match")
    api(c)

    p = command("plan", "print a shard plan as JSON (for one job per shard)")
    api(p)
    p.add_argument(
        "--shard-size", type=int, help="target records per shard (default: about total/8)"
    )

    g = command("get", "resolve DOIs (arguments or --file) to JSONL records")
    api(g, query=False)
    g.add_argument("dois", nargs="*", metavar="DOI", help="DOIs (any pasted form)")
    g.add_argument(
        "--file",
        type=Path,
        help="a file with one DOI per line ('-' for stdin); lines that are not DOIs are "
        "reported with their line numbers and skipped",
    )
    g.add_argument("--select", help="comma-separated fields to return, e.g. DOI,title")
    g.add_argument(
        "--out",
        type=Path,
        help="write JSONL here (folders created; default and '-': standard output)",
    )

    k = command("check", "check the DOIs of a bibliography (text file)")
    api(k, query=False)
    k.add_argument("file", type=Path, help="the bibliography, any text ('-' for stdin)")
    k.add_argument("--json", action="store_true", help="one JSON object per DOI")

    t = command("cite", "a formatted citation (BibTeX, RIS, CSL-JSON, text)")
    api(t, query=False)
    t.add_argument("doi", help="the DOI")
    t.add_argument("--format", default="bibtex", choices=sorted(FORMATS), help="(default: bibtex)")
    t.add_argument("--style", help="CSL style for --format text (apa, ieee, ...)")
    t.add_argument("--locale", help="locale for --format text (en-US, de-DE, ...)")
    t.add_argument(
        "--cite-base-url",
        help=f"content negotiation service (default: {DEFAULT_CITE_BASE_URL}; "
        f"with --fake {FAKE_CITE_BASE_URL})",
    )

    commands.add_parser(
        "fake-server", help="serve the Crossref simulator on loopback (see fake-server --help)"
    )
    return parser


# -- before the first request -----------------------------------------------------------------


def _relabel(option: str, check: Callable[[], object]) -> None:
    """Run a library check; its error names the command-line option, not the parameter."""
    try:
        check()
    except ValidationError as exc:
        raise UsageError(option, repr(exc.value), exc.rule) from None


def _to_stdout(args: argparse.Namespace) -> bool:
    return getattr(args, "out", None) is not None and str(args.out) == STDIO


def _preflight(args: argparse.Namespace) -> None:
    """Every check that needs no request, in the order a user reads the options: the values,
    then the files read, then the folders written. Files read are kept on ``args``."""
    fake_cite = FAKE_CITE_BASE_URL if args.fake else DEFAULT_CITE_BASE_URL
    args.base_url = args.base_url or (FAKE_BASE_URL if args.fake else DEFAULT_BASE_URL)
    args.cite_base_url = getattr(args, "cite_base_url", None) or fake_cite
    if args.budget == "":
        # --budget '' is "no shared budget" even when $CROSSREF_BUDGET is set; the client reads
        # that variable whenever it is given budget=None, so this process must not have it.
        os.environ.pop(BUDGET_ENV, None)
        args.budget = None
    _check_budget(args.budget)
    if hasattr(args, "route"):
        _check_query(args)
    if args.command == "harvest":
        _check_harvest(args)
    elif args.command == "plan":
        _relabel("--shard-size", lambda: check_options(MAX_ROWS, None, target=args.shard_size))
    elif args.command == "get":
        _read_get(args)
    elif args.command == "check":
        args.text = read_text(args.file, "check")


def _check_query(args: argparse.Namespace) -> None:
    if args.route:
        kind, _, ident = args.route.partition(":")
        if kind not in ROUTES or not ident.strip():
            raise UsageError(
                "--route", repr(args.route), f"give KIND:ID, KIND one of {', '.join(ROUTES)}"
            )
    nonblank("--query", args.query)


def _check_harvest(args: argparse.Namespace) -> None:
    to_stdout = _to_stdout(args)
    _relabel("--rows", lambda: check_options(args.rows, None))
    _relabel("--concurrency", lambda: check_options(MAX_ROWS, args.concurrency))
    _relabel("--shard-size", lambda: check_options(MAX_ROWS, None, target=args.shard_size))
    _relabel("--max-outage", lambda: check_options(MAX_ROWS, None, max_outage=args.max_outage))
    _relabel("--shard", lambda: check_options(MAX_ROWS, None, shard_ids=args.shard))
    if not to_stdout:
        _relabel("--out", lambda: check_output_name(args.out))
    if to_stdout:
        # The temporary output is removed once copied out: nothing is left to resume, and a
        # state file moved forward could not be told whether the reader got the records.
        for option, given in (
            ("--resume", args.resume),
            ("--state", args.state),
            ("--keep-parts", args.keep_parts),
        ):
            if given:
                raise UsageError(
                    "--out", "-", f"standard output keeps no progress: {option} needs a file"
                )
    args.the_plan = None
    if args.plan is not None:
        given = [
            name
            for name, value in (
                ("--route", args.route),
                ("--query", args.query),
                ("--field", args.field),
                ("--filter", args.filter),
                ("--select", args.select),
                ("--shard-size", args.shard_size),
                ("--since", args.since),
                ("--state", args.state),
            )
            if value
        ]
        if given:
            raise UsageError(
                "--plan",
                str(args.plan),
                f"a plan holds its own query and shards; leave out {', '.join(given)} "
                "(or write a new plan with them)",
            )
        text = read_text(args.plan, "--plan")
        try:
            args.the_plan = Plan.from_json(text)
        except ValidationError as exc:
            raise UsageError("--plan", str(args.plan), f"not a plan: {exc.rule}") from None
        if args.shard:
            ids = [shard.id for shard in args.the_plan.shards]
            unknown = [i for i in args.shard if i not in ids]
            if unknown:
                raise UsageError(
                    "--shard",
                    str(unknown[0]),
                    f"the plan's shards are {ids[0]} to {ids[-1]}" if ids else "the plan is empty",
                )
    if not to_stdout:
        prepare_output(args.out, "--out")
    if args.state is not None:
        prepare_output(args.state, "--state")


def _read_get(args: argparse.Namespace) -> None:
    lines: list[tuple[str, str]] = []
    if args.file:
        name = "<stdin>" if str(args.file) == STDIO else str(args.file)
        text = read_text(args.file, "--file")
        lines = [(f"{name}:{n}", line) for n, line in enumerate(text.splitlines(), 1)]
    args.given = read_dois(args.dois, lines)
    if not args.given.dois and not args.given.bad:
        raise UsageError("get", "(nothing)", "give DOIs as arguments or with --file")
    if args.out is not None:
        prepare_output(args.out, "--out")


# -- running ----------------------------------------------------------------------------------


def _warn_public_pool() -> None:
    print(
        "crossref-async: warning: no mailto given: requests go to Crossref's public pool "
        "(5 single-record and 1 list request a second, one at a time);\n"
        f"  pass --mailto you@example.org or set {MAILTO_ENV} for the polite pool",
        file=sys.stderr,
    )


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[Crossref]:
    token = os.environ.get("CROSSREF_PLUS_TOKEN") or None
    if args.fake:
        from .testing import FakeCrossref

        fake = FakeCrossref(works=args.fake_works, limits=args.fake_preset)
        async with Crossref(
            mailto=args.mailto or FAKE_MAILTO,
            transport=fake.transport(),
            base_url=args.base_url,
            cite_base_url=args.cite_base_url,
            budget=args.budget,
        ) as cr:
            yield cr
        return
    with warnings.catch_warnings():
        # The library's warning tells a program to pass Crossref(mailto=...); a command-line
        # user is told about --mailto instead (below).
        warnings.simplefilter("ignore", PublicPoolWarning)
        client = Crossref(
            mailto=args.mailto,
            plus_token=token,
            base_url=args.base_url,
            cite_base_url=args.cite_base_url,
            budget=args.budget,  # None: the client reads $CROSSREF_BUDGET
        )
    if args.mailto is None and token is None:
        _warn_public_pool()
    async with client as cr:
        yield cr


def _query(cr: Crossref, args: argparse.Namespace) -> WorksQuery[Work]:
    query = cr.works
    if args.route:
        kind, _, ident = args.route.partition(":")
        query = getattr(cr, f"{kind}_works")(ident)
    if args.query or args.field:
        query = query.query(args.query, **dict(args.field))
    for pairs in args.filter:
        query = query.filter(pairs)
    if args.select:
        query = query.select(args.select)
    return query


async def _harvest(args: argparse.Namespace) -> int:
    with _harvest_output(args) as out:
        return await _harvest_into(args, out)


@contextlib.contextmanager
def _harvest_output(args: argparse.Namespace) -> Iterator[Path]:
    """Where the harvest writes: ``--out``, or for ``--out -`` a private file, verified like
    any other and then copied out, so the records reach the pipe exactly once and only once
    they are all on disk (the file and its folder are removed afterwards)."""
    if not _to_stdout(args):
        yield args.out
        return
    with tempfile.TemporaryDirectory(prefix="crossref-async-") as folder:
        yield Path(folder, "harvest.jsonl")


async def _harvest_into(args: argparse.Namespace, out: Path) -> int:
    async with _client(args) as cr:
        display = ProgressDisplay(
            sys.stderr, not args.no_progress, pause_of(cr.session), retries_of(cr.session)
        )
        target: WorksQuery[Work] | Plan
        target = args.the_plan if args.the_plan is not None else _query(cr, args)

        async def refresh(scope: CancelScope) -> None:
            while True:
                await anyio.sleep(1.0)
                display.tick()

        async def run() -> Report:
            return await harvest(
                cr,
                target,
                out=out,
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
    if _to_stdout(args):
        # The records go to standard output, so the report goes beside the progress,
        # naming where the records went rather than the file about to be removed.
        shown = dataclasses.replace(report, output=Path("<standard output>"))
        print(shown.table(), file=sys.stderr)
        await anyio.to_thread.run_sync(_copy_out, out)
    else:
        print(report.table())
    return 0 if report.verified else 1


def _copy_out(path: Path) -> None:
    with path.open("rb") as records:
        shutil.copyfileobj(records, sys.stdout.buffer, 1 << 20)
    sys.stdout.buffer.flush()


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


async def _get(args: argparse.Namespace) -> int:
    given = args.given
    for line in given.bad:
        print(f"crossref-async: not a DOI, skipped: {line}", file=sys.stderr)
    for doi, places in given.repeats.items():
        print(
            f"crossref-async: {doi} given {len(places)} times ({', '.join(places)}); written once",
            file=sys.stderr,
        )
    select = [s.strip() for s in args.select.split(",")] if args.select else []
    found = missing = 0
    with contextlib.ExitStack() as stack:
        out: BinaryIO = sys.stdout.buffer
        if args.out is not None and str(args.out) != STDIO:
            try:
                out = stack.enter_context(args.out.open("wb"))
            except OSError as exc:
                raise PathProblem("--out", args.out, f"cannot be written: {exc.strerror}") from None
        if given.dois:
            async with _client(args) as cr:
                async for doi, work in cr.iter_works_by_doi(given.dois, select=select):
                    if work is None:
                        missing += 1
                        print(f"not found: {doi}", file=sys.stderr)
                        continue
                    found += 1
                    out.write(msgspec.json.encode(work) + b"\n")
        out.flush()
    summary = f"{found} found, {missing} not found"
    if given.bad:
        summary += f", {len(given.bad)} skipped (not DOIs)"
    if given.repeats:
        summary += f", {len(given.repeats)} given more than once"
    print(summary, file=sys.stderr)
    return 0 if missing == 0 and not given.bad else 1


async def _check(args: argparse.Namespace) -> int:
    async with _client(args) as cr:
        entries = await cr.check_bibliography(args.text)
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


def _pipe_closed() -> int:
    """Standard output was closed early (``| head``): stop quietly. Python would otherwise
    report the failed flush of its buffered output at exit; pointing the descriptor at
    /dev/null lets that flush succeed."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fake-server"]:
        # The simulator has its own options (and --help); hand them over untouched.
        from .testing._server import main_fake_server

        return main_fake_server(argv[1:])
    args = _parser().parse_args(argv)
    args.verbose += getattr(args, "command_verbose", 0)
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
    resumable = args.command == "harvest" and not _to_stdout(args)
    try:
        _preflight(args)
        status = int(anyio.run(_until_signalled, runners[args.command], args))
        sys.stdout.flush()  # here, where a closed pipe can still be told apart
        return status
    except BrokenPipeError:
        return _pipe_closed()
    except _Stopped as stop:
        name = signal.Signals(stop.signum).name
        hint = _resume_hint(argv) if resumable else ""
        print(f"\ncrossref-async: stopped by {name}{hint}", file=sys.stderr)
        return 128 + stop.signum
    except BudgetUnavailableError as exc:
        # One line (the reason may hold the server's own line breaks); the URL is redacted.
        print(f"crossref-async: error: {' '.join(str(exc).split())}", file=sys.stderr)
        if resumable and _harvest_started(args):
            print(f"  to continue: {_resume_command(argv)}", file=sys.stderr)
        return 8
    except CrossrefError as exc:
        print(f"crossref-async: error: {exc}", file=sys.stderr)
        if isinstance(exc, RESUMABLE) and resumable:
            print(f"  to continue: {_resume_command(argv)}", file=sys.stderr)
        return next((code for cls, code in EXIT_STATUSES if isinstance(exc, cls)), 2)
    except KeyboardInterrupt:
        hint = _resume_hint(argv) if resumable else ""
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
