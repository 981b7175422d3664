"""A citation graph around a few seed works, crawled breadth-first, written as an edge list.

Use case: citation network analysis. Start from seed DOIs, follow their references (those with
DOIs), then the references of those, up to a depth and a node budget. Each layer is resolved
in batched requests (100 DOIs each, only the ``reference`` field), and edges arrive as the
crawl goes, so they are written out at once.

Offline, against the embedded simulator (its first works as seeds unless DOIs are given)::

    python examples/citation_graph.py --fake --depth 2

Against Crossref::

    python examples/citation_graph.py --mailto you@example.org --depth 2 10.1126/science.adk4044
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path

from _fake import connect, parse_args

from crossref_async import Crossref, ValidationError


async def run(cr: Crossref, seeds: list[str], depth: int, max_nodes: int, out: Path) -> int:
    nodes: set[str] = set()
    edges = 0
    async with cr:
        with out.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["citing", "cited", "depth"])
            async for edge in cr.citation_graph(seeds, depth=depth, max_nodes=max_nodes):
                writer.writerow([edge.citing, edge.cited, edge.depth])
                nodes.update((edge.citing.lower(), edge.cited.lower()))
                edges += 1
    print(f"edges: {edges}")
    print(f"nodes: {len(nodes)}")
    print(f"written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", metavar="DOI", help="seed works")
    parser.add_argument("--depth", type=int, default=2, help="layers of references (2)")
    parser.add_argument("--max-nodes", type=int, default=5000, help="node budget (5000)")
    parser.add_argument("--out", type=Path, default=Path("citations.csv"), help="edge list CSV")
    args, fake = parse_args(parser, argv)
    seeds = list(args.seeds)
    if not seeds and fake is not None:
        seeds = [str(w["DOI"]) for w in fake.corpus.works[20:25]]
    if not seeds:
        parser.error("give at least one seed DOI")
    try:
        return asyncio.run(run(connect(args, fake), seeds, args.depth, args.max_nodes, args.out))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
