"""What every example shares: ``--fake`` (the embedded Crossref simulator) or the real API.

With ``--fake`` nothing touches the network: requests go in process to
:class:`crossref_async.testing.FakeCrossref`, a deterministic synthetic corpus of
:data:`FAKE_WORKS` works. Without it the examples talk to api.crossref.org and need a
contact address (``--mailto`` or ``CROSSREF_MAILTO``) for Crossref's polite pool; a Metadata
Plus token is read from ``CROSSREF_PLUS_TOKEN``.

The simulator's dates end at :data:`crossref_async.testing.CORPUS_NOW`; so that an update run
(``daily_incremental.py``) has something to find, every :data:`UPDATED_EVERY`-th work is
re-indexed as of now when the simulator starts, as a re-deposit would have it on Crossref.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from crossref_async import Crossref
from crossref_async.testing import Corpus, FakeCrossref

__all__ = [
    "FAKE_SEED",
    "FAKE_WORKS",
    "UPDATED_EVERY",
    "connect",
    "largest_journal",
    "largest_member",
    "parse_args",
    "recent_updates",
]

FAKE_WORKS = 3_000
FAKE_SEED = 0
FAKE_MAILTO = "demo@example.org"
UPDATED_EVERY = 97


def recent_updates(corpus: Corpus) -> list[str]:
    """Re-index every :data:`UPDATED_EVERY`-th work as of now; returns their DOIs."""
    return corpus.reindex(str(w["DOI"]) for w in corpus.works[::UPDATED_EVERY])


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, FakeCrossref | None]:
    """Add ``--fake`` and ``--mailto`` to ``parser``, parse, and build the simulator if asked."""
    parser.add_argument(
        "--fake", action="store_true", help="use the embedded Crossref simulator (no network)"
    )
    parser.add_argument(
        "--mailto",
        default=os.environ.get("CROSSREF_MAILTO"),
        help="your e-mail address, for Crossref's polite pool (default: $CROSSREF_MAILTO)",
    )
    args = parser.parse_args(argv)
    if args.fake:
        fake = FakeCrossref(works=FAKE_WORKS, seed=FAKE_SEED, limits="fast-50")
        recent_updates(fake.corpus)
        return args, fake
    if not args.mailto:
        parser.error("give --mailto (or set CROSSREF_MAILTO), or try --fake")
    return args, None


def connect(args: argparse.Namespace, fake: FakeCrossref | None) -> Crossref:
    """The client: on the simulator's in-process transport, or on the real API."""
    if fake is not None:
        return Crossref(mailto=args.mailto or FAKE_MAILTO, transport=fake.transport())
    return Crossref(mailto=args.mailto, plus_token=os.environ.get("CROSSREF_PLUS_TOKEN") or None)


def largest_journal(fake: FakeCrossref) -> str:
    """An ISSN of the simulator's journal with the most works (a demo default)."""
    journal = max(fake.corpus.journals, key=lambda j: int(j["counts"]["total-dois"]))
    return str(journal["ISSN"][0])


def largest_member(fake: FakeCrossref) -> int:
    """The id of the simulator's member with the most works (a demo default)."""
    member = max(fake.corpus.members, key=lambda m: int(m["counts"]["total-dois"]))
    return int(member["id"])
