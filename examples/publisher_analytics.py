"""Publisher analytics: volume, open access share and reference density, year by year.

Use case: comparing publishers (Crossref members) over time: how much each published per
year, what share of it carries a Creative Commons license, and what share deposited its
reference list. Everything comes from counts: no record is downloaded.

* The publishers: the ``--member`` ids given, or else the ``--top`` publishers of the period,
  by the ``publisher-name`` facet of all works published in it (one request), each name looked
  up in ``/members`` for its member id. (Ranking the whole ``/members`` list instead means
  paging through all of it, and Crossref pages that list only by offset, up to 10,000.)
* Per publisher, three ``rows=0`` requests on its works published in the period, each with
  the ``published`` facet (works per year): all of them, also with the ``license`` facet
  (which license URLs it uses); those under its Creative Commons URLs (``license.url``, the
  same filter repeated meaning OR); and those with references (``has-references``). Every
  publisher's requests go at once; the client paces them to Crossref's limits.

Open access here means a Creative Commons license URL (creativecommons.org) in the record,
reference density the share of works whose reference list was deposited.

Offline, against the embedded simulator (its top three publishers of the last ten years)::

    python examples/publisher_analytics.py --fake

Against Crossref (member 98 is Hindawi, 78 Elsevier; ``--csv`` also writes the table)::

    python examples/publisher_analytics.py --mailto you@example.org --member 98 --member 78 \\
        --from 2015 --until 2024 --csv publishers.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from _fake import connect, parse_args

from crossref_async import Crossref, Member, NotFoundError, Page, ValidationError, Work, WorksQuery
from crossref_async.testing import CORPUS_NOW

OPEN_LICENSE = "creativecommons.org"


@dataclass
class Trend:
    """One publisher's counts per publication year."""

    member: Member
    works: dict[int, int]
    open_access: dict[int, int]
    with_references: dict[int, int]
    licenses: dict[str, int]


def by_year(page: Page[Work] | None) -> dict[int, int]:
    """The ``published`` facet of a page as ``{year: works}``."""
    if page is None:
        return {}
    return {int(year): n for year, n in page.facets["published"].values.items()}


async def trend(cr: Crossref, member: Member, first: int, last: int) -> Trend:
    works = cr.member_works(str(member.id)).filter(from_pub_date=first, until_pub_date=last)
    per_year = works.facet("published")
    # Those two need no answer from another: they go together.
    overview, referenced = await asyncio.gather(
        per_year.facet("license").page(rows=0),
        per_year.filter(has_references=True).page(rows=0),
    )
    licenses = overview.facets["license"].values
    # The facet lists the publisher's license URLs by use; the most used 50 Creative Commons
    # ones keep the repeated filter well inside a URL's length (rare ones may be left out).
    open_urls = [url for url in licenses if OPEN_LICENSE in url.lower()][:50]
    # license.url is a dotted name: it goes in a mapping, not a keyword.
    open_access = (
        await per_year.filter({"license.url": open_urls}).page(rows=0) if open_urls else None
    )
    return Trend(member, by_year(overview), by_year(open_access), by_year(referenced), licenses)


async def top_publishers(
    cr: Crossref, period: WorksQuery[Work], top: int
) -> tuple[list[Member], list[str]]:
    """The ``top`` publishers of the period by works, and any name no member answers to."""
    page = await period.facet(publisher_name=top).page(rows=0)
    names = list(page.facets["publisher-name"].values)

    async def member_named(name: str) -> Member | None:
        candidates = await cr.members.query(name).page(rows=20)
        named = [
            m
            for m in candidates.items
            if name.casefold() in {n.casefold() for n in (m.primary_name, *m.names) if n}
        ]
        # Names are not unique: take the largest member of that name.
        return max(named, key=lambda m: (m.counts and m.counts.total_dois) or 0, default=None)

    found = await asyncio.gather(*(member_named(name) for name in names))
    members = [m for m in found if m is not None]
    return members, [name for name, m in zip(names, found, strict=True) if m is None]


async def member_or_none(cr: Crossref, member_id: str) -> Member | None:
    try:
        return await cr.member(member_id)
    except NotFoundError:
        return None


async def run(
    cr: Crossref, member_ids: list[str], top: int, first: int, last: int
) -> list[Trend] | None:
    async with cr:  # closes the connections at the end
        period = cr.works.filter(from_pub_date=first, until_pub_date=last)  # checks the years
        if member_ids:
            for member_id in member_ids:
                cr.member_works(member_id)  # checks every id before any request
            found = await asyncio.gather(*(member_or_none(cr, m) for m in member_ids))
            for member_id, member in zip(member_ids, found, strict=True):
                if member is None:
                    print(f"Crossref knows no member {member_id}", file=sys.stderr)
            members = [m for m in found if m is not None]
            if len(members) < len(member_ids):
                return None
        else:
            members, unknown = await top_publishers(cr, period, top)
            for name in unknown:
                print(f"(no member is named {name!r}; left out)")
        return list(await asyncio.gather(*(trend(cr, m, first, last) for m in members)))


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def print_table(t: Trend, years: range) -> None:
    total = sum(t.works.values())
    print(f"\n{t.member.primary_name} (member {t.member.id}): {total:,} works")
    print("   year     works   open access   with references")
    rows = [
        (str(y), t.works.get(y, 0), t.open_access.get(y, 0), t.with_references.get(y, 0))
        for y in years
    ]
    rows.append(("all", total, sum(t.open_access.values()), sum(t.with_references.values())))
    for label, n, oa, refs in rows:
        print(f"   {label:>4}  {n:>8,}  {oa:>6,} {share(oa, n)}  {refs:>8,} {share(refs, n)}")
    cc = sorted((n, url) for url, n in t.licenses.items() if OPEN_LICENSE in url.lower())
    if cc:
        print("   most used open license: " + cc[-1][1])


def write_csv(path: Path, trends: list[Trend], years: range) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["member", "publisher", "year", "works", "open_access", "with_references"])
        for t in trends:
            for y in years:
                counts = (t.works.get(y, 0), t.open_access.get(y, 0), t.with_references.get(y, 0))
                writer.writerow([t.member.id, t.member.primary_name, y, *counts])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--member", action="append", default=[], help="a member id (repeat for several)"
    )
    parser.add_argument("--top", type=int, default=3, help="else the top N publishers (3)")
    parser.add_argument("--from", dest="first", type=int, help="first year (default: 10 ago)")
    parser.add_argument("--until", dest="last", type=int, help="last year (default: last year)")
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args, fake = parse_args(parser, argv)
    today = CORPUS_NOW.date() if fake else dt.datetime.now(dt.timezone.utc).date()
    last = args.last if args.last is not None else today.year - 1
    first = args.first if args.first is not None else last - 9
    for flag, year in (("--from", first), ("--until", last)):
        if not 1000 <= year <= 9999:
            parser.error(f"{flag} {year}: a year has four digits (YYYY)")
    if first > last:
        parser.error(f"--from {first} is after --until {last}: the period runs forwards")
    if not 1 <= args.top <= 100:
        parser.error(f"--top {args.top}: give a number of publishers from 1 to 100")
    try:
        trends = asyncio.run(run(connect(args, fake), args.member, args.top, first, last))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if trends is None:
        return 1
    years = range(first, last + 1)
    print(f"Works published {first}-{last}, by year of publication")
    for t in trends:
        print_table(t, years)
    if args.csv:
        write_csv(args.csv, trends, years)
        print(f"\nwritten to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
