"""Decoding speed on the largest real work-list pages of the recorded corpus.

Times every decoder on the same bodies in one run and prints a markdown table: records/s,
MB/s and speed relative to ``json.loads``::

    python benchmarks/decode.py [--corpus PATH] [--pages N] [--repeat N]

The decoders: ``json.loads`` (dicts), ``orjson.loads`` (if installed), ``msgspec.json.decode``
without a type (dicts), :func:`crossref_async.models.decode_page` with :class:`Work` (typed,
validated structs) and :func:`crossref_async.models.decode_raw_page` (items kept as
``msgspec.Raw``, as a harvest writes them). The garbage collector stays on, as in a real
process: building millions of small objects makes it run, and that cost is part of the bill.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from crossref_async.models import Work, decode_page, decode_raw_page  # noqa: E402

try:
    import orjson
except ImportError:  # optional: pip install orjson (the "bench" extra)
    orjson = None


def largest_work_lists(corpus: Path, pages: int) -> list[tuple[str, bytes, int]]:
    """The ``pages`` largest work-list bodies that hold items: (name, body, item count)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    found = []
    for entry in manifest:
        if entry.get("message_type") != "work-list" or not entry.get("items"):
            continue
        body = (corpus / entry["file"]).read_bytes()
        found.append((entry["file"], body, int(entry["items"])))
    found.sort(key=lambda f: len(f[1]), reverse=True)
    return found[:pages]


def best_times(
    decoders: list[tuple[str, Callable[[bytes], Any]]], bodies: list[bytes], repeat: int
) -> dict[str, float]:
    """The fastest of ``repeat`` passes over every body, per decoder, in seconds.

    Passes are interleaved (one pass of each decoder per round, after a warm-up round), so a
    busy neighbour or a CPU clock change slows every decoder alike instead of one of them.
    """
    best = dict.fromkeys((label for label, _ in decoders), float("inf"))
    for round_ in range(repeat + 1):
        for label, decode in decoders:
            start = time.perf_counter()
            for body in bodies:
                decode(body)
            elapsed = time.perf_counter() - start
            if round_:  # round 0 warms caches and the allocator
                best[label] = min(best[label], elapsed)
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_corpus = os.environ.get("CROSSREF_CORPUS", ROOT.parent / "shared" / "crossref-corpus")
    parser.add_argument("--corpus", type=Path, default=Path(default_corpus))
    parser.add_argument("--pages", type=int, default=8, help="how many of the largest pages")
    parser.add_argument(
        "--repeat", type=int, default=15, help="passes per decoder; the best counts"
    )
    parser.add_argument("--json", type=Path, help="folder to write decode.json into")
    args = parser.parse_args(argv)

    if not (args.corpus / "manifest.json").is_file():
        parser.error(f"no corpus at {args.corpus}")
    chosen = largest_work_lists(args.corpus, args.pages)
    bodies = [body for _, body, _ in chosen]
    records = sum(n for _, _, n in chosen)
    megabytes = sum(len(b) for b in bodies) / 1e6

    decoders: list[tuple[str, Callable[[bytes], Any]]] = [("json.loads", json.loads)]
    if orjson is not None:
        decoders.append(("orjson.loads", orjson.loads))
    decoders += [
        ("msgspec.json.decode (untyped)", msgspec.json.decode),
        ("decode_page(Work) (typed)", lambda b: decode_page(b, Work, message_type="work-list")),
        ("decode_raw_page (Raw items)", lambda b: decode_raw_page(b, message_type="work-list")),
        # The floor for anything built on msgspec: one validating scan of the body, no objects.
        ("(floor: whole body as one msgspec.Raw)", msgspec.json.Decoder(msgspec.Raw).decode),
    ]

    # Same answer from every decoder before timing anything.
    for body in bodies:
        expected = len(json.loads(body)["message"]["items"])
        assert len(decode_page(body, Work, message_type="work-list").items) == expected
        assert len(decode_raw_page(body, message_type="work-list").items) == expected

    print(
        f"{len(bodies)} work-list pages, {records} records, {megabytes:.1f} MB; "
        f"best of {args.repeat} interleaved passes; "
        f"Python {sys.version.split()[0]}, msgspec {msgspec.__version__}"
    )
    for name, _, n in chosen:
        print(f"  {name} ({n} items)")
    print()
    print("| decoder | records/s | MB/s | vs json.loads |")
    print("|---|---:|---:|---:|")
    times = best_times(decoders, bodies, args.repeat)
    baseline = times["json.loads"]
    results = []
    for label, seconds in times.items():
        print(
            f"| {label} | {records / seconds:,.0f} | {megabytes / seconds:,.1f} "
            f"| {baseline / seconds:.1f}x |"
        )
        results.append(
            {
                "decoder": label,
                "records_per_second": records / seconds,
                "megabytes_per_second": megabytes / seconds,
                "vs_json_loads": baseline / seconds,
            }
        )
    data = {"records": records, "megabytes": megabytes, "results": results}
    if args.json is not None:
        args.json.mkdir(parents=True, exist_ok=True)
        (args.json / "decode.json").write_text(json.dumps(data, indent=2))
    return data


if __name__ == "__main__":
    main()
