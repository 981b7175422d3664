"""Journal scope: which institutions a journal's authors come from, over a date range.

Use case: editorial strategy and comparing journals. Take every work a journal published in
a period and the affiliations of its authors: how many works name any, which institutions
appear most (counted once per work, and by authors), how often several institutions share a
paper, how many affiliations carry a ROR id, and where they are (the ``place`` Crossref gives
for some affiliations).

There is no need to follow each DOI to its own record: the journal's works list carries the
authors with their affiliations, so one cursor over
``cr.journal_works(issn).filter(from_pub_date=..., until_pub_date=...)`` with
``select("DOI", "author", ...)`` (a fraction of each record) gets them all, a thousand works
a request. Every author affiliation is also written to a CSV file, one row each. (For the
top institutions alone, the ``affiliation`` facet of the same query answers in one request,
but it counts exact spellings and says nothing about authors or co-affiliation.)

Offline, against the embedded simulator (its largest journal unless ``--issn`` is given)::

    python examples/journal_scope.py --fake

Against Crossref::

    python examples/journal_scope.py --mailto you@example.org --issn 1932-6203 \\
        --from 2023-01 --until 2023-06 --top 20
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _fake import connect, largest_journal, parse_args

from crossref_async import Crossref, NotFoundError, ValidationError, Work
from crossref_async.models import Affiliation
from crossref_async.testing import CORPUS_NOW


def institution(affiliation: Affiliation) -> str | None:
    """The affiliation's name, whitespace tidied (``None`` when it has none)."""
    return " ".join((affiliation.name or "").split()) or None


def ror(affiliation: Affiliation) -> str:
    return next((i.id or "" for i in affiliation.id if (i.id_type or "").upper() == "ROR"), "")


@dataclass
class Scope:
    """Affiliation tallies over a journal's works."""

    works: int = 0
    works_affiliated: int = 0
    works_shared: int = 0  # authors from two or more institutions
    authors: int = 0
    authors_affiliated: int = 0
    affiliations: int = 0
    with_ror: int = 0
    by_works: Counter[str] = field(default_factory=Counter)
    by_authors: Counter[str] = field(default_factory=Counter)
    places: Counter[str] = field(default_factory=Counter)
    spelling: dict[str, str] = field(default_factory=dict)  # key -> first spelling seen

    def add(self, work: Work) -> list[list[object]]:
        """Count one work in; its CSV rows, one per author affiliation."""
        rows: list[list[object]] = []
        self.works += 1
        in_work: set[str] = set()
        for person in work.author:
            self.authors += 1
            names: set[str] = set()
            for aff in person.affiliation:
                name = institution(aff)
                if name is None:
                    continue
                key = name.casefold()
                self.spelling.setdefault(key, name)
                names.add(key)
                self.affiliations += 1
                self.with_ror += bool(ror(aff))
                self.places.update(set(aff.place))
                author = person.display_name or ""
                place = "; ".join(aff.place)
                rows.append([work.DOI, work.year, author, person.sequence, name, ror(aff), place])
            self.authors_affiliated += bool(names)
            self.by_authors.update(names)
            in_work |= names
        self.works_affiliated += bool(in_work)
        self.works_shared += len(in_work) >= 2
        self.by_works.update(in_work)
        return rows


async def run(cr: Crossref, issn: str, since: str, until: str | None, top: int, out: Path) -> int:
    async with cr:  # closes the connections at the end
        # Building the query checks the ISSN and the dates: no request for bad input.
        works = cr.journal_works(issn).filter(from_pub_date=since)
        if until is not None:
            works = works.filter(until_pub_date=until)
            n = min(len(since), len(until))
            if until[:n] < since[:n]:
                raise ValidationError(until, f"--until is before --from {since}")
        try:
            journal = await cr.journal(issn)
        except NotFoundError:
            print(f"Crossref knows no journal with ISSN {issn}", file=sys.stderr)
            return 1
        print(f"{journal.title} ({journal.publisher}), ISSN {issn}")
        print(f"works published from {since}" + (f" until {until}" if until else ""))

        scope = Scope()
        query = works.select("DOI", "author", "issued", "published")
        with out.open("w", newline="", encoding="utf-8") as fh:
            rows = csv.writer(fh)
            rows.writerow(["doi", "year", "author", "sequence", "affiliation", "ror", "place"])
            async for work in query.stream():
                rows.writerows(scope.add(work))
    report(scope, top, out)
    return 0


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(s: Scope, top: int, out: Path) -> None:
    print(f"works: {s.works:,}, with an affiliated author: {s.works_affiliated:,}", end="")
    print(f" ({pct(s.works_affiliated, s.works)})")
    print(f"authors: {s.authors:,}, with an affiliation: {s.authors_affiliated:,}", end="")
    print(f" ({pct(s.authors_affiliated, s.authors)})")
    print(f"affiliations: {s.affiliations:,}, with a ROR id: {s.with_ror:,}")
    print(f"institutions: {len(s.by_works):,}; works shared by two or more: {s.works_shared:,}")
    print(f"top institutions (share: of the {s.works_affiliated:,} works naming any):")
    print("   works   share  authors  institution")
    ranked = sorted(s.by_works.items(), key=lambda kv: (-kv[1], s.spelling[kv[0]]))
    for key, n in ranked[:top]:
        share = pct(n, s.works_affiliated)
        print(f"  {n:>6,}  {share:>6}  {s.by_authors[key]:>7,}  {s.spelling[key]}")
    if s.places:
        print("top places: " + ", ".join(f"{p} ({n})" for p, n in s.places.most_common(top)))
    else:
        print("top places: no affiliation in these records gives a place")
    print(f"one row per author affiliation written to {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issn", help="the journal (default with --fake: the largest one)")
    parser.add_argument("--from", dest="since", help="YYYY, YYYY-MM or YYYY-MM-DD (10 years ago)")
    parser.add_argument("--until", help="YYYY, YYYY-MM or YYYY-MM-DD (default: no end)")
    parser.add_argument("--top", type=int, default=10, help="institutions to list (10)")
    parser.add_argument("--out", type=Path, help="the CSV of affiliations")
    args, fake = parse_args(parser, argv)
    issn = args.issn or (largest_journal(fake) if fake else parser.error("--issn is required"))
    if args.top < 1:
        parser.error(f"--top {args.top}: list at least one institution")
    year = (CORPUS_NOW if fake else dt.datetime.now(dt.timezone.utc)).year
    since = args.since or str(year - 10)
    out = args.out or Path(f"{issn}-affiliations.csv")
    try:
        return asyncio.run(run(connect(args, fake), issn, since, args.until, args.top, out))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
