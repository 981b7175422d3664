"""Bulk DOI resolution and citation graphs on the simulator."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import unit_client

from crossref_async import Crossref, Edge, ValidationError, doi_key
from crossref_async._lookup import MAX_FILTER_CHARS, batches
from crossref_async.testing import HOSTILE_DOIS, FakeCrossref

MAILTO = "tests@example.org"


@pytest.fixture(scope="module")
def fake() -> FakeCrossref:
    return FakeCrossref(works=1500, seed=21, limits="fast-50")


def client(fake: FakeCrossref) -> Crossref:
    return Crossref(mailto=MAILTO, transport=fake.transport())


def list_requests(fake: FakeCrossref) -> list[str]:
    return [r.target for r in fake.stats.log if r.kind == "list"]


async def test_order_case_duplicates_hostile_and_missing(fake: FakeCrossref) -> None:
    real = [str(w["DOI"]) for w in fake.corpus.works[10:260]]
    asked = [
        *HOSTILE_DOIS,
        "https://doi.org/" + real[0].upper(),
        "10.5555/does-not-exist",
        *real,
        "doi:" + real[3],  # a repeat, in another form
        "10.9999/never,registered",  # a comma: fetched on its own
    ]
    fake.stats.reset()
    async with client(fake) as cr:
        found = await cr.works_by_doi(asked)
    keys = list(found)
    # Normalized, de-duplicated case-insensitively, first spelling and order kept.
    assert keys[: len(HOSTILE_DOIS)] == list(HOSTILE_DOIS)
    assert keys[len(HOSTILE_DOIS)] == real[0].upper()
    assert len(keys) == len(HOSTILE_DOIS) + 1 + 1 + (len(real) - 1) + 1
    for doi in HOSTILE_DOIS:
        work = found[doi]
        assert work is not None and doi_key(work.DOI or "") == doi_key(doi)
    assert found["10.5555/does-not-exist"] is None
    assert found["10.9999/never,registered"] is None
    for doi in real[1:]:
        assert found[doi] is not None and doi_key(found[doi].DOI or "") == doi_key(doi)  # type: ignore[union-attr]
    # 261 batchable DOIs at 100 a request: 3 list requests; the comma DOI went singly, and
    # so did the one DOI the batches left out (it might have been an alias), once.
    assert len(list_requests(fake)) == 3
    singles = sorted(r.target for r in fake.stats.log if r.kind == "single")
    assert len(singles) == 2
    assert "does-not-exist" in singles[0] and "never%2Cregistered" in singles[1]
    assert found.aliases == {}


async def test_select_is_passed_with_doi(fake: FakeCrossref) -> None:
    dois = [str(w["DOI"]) for w in fake.corpus.works[:30]]
    async with client(fake) as cr:
        found = await cr.works_by_doi(dois, select=["title"])
    work = found[dois[0]]
    assert work is not None and work.DOI and work.title and not work.author
    assert any("select=DOI%2Ctitle" in t for t in list_requests(fake))


async def test_invalid_input_fails_before_any_request(fake: FakeCrossref) -> None:
    fake.stats.reset()
    async with client(fake) as cr:
        with pytest.raises(ValidationError, match="not-a-doi"):
            await cr.works_by_doi(["10.5555/12345678", "not-a-doi"])
        with pytest.raises(ValidationError, match="batch_size"):
            await cr.works_by_doi(["10.5555/12345678"], batch_size=0)
        with pytest.raises(ValidationError, match="a single DOI is looked up with work"):
            await cr.works_by_doi("10.5555/12345678")
        # A list is checked whole before anything is sent, however far in the bad DOI sits.
        many = [str(w["DOI"]) for w in fake.corpus.works[:900]] + ["not-a-doi"]
        with pytest.raises(ValidationError, match="not-a-doi"):
            async for _ in cr.iter_works_by_doi(many):
                pass
    assert fake.stats.total_requests == 0


def test_batches_respect_count_and_url_budget() -> None:
    short = [f"10.5555/{i}" for i in range(250)]
    assert [len(b) for b in batches(short, 100)] == [100, 100, 50]
    long = [f"10.5555/{'x' * 200}{i}" for i in range(100)]
    cut = batches(long, 100)
    assert len(cut) > 2
    for batch in cut:
        assert sum(len(f"doi%3A{d}") + 3 for d in batch) <= MAX_FILTER_CHARS


async def test_streaming_variant_keeps_order_and_bounds_memory(fake: FakeCrossref) -> None:
    dois = [str(w["DOI"]) for w in fake.corpus.works[:1000]] + ["10.5555/missing"]
    fed = 0

    async def source() -> AsyncIterator[str]:
        nonlocal fed
        for doi in dois:
            fed += 1
            yield doi

    got: list[str] = []
    async with client(fake) as cr:
        stream = cr.iter_works_by_doi(source(), batch_size=50)
        async for doi, work in stream:
            if not got:
                # The first answers come before the input is read to the end.
                assert fed <= 50 * 8 + 1
            got.append(doi)
            assert (work is None) == (doi == "10.5555/missing")
    assert got == dois


def bfs(
    fake: FakeCrossref, seeds: list[str], depth: int, max_nodes: int
) -> tuple[set[str], set[tuple[str, str]]]:
    """The graph computed from the corpus itself, independently of the client."""
    nodes = {doi_key(s): s for s in seeds[:max_nodes]}
    edges: set[tuple[str, str]] = set()
    frontier = deque(nodes.values())
    for _ in range(depth):
        following = []
        for doi in frontier:
            record = fake.corpus.work(doi)
            if record is None:
                continue
            for ref in record.get("reference", []):
                cited = ref.get("DOI")
                if not cited:
                    continue
                key = doi_key(cited)
                if key not in nodes:
                    if len(nodes) >= max_nodes:
                        continue
                    nodes[key] = cited
                    following.append(cited)
                edges.add((doi_key(doi), key))
        frontier = deque(following)
    return set(nodes), edges


@pytest.mark.parametrize(("depth", "max_nodes"), [(1, 10_000), (2, 10_000), (3, 150)])
async def test_citation_graph_reaches_exactly_the_expected_nodes(
    fake: FakeCrossref, depth: int, max_nodes: int
) -> None:
    seeds = [str(w["DOI"]) for w in fake.corpus.works[20:25]]
    expected_nodes, expected_edges = bfs(fake, seeds, depth, max_nodes)
    got: list[Edge] = []
    async with client(fake) as cr:
        async for edge in cr.citation_graph(seeds, depth=depth, max_nodes=max_nodes):
            got.append(edge)
    pairs = {(doi_key(e.citing), doi_key(e.cited)) for e in got}
    assert len(expected_edges) > 5 * depth  # a real graph, not an empty one
    assert len(pairs) == len(got)  # no edge twice
    assert pairs == expected_edges
    nodes = {doi_key(s) for s in seeds} | {p[1] for p in pairs}
    assert nodes <= expected_nodes
    assert len(expected_nodes) <= max_nodes
    assert {e.depth for e in got} <= set(range(depth))


async def test_references(fake: FakeCrossref) -> None:
    record = next(w for w in fake.corpus.works if w.get("reference"))
    async with client(fake) as cr:
        refs = await cr.references(str(record["DOI"]))
    assert len(refs) == len(record["reference"])
    assert [r.DOI for r in refs] == [r.get("DOI") for r in record["reference"]]
    assert any(r.unstructured for r in refs) or all(r.DOI for r in refs)


async def test_graph_arguments() -> None:
    async with unit_client(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as cr:
        with pytest.raises(ValidationError, match="depth"):
            [e async for e in cr.citation_graph(["10.5555/1"], depth=0)]
        with pytest.raises(ValidationError, match="max_nodes"):
            [e async for e in cr.citation_graph(["10.5555/1"], max_nodes=0)]
