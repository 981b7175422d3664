"""A Crossref member's whole output: how much, of which types, the most cited, all to a file.

Use case: a publisher (a Crossref member) or someone studying one wants an overview of what it
has registered and a local copy of every record. One request with ``rows=0`` and a facet gives
the total and the breakdown by type; a sorted query streamed as typed :class:`Work` objects
gives the most cited works; :func:`crossref_async.harvest.harvest` writes every record.

Offline, against the embedded simulator (its largest member unless ``--member`` is given)::

    python examples/member_output.py --fake

Against Crossref (member 98 is Hindawi; ``.gz`` or ``.zst`` compresses the output)::

    python examples/member_output.py --mailto you@example.org --member 98 --out hindawi.jsonl.gz
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from _fake import connect, largest_member, parse_args

from crossref_async import Crossref, NotFoundError, ValidationError
from crossref_async.harvest import harvest


async def run(cr: Crossref, member_id: int | str, out: Path) -> int:
    async with cr:  # closes the connections at the end
        works = cr.member_works(member_id)  # checks the id before any request
        try:
            member = await cr.member(member_id)
        except NotFoundError:
            print(f"Crossref knows no member {member_id}", file=sys.stderr)
            return 1

        # rows=0: no records, just the total and the facet counts, in one request.
        summary = await works.facet("type-name").page(rows=0)
        print(f"{member.primary_name} (member {member_id}): {summary.total_results:,} works")
        by_type = summary.facets["type-name"].values
        for type_name, n in sorted(by_type.items(), key=lambda item: item[1], reverse=True):
            print(f"  {n:>9,}  {type_name}")

        print("Most cited:")
        top = works.sort("is-referenced-by-count", "desc").select(
            "DOI", "title", "issued", "is-referenced-by-count"
        )
        async for work in top.stream(max_items=5):
            cited = work.is_referenced_by_count or 0
            print(f"  {cited:>6,}  {work.year}  {work.first_title}")

        # resume=True: if an earlier run into the same file was interrupted, continue it.
        report = await harvest(cr, works, out=out, resume=True)
        print(report.table())
    return 0 if report.records == report.expected else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize and harvest a member's works.")
    parser.add_argument("--member", help="the member id (default with --fake: the largest one)")
    parser.add_argument("--out", type=Path, help="output (.jsonl, .jsonl.gz or .jsonl.zst)")
    args, fake = parse_args(parser, argv)
    member = args.member or (largest_member(fake) if fake else parser.error("--member is needed"))
    out = args.out or Path(f"member-{member}.jsonl")
    try:
        return asyncio.run(run(connect(args, fake), member, out))
    except ValidationError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())
