"""Daily incremental updates: each run fetches only what Crossref indexed since the last run.

Use case: keeping a local mirror of Crossref records (all of them, or one member's) up to
date. Crossref recommends the ``from-index-date`` filter for this: a record is re-indexed
whenever anything in it changes (a new deposit, a citation count, a relation), so the records
indexed since the last run are exactly the new and the changed ones.

``harvest(..., state_file=...)`` does the bookkeeping. It reads the date of the last run from
the state file and adds ``from-index-date`` for it (the first run, with no state file yet,
fetches everything, or what was indexed since ``--since``); it keeps only the newest copy of a
record seen twice in a run; and only when the run succeeded does it save the day the run
started (UTC). A failed or interrupted run is thus simply done again by the next one, which
continues the interrupted harvest, and a record changed during a run is fetched again by
the next. Each run writes its own file, named by the date it starts from; load them in order.

Offline, against the embedded simulator: run it twice. The first run takes everything; the
second starts where the state file says and finds the works the simulator re-indexed today
(every 97th, standing in for a day of re-deposits)::

    python examples/daily_incremental.py --fake
    python examples/daily_incremental.py --fake

Against Crossref, once a day (from cron, say), for one member::

    python examples/daily_incremental.py --mailto you@example.org --member 98 --since 2026-01-01
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import itertools
import json
from pathlib import Path

from _fake import connect, parse_args

from crossref_async import Crossref, ValidationError, Work
from crossref_async.harvest import Report, harvest
from crossref_async.models import decode_item


def last_run(state_file: Path) -> dt.date | None:
    """The day harvest() saved in the state file after the last successful run, if any."""
    try:
        return dt.date.fromisoformat(json.loads(state_file.read_text())["since"])
    except FileNotFoundError:
        return None


async def fetch(
    cr: Crossref, member: str | None, since: dt.date | None, state_file: Path, out: Path
) -> Report:
    async with cr:  # closes the connections at the end
        works = cr.member_works(member) if member else cr.works
        # resume=True: after an interrupted run the next one starts from the same date, into
        # the same file, and continues where it stopped.
        return await harvest(cr, works, out=out, since=since, state_file=state_file, resume=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch what Crossref indexed since the last run.")
    parser.add_argument("--member", help="only this member's works (default: all works)")
    parser.add_argument(
        "--since",
        type=dt.date.fromisoformat,
        help="start from this day (YYYY-MM-DD) instead of the state file's",
    )
    parser.add_argument("--state", type=Path, default=Path("crossref-state.json"))
    parser.add_argument("--out-dir", type=Path, default=Path("updates"))
    args, fake = parse_args(parser, argv)

    # harvest() would read the state file itself; reading it here names the output by it.
    start = args.since or last_run(args.state)
    print(f"fetching records indexed since {start}" if start else "first run: everything")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"works-since-{start or 'the-start'}.jsonl.gz"
    try:
        report = asyncio.run(fetch(connect(args, fake), args.member, start, args.state, out))
    except ValidationError as exc:
        parser.error(str(exc))
    print(report.table())

    with gzip.open(out, "rb") as lines:  # one record a line, as Crossref sent it
        for line in itertools.islice(lines, 3):
            work = decode_item(line, Work)
            indexed = work.indexed.date if work.indexed else None
            print(f"  indexed {indexed}  {work.DOI}  {work.first_title}")
    print(f"next run: records indexed since {last_run(args.state)} (see {args.state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
