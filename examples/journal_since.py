"""All articles of one journal published since a date, harvested to a JSONL file.

Use case: a local copy of a journal's recent output, for text mining, a bibliography or a
dashboard. The query is the journal's works route with two filters::

    cr.journal_works(issn).filter(from_pub_date=since, type="journal-article")

and :func:`crossref_async.harvest.harvest` pages through it with cursors, writes every record
exactly as Crossref sent it (one JSON object a line), checks that none is missing or doubled,
and reports what it did. A bad ISSN or date is refused before any request is sent.

Offline, against the embedded simulator (its largest journal unless ``--issn`` is given)::

    python examples/journal_since.py --fake

Against Crossref::

    python examples/journal_since.py --mailto you@example.org --issn 0028-0836 --since 2024-06
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from _fake import connect, largest_journal, parse_args

from crossref_async import Crossref, NotFoundError, ValidationError
from crossref_async.harvest import harvest


async def run(cr: Crossref, issn: str, since: str, out: Path) -> int:
    async with cr:  # closes the connections at the end
        # Building the query checks the ISSN and the date: no request is sent for bad input.
        query = cr.journal_works(issn).filter(from_pub_date=since, type="journal-article")
        try:
            journal = await cr.journal(issn)
        except NotFoundError:
            print(f"Crossref knows no journal with ISSN {issn}", file=sys.stderr)
            return 1
        print(f"{journal.title} ({journal.publisher}), ISSN {issn}")

        latest = await query.sort("published", "desc").page(rows=3)
        print(f"{latest.total_results:,} articles published since {since}; the latest:")
        for work in latest.items:
            authors = ", ".join(work.author_names[:3]) or "no authors listed"
            print(f"  {work.year}  {work.first_title}  ({authors})")

        # resume=True: if an earlier run into the same file was interrupted, continue it.
        report = await harvest(cr, query, out=out, resume=True)
        print(report.table())
    return 0 if report.records == report.expected else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Harvest a journal's articles since a date.")
    parser.add_argument("--issn", help="the journal (default with --fake: the largest one)")
    parser.add_argument("--since", default="2020-01-01", help="YYYY, YYYY-MM or YYYY-MM-DD")
    parser.add_argument("--out", type=Path, help="output (.jsonl, .jsonl.gz or .jsonl.zst)")
    args, fake = parse_args(parser, argv)
    issn = args.issn or (largest_journal(fake) if fake else parser.error("--issn is required"))
    out = args.out or Path(f"{issn}-since-{args.since}.jsonl")
    try:
        return asyncio.run(run(connect(args, fake), issn, args.since, out))
    except ValidationError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())
