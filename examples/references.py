"""A work's reference list: which references carry a DOI, and the text of those that do not.

Use case: before building anything on citations, see what a paper's reference list holds.
Crossref has reference lists for about 60% of works; each entry has a DOI where the publisher
or Crossref matched one, and otherwise the unstructured citation text (and sometimes
structured fields: journal title, year, first page).

Offline, against the embedded simulator (a work with references unless ``--doi`` is given)::

    python examples/references.py --fake

Against Crossref::

    python examples/references.py --mailto you@example.org --doi 10.1126/science.adk4044
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from _fake import connect, parse_args

from crossref_async import Crossref, NotFoundError, ValidationError
from crossref_async.testing import FakeCrossref


async def run(cr: Crossref, doi: str) -> int:
    async with cr:
        try:
            work = await cr.work(doi)  # a bad DOI is refused before any request
        except NotFoundError:
            print(f"Crossref has no work {doi}", file=sys.stderr)
            return 1
    with_doi = [r for r in work.reference if r.DOI]
    print(f"{work.DOI}: {work.first_title} ({work.year})")
    print(f"references: {len(work.reference)}, with a DOI: {len(with_doi)}")
    for ref in work.reference:
        if ref.DOI:
            print(f"  {ref.key or '-':>12}  doi:{ref.DOI}")
        else:
            text = ref.unstructured or ref.article_title or ref.journal_title or "(no text)"
            print(f"  {ref.key or '-':>12}  {text[:90]}")
    return 0


def default_doi(fake: FakeCrossref) -> str:
    """A simulator work with a reference list mixing DOIs and plain text."""
    for record in fake.corpus.works:
        refs = record.get("reference") or []
        if any(r.get("DOI") for r in refs) and any(not r.get("DOI") for r in refs):
            return str(record["DOI"])
    return str(fake.corpus.works[0]["DOI"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doi", help="the work (any pasted form of its DOI)")
    args, fake = parse_args(parser, argv)
    doi = args.doi or (default_doi(fake) if fake else None)
    if doi is None:
        parser.error("give --doi")
    try:
        return asyncio.run(run(connect(args, fake), doi))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
