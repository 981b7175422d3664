"""The ``crossref-async`` command: harvest, count, plan, get, check, cite, fake-server.

Every command that talks to the API takes ``--base-url``, ``--mailto`` (or
``CROSSREF_MAILTO``), ``--filter name:value,...``, ``--query``, ``--select`` and reads the
Plus token from ``CROSSREF_PLUS_TOKEN``. ``--fake`` runs it against the embedded simulator,
with no network at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import anyio
import msgspec

from ._cite import DEFAULT_CITE_BASE_URL, FORMATS
from ._client import DEFAULT_BASE_URL, Crossref
from ._errors import CrossrefError
from ._query import WorksQuery
from .harvest import Plan, Progress, harvest, plan
from .models import Work

__all__ = ["main"]

logger = logging.getLogger("crossref_async")

FAKE_MAILTO = "demo@example.org"
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
        ) as cr:
            yield cr
        return
    async with Crossref(
        mailto=args.mailto, plus_token=token, base_url=args.base_url, cite_base_url=cite_base
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
    """A one-line progress bar on a terminal; a log line every few seconds otherwise."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < (0.2 if self.tty else 5.0) and p.shards_done < p.shards:
            return
        self._last = now
        eta = f"{p.eta:,.0f}s" if p.eta is not None else "?"
        line = (
            f"{p.records:,}/{p.total:,} records  {p.rate:,.0f}/s  ETA {eta}  "
            f"shards {p.shards_done}/{p.shards}"
        )
        if self.tty:
            width = max(10, min(40, 100 - len(line)))
            done = int(width * p.records / p.total) if p.total else width
            self.stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {line}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


async def _harvest(args: argparse.Namespace) -> int:
    display = _ProgressDisplay(sys.stderr, not args.no_progress)
    async with _client(args) as cr:
        target: WorksQuery[Work] | Plan
        target = Plan.from_json(args.plan.read_text()) if args.plan else _query(cr, args)
        try:
            report = await harvest(
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
            )
        finally:
            display.close()
    print(report.table())
    return 0 if report.records == report.expected or args.since or args.state else 1


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
    try:
        return int(anyio.run(runners[args.command], args))
    except CrossrefError as exc:
        print(f"crossref-async: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; run again with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
