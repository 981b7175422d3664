"""Reference lists and citation graphs, grown breadth-first in batches.

Each layer of the crawl is resolved with batched DOI look-ups (``select=DOI,reference``, so
only what the graph needs travels), every node is visited once, and edges are yielded as soon
as their layer arrives, so a consumer can write them out while the crawl goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import InvalidDOIError, ValidationError
from ._lookup import DEFAULT_BATCH, works_by_doi
from ._params import doi_key, normalize_doi

if TYPE_CHECKING:
    from ._client import Crossref

__all__ = ["Edge", "citation_graph"]


@dataclass(frozen=True)
class Edge:
    """One citation: ``citing`` lists ``cited`` among its references (both DOIs).

    ``depth`` is the layer of the citing work (0 for a seed).

    :meth:`Crossref.citation_graph` yields them as each layer arrives:

    >>> async for edge in cr.citation_graph(["10.60372/journal.modu.0000031"]):
    ...     print(edge)
    Edge(citing='10.60372/journal.modu.0000031', cited='10.52995/s10030-02-00030-3', depth=0)
    Edge(citing='10.60372/journal.modu.0000031', cited='10.3434/j.para.1953.000392', depth=0)
    Edge(citing='10.60372/journal.modu.0000031', cited='10.85533/2021.231.954', depth=0)
    """

    citing: str
    cited: str
    depth: int


async def citation_graph(
    client: Crossref,
    seeds: Iterable[str],
    *,
    depth: int = 1,
    max_nodes: int = 10_000,
    batch_size: int = DEFAULT_BATCH,
) -> AsyncIterator[Edge]:
    """Yield the edges of the citation graph around ``seeds``, breadth first.

    ``depth`` 1 gives the seeds' references; 2 adds their references' references, and so on.
    At most ``max_nodes`` works (seeds included) become nodes; edges to works beyond that are
    left out, so every edge joins two nodes. References without a DOI are not edges (see
    :meth:`Crossref.references` for the full lists).
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValidationError(depth, "depth must be a whole number, 1 or more")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValidationError(max_nodes, "max_nodes must be a whole number, 1 or more")
    nodes: dict[str, str] = {}
    frontier: list[str] = []
    for seed in seeds:
        doi = normalize_doi(seed)
        if doi_key(doi) not in nodes and len(nodes) < max_nodes:
            nodes[doi_key(doi)] = doi
            frontier.append(doi)
    for level in range(depth):
        if not frontier:
            return
        works = await works_by_doi(client, frontier, select=("reference",), batch_size=batch_size)
        following: list[str] = []
        for citing, work in works.items():
            if work is None:
                continue
            cited_here: set[str] = set()  # a reference list may name a work twice
            for reference in work.reference:
                if not reference.DOI:
                    continue
                try:
                    cited = normalize_doi(reference.DOI)
                except InvalidDOIError:
                    continue  # a malformed DOI deposited in a reference list is no edge
                key = doi_key(cited)
                if key not in nodes:
                    if len(nodes) >= max_nodes:
                        continue
                    nodes[key] = cited
                    following.append(cited)
                if key not in cited_here:
                    cited_here.add(key)
                    yield Edge(citing, nodes[key], level)
        frontier = following
