"""Resolving DOIs in bulk: a list of DOIs in any pasted form in, their Crossref records out.

Use case: DOIs from a spreadsheet, a reference manager or a web page, to be turned into full
metadata. Each line holds a DOI as it was pasted: bare, ``doi:10...``, ``DOI: 10...``,
``https://doi.org/...``, ``http://dx.doi.org/...``, even inside a sentence; blank lines and
lines starting with ``#`` are skipped. A line that holds no DOI is reported as malformed
(with the rule it breaks) and the rest go on.

The DOIs are resolved with ``cr.iter_works_by_doi``: a hundred DOIs per request (one
``filter=doi:...`` list request instead of a hundred single look-ups), a few batches at once
under the client's pacing, and the input read a window at a time (records are written as
they come; what stays in memory is one DOI key per distinct input DOI, to skip repeats).
Every record found is written to a JSONL file (one JSON object a line); the DOIs Crossref
does not have are listed at the end (to tell a DOI of another agency, such as DataCite, from
one never registered, see validate_references.py).

Offline, against the embedded simulator (a built-in sample unless a file is given: corpus
DOIs in several pasted forms, one with ``;#?<>()`` in it, some that do not exist and lines
that hold no DOI)::

    python examples/resolve_dois.py --fake

Against Crossref (a file, or ``-`` for standard input)::

    python examples/resolve_dois.py --mailto you@example.org dois.txt --out works.jsonl
    cut -f3 export.tsv | python examples/resolve_dois.py --mailto you@example.org -
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from _fake import connect, parse_args

from crossref_async import (
    Crossref,
    InvalidDOIError,
    ValidationError,
    doi_key,
    extract_dois,
    normalize_doi,
)
from crossref_async.testing import HOSTILE_DOIS, FakeCrossref


@dataclass
class Tally:
    """What became of the input lines."""

    dois: int = 0
    repeated: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # line, text, rule


def read_dois(lines: Iterable[str], tally: Tally) -> Iterator[str]:
    """The DOIs of ``lines`` (normalized, each once), noting malformed lines in ``tally``.

    A generator: the lines are read only as the look-up asks for more DOIs.
    """
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            found = [normalize_doi(text)]  # the whole line: keeps a DOI with spaces in one piece
        except InvalidDOIError as exc:
            found = extract_dois(text)  # a DOI inside other text ("see doi:10.1/x.")
            if not found:
                tally.malformed.append((number, text, exc.rule))
        for doi in found:
            key = doi_key(doi)
            if key in seen:
                tally.repeated += 1
                continue
            seen.add(key)
            tally.dois += 1
            yield doi


async def resolve(
    cr: Crossref, lines: Iterable[str], select: list[str], out: Path, tally: Tally
) -> None:
    async with cr:  # closes the connections at the end
        if select:
            cr.works.select(*select)  # checks the names before anything is read or written
        with out.open("wb") as records:
            pairs = cr.iter_works_by_doi(read_dois(lines, tally), select=select)
            async for doi, work in pairs:
                if work is None:
                    tally.missing.append(doi)
                    continue
                # The record as Crossref sent it, minus fields this library does not model.
                records.write(msgspec.json.encode(work) + b"\n")
                tally.found += 1
                if tally.found == 1:
                    print("first records found:")
                if tally.found <= 5:
                    print(f"  {work.DOI}  {work.first_title} ({work.year})")


def report(tally: Tally, out: Path) -> None:
    print(f"DOIs: {tally.dois} distinct ({tally.repeated} repeats skipped)")
    print(f"found:     {tally.found:>6}  -> {out}")
    print(f"not found: {len(tally.missing):>6}")
    for doi in tally.missing:
        print(f"  {doi}")
    print(f"malformed: {len(tally.malformed):>6}")
    for number, text, rule in tally.malformed:
        print(f"  line {number}: {text!r} ({rule})")


def demo_lines(fake: FakeCrossref) -> list[str]:
    """A pasted list over the simulator's corpus, with every kind of case in it."""
    works = fake.corpus.works
    hostile = next(d for d in HOSTILE_DOIS if "#" in d and "<" in d)
    return [
        "# DOIs pasted from here and there",
        str(works[100]["DOI"]),
        f"https://doi.org/{works[101]['DOI']}",
        f"doi:{works[102]['DOI']}",
        f"DOI: {str(works[103]['DOI']).upper()}",
        f"http://dx.doi.org/{works[104]['DOI']}",
        f"See doi:{works[105]['DOI']}.",
        hostile,
        "10.5555/space in suffix",
        "",
        f"https://doi.org/{works[101]['DOI']}",  # the same DOI again
        "10.5555/no-such-work-2024",
        "https://doi.org/10.5555/retracted-and-never-registered",
        "10.9999/typo.2019.0001",
        "Smith J. (2019) A study of something. Journal of Things.",
        "10.abc/not-a-prefix",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="one DOI a line (- for standard input)")
    parser.add_argument("--out", type=Path, default=Path("resolved.jsonl"), help="JSONL output")
    parser.add_argument(
        "--select", default="", help="only these fields, comma-separated (default: all)"
    )
    args, fake = parse_args(parser, argv)
    select = [name.strip() for name in args.select.split(",") if name.strip()]
    tally = Tally()
    try:
        if args.file == "-" or (args.file is None and fake is None):
            if sys.stdin.isatty():
                parser.error("give a file of DOIs, or pipe them in (- reads standard input)")
            asyncio.run(resolve(connect(args, fake), sys.stdin, select, args.out, tally))
        elif args.file is not None:
            path = Path(args.file)
            if not path.is_file():
                parser.error(f"{args.file!r}: no such file (give a file of DOIs, one a line)")
            with path.open(encoding="utf-8-sig") as lines:  # -sig: a spreadsheet's BOM
                asyncio.run(resolve(connect(args, fake), lines, select, args.out, tally))
        else:
            assert fake is not None
            asyncio.run(resolve(connect(args, fake), demo_lines(fake), select, args.out, tally))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(tally, args.out)
    # The demo list has missing DOIs and malformed lines on purpose: the expected outcome.
    if fake is not None and args.file is None:
        return 0
    return 1 if tally.missing or tally.malformed else 0


if __name__ == "__main__":
    raise SystemExit(main())
