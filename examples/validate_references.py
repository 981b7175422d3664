"""Reference validation: check every DOI in a bibliography, and match references without one.

Use case: a manuscript's (or a language model's) bibliography. Each DOI in the text is
resolved; one Crossref does not have is asked for its registration agency, which tells a
DataCite or mEDRA DOI from one that was never registered (a typo, an invented reference).
References without a DOI are matched against Crossref with ``query.bibliographic``.

Offline, against the embedded simulator (with a made-up bibliography unless a file is given)::

    python examples/validate_references.py --fake

Against Crossref::

    python examples/validate_references.py --mailto you@example.org bibliography.txt
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from _fake import connect, parse_args

from crossref_async import Crossref, ValidationError, extract_dois
from crossref_async.testing import OTHER_AGENCIES, FakeCrossref


async def run(cr: Crossref, text: str) -> int:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    async with cr:
        checked = await cr.check_bibliography(text)
        without_doi = [line for line in lines if not extract_dois(line)]
        matches = await cr.match_citations(without_doi)
    for entry in checked:
        if entry.status == "found" and entry.work is not None:
            print(f"ok         {entry.doi}  {entry.work.first_title} ({entry.work.year})")
        elif entry.status == "other-agency":
            print(f"elsewhere  {entry.doi}  registered with {entry.agency}, not Crossref")
        else:
            print(f"MISSING    {entry.doi}  not registered anywhere")
    for match in matches:
        if match.matched:
            print(f"matched    {match.doi}  score {match.score:.1f}  <- {match.citation[:60]}")
        else:
            print(f"unmatched  {match.reason}  <- {match.citation[:60]}")
    missing = sum(e.status == "not-registered" for e in checked)
    print(
        f"DOIs: {len(checked)}, not registered: {missing}; "
        f"without DOI: {len(matches)}, matched: {sum(m.matched for m in matches)}"
    )
    return 1 if missing else 0


def demo_bibliography(fake: FakeCrossref) -> str:
    """A bibliography over the simulator's corpus, with every kind of case in it."""
    works = fake.corpus.works
    other = next(iter(OTHER_AGENCIES))
    return "\n".join(
        [
            f"[1] {fake.corpus.citation(str(works[30]['DOI']))} doi:{works[30]['DOI']}.",
            f"[2] https://doi.org/{works[31]['DOI']}",
            f"[3] Data set. https://doi.org/{other}/dryad.example",
            "[4] An invented study. doi:10.5555/not-a-real-paper-2024.",
            f"[5] {fake.corpus.citation(str(works[32]['DOI']), style='apa')}",
            "[6] Smith 2019",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="the bibliography (any text)")
    args, fake = parse_args(parser, argv)
    if args.file is not None:
        text = args.file.read_text(encoding="utf-8")
    elif fake is not None:
        text = demo_bibliography(fake)
    else:
        parser.error("give a bibliography file")
    try:
        status = asyncio.run(run(connect(args, fake), text))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The demo bibliography has an invented DOI on purpose: that is the expected outcome.
    return 0 if fake is not None and args.file is None else status


if __name__ == "__main__":
    raise SystemExit(main())
