"""Reference lists and citation graphs, grown breadth-first in batches.

Each layer of the crawl is resolved with batched DOI look-ups (``select=DOI,reference``, so
only what the graph needs travels), every node is visited once, and edges are yielded layer
by layer, so a consumer can write them out while the crawl goes on.

A record has one node however many of its DOIs the crawl meets: since February 2025 an alias
DOI answers with its primary record, and every edge names a fetched record by its primary DOI
(a seed given as an alias included). To name the works a layer cites that way, the next layer
is fetched before the edges of this one are given out; the cited works of the last layer are
not fetched, so they are named as the reference lists give them (or by the primary DOI of an
alias already met).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import InvalidDOIError
from ._lookup import DEFAULT_BATCH, works_by_doi
from ._params import check_whole, doi_key, normalize_doi
from .models import Work

if TYPE_CHECKING:
    from ._api import Api

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
    client: Api,
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
    :meth:`Crossref.references` for the full lists). A record reached by an alias and by its
    primary DOI is one node, named by the primary DOI (see the module docstring).
    """
    check_whole(depth, "depth")
    check_whole(max_nodes, "max_nodes")
    crawl = _Crawl(max_nodes)
    frontier = [doi for doi in map(normalize_doi, seeds) if crawl.add(doi)]
    works = await crawl.resolve(client, frontier, batch_size)
    for level in range(depth):
        following: list[str] = []
        layer: list[tuple[str, list[str]]] = []
        for work in works:
            cited_here: list[str] = []
            for reference in work.reference:
                cited = _reference_doi(reference.DOI)
                if cited is None:
                    continue
                if crawl.node(cited) is None:
                    if not crawl.add(cited):
                        continue
                    following.append(cited)
                cited_here.append(cited)
            layer.append((work.DOI or "", cited_here))
        if level + 1 < depth:
            # The next layer is fetched before this one's edges are given out, so a cited
            # alias is named by its primary DOI, as every other edge to that record is.
            works = await crawl.resolve(client, following, batch_size)
        for citing, cited_list in layer:
            # A reference list may name a work twice, or by two of its DOIs: one edge.
            for cited in dict.fromkeys(crawl.names[doi_key(doi)] for doi in cited_list):
                yield Edge(crawl.names[doi_key(citing)], cited, level)


def _reference_doi(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalize_doi(text)
    except InvalidDOIError:
        return None  # a malformed DOI deposited in a reference list is no edge


class _Crawl:
    """The nodes of a crawl, each record once however many of its DOIs lead to it.

    A node is named by a DOI; once its record is fetched, the record's primary DOI names it,
    and that DOI and every alias the record lists lead to it.
    """

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.names: dict[str, str] = {}  # the key of any DOI leading to a node -> its name
        self.nodes: set[str] = set()  # the names
        self.expanded: set[str] = set()  # keys of the records already fetched

    def node(self, doi: str) -> str | None:
        """The DOI naming the node ``doi`` leads to, or None when it leads to none."""
        return self.names.get(doi_key(doi))

    def add(self, doi: str) -> bool:
        """Make ``doi`` a node, unless it leads to one or the crawl is full; True if added."""
        key = doi_key(doi)
        if key in self.names or len(self.nodes) >= self.max_nodes:
            return False
        self.names[key] = doi
        self.nodes.add(doi)
        return True

    def _merge(self, doi: str, name: str) -> None:
        """Lead ``doi`` to the node ``name``; a node it led to until now folds into it."""
        old = self.names.get(doi_key(doi))
        if old is not None and old != name:
            # Reached by two of its DOIs before either was fetched: one node, not two.
            self.nodes.discard(old)
            for key, value in self.names.items():
                if value == old:
                    self.names[key] = name
        self.names[doi_key(doi)] = name

    async def resolve(self, client: Api, dois: list[str], batch_size: int) -> list[Work]:
        """Fetch the nodes ``dois`` (their reference lists), each record once, and rename
        each node after its record's primary DOI."""
        if not dois:
            return []
        found = await works_by_doi(client, dois, select=("reference",), batch_size=batch_size)
        works: list[Work] = []
        for asked, work in found.items():
            if work is None or work.DOI is None:
                continue
            key = doi_key(work.DOI)
            name = self.names.get(key, work.DOI)
            self.nodes.add(name)
            for doi in (asked, *work.dois):
                self._merge(doi, name)
            if key not in self.expanded:
                self.expanded.add(key)
                works.append(work)
        return works
