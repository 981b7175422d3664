"""Alias DOIs (Crossref since February 2025) against respx routes built from the facts.

An alias DOI answers ``/works/{alias}`` with a ``301`` whose ``Location`` is the primary
record's path without the query string (so ``mailto`` would be lost), and the primary record
lists the alias in ``aliases``; a ``filter=doi:`` batch never matches an alias. The recorded
301 is not in the shared corpus, so the bodies here are built from those facts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import respx
from conftest import MAILTO, unit_client

from crossref_async import Crossref, Edge, Work
from crossref_async.testing import FakeCrossref

ALIAS = "10.5555/Old-Alias"
PRIMARY = "10.5555/primary"
OTHER = "10.5555/other"
CITING = "10.5555/citing"
MISSING = "10.5555/missing"


def record(doi: str, **fields: object) -> dict[str, object]:
    out: dict[str, object] = {"DOI": doi, "title": [f"Title of {doi}"], **fields}
    if doi == PRIMARY:
        out["aliases"] = [ALIAS]
    return out


RECORDS = {
    PRIMARY.lower(): record(PRIMARY, reference=[{"key": "r1", "DOI": OTHER}]),
    OTHER.lower(): record(OTHER),
    # Cites the same record by its alias and by its primary DOI, and the alias twice.
    CITING.lower(): record(
        CITING,
        reference=[
            {"key": "a", "DOI": ALIAS},
            {"key": "b", "DOI": PRIMARY},
            {"key": "c", "DOI": ALIAS.upper()},
        ],
    ),
}


class FakeAPI:
    """The API's alias behaviour, recording every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        version = "/v1" if request.url.path.startswith("/v1/") else ""
        if path == "/works":
            asked = [
                d.removeprefix("doi:").lower() for d in request.url.params["filter"].split(",")
            ]
            # Aliases are not in the index: a batch finds primaries only.
            items = [RECORDS[d] for d in asked if d in RECORDS]
            return ok("work-list", {"total-results": len(items), "items": items})
        doi = path.removeprefix("/works/").lower()
        if doi == ALIAS.lower():
            location = f"{version}/works/{quote(PRIMARY, safe='')}"
            return httpx.Response(301, headers={"location": location}, text="<html>301</html>")
        if doi in RECORDS:
            return ok("work", RECORDS[doi])
        return httpx.Response(404, text="Resource not found.")

    @property
    def singles(self) -> list[str]:
        """The paths of the single-record requests, as sent (percent-encoded)."""
        return [path(r) for r in self.requests if r.url.path.removeprefix("/v1") != "/works"]

    @property
    def lists(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.removeprefix("/v1") == "/works"]


def path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?")[0].decode().removeprefix("/v1")


def ok(message_type: str, message: object) -> httpx.Response:
    body = {"status": "ok", "message-type": message_type, "message": message}
    return httpx.Response(200, content=json.dumps(body).encode())


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    fake = FakeAPI()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.crossref.org").mock(side_effect=fake)
        yield fake


async def test_work_of_an_alias_is_the_primary_record_with_the_identity_on_every_hop(
    api: FakeAPI,
) -> None:
    async with unit_client() as cr:
        work = await cr.work(ALIAS)
    assert work.DOI == PRIMARY and ALIAS in work.aliases and ALIAS in work.dois
    first, second = api.requests
    assert path(first) == "/works/" + quote(ALIAS, safe="")
    assert path(second) == "/works/" + quote(PRIMARY, safe="")
    # The Location had no query string: the client put the mailto back, and the agent.
    for request in (first, second):
        assert request.url.params["mailto"] == MAILTO
        assert f"mailto:{MAILTO}" in request.headers["user-agent"]


async def test_every_hop_is_counted_in_the_governors_budget(api: FakeAPI) -> None:
    async with Crossref(mailto=MAILTO) as cr:
        await cr.work(ALIAS)
        stats = cr.stats()
    assert sum(pool.requests for pool in stats.values()) == 2
    assert all(pool.in_flight == 0 for pool in stats.values())


async def test_exists_follows_an_alias(api: FakeAPI) -> None:
    async with unit_client() as cr:
        assert await cr.exists(ALIAS)
    assert [r.method for r in api.requests] == ["HEAD", "HEAD"]


async def test_works_by_doi_tries_what_a_batch_left_out_once_on_its_own(api: FakeAPI) -> None:
    async with unit_client() as cr:
        found = await cr.works_by_doi([ALIAS, OTHER, MISSING])
    assert list(found) == [ALIAS, OTHER, MISSING]
    alias_work = found[ALIAS]
    assert alias_work is not None and alias_work.DOI == PRIMARY
    assert found[MISSING] is None
    assert found.aliases == {ALIAS: PRIMARY}
    assert len(api.lists) == 1
    # Each DOI the batch left out asked for once (the alias twice over: its 301 and the hop).
    assert sorted(api.singles) == sorted(
        [
            "/works/" + quote(ALIAS, safe=""),
            "/works/" + quote(PRIMARY, safe=""),
            "/works/" + quote(MISSING, safe=""),
        ]
    )


async def test_an_alias_beside_its_primary_in_one_batch_costs_no_extra_request(
    api: FakeAPI,
) -> None:
    async with unit_client() as cr:
        found = await cr.works_by_doi([PRIMARY, ALIAS])
    assert found[ALIAS] is found[PRIMARY]
    assert found.aliases == {ALIAS: PRIMARY}
    assert api.singles == []


async def test_iter_works_by_doi_answers_an_alias_with_its_primary(api: FakeAPI) -> None:
    async with unit_client() as cr:
        pairs = [
            (doi, work.DOI if work else None) async for doi, work in cr.iter_works_by_doi([ALIAS])
        ]
    assert pairs == [(ALIAS, PRIMARY)]


async def test_check_dois_finds_an_alias_with_its_primary_record(api: FakeAPI) -> None:
    async with unit_client() as cr:
        (entry,) = await cr.check_dois([ALIAS])
    assert entry.doi == ALIAS and entry.status == "found"
    assert isinstance(entry.work, Work) and entry.work.DOI == PRIMARY
    assert entry.primary == PRIMARY


async def test_the_graph_has_one_node_for_a_record_reached_by_alias_and_primary(
    api: FakeAPI,
) -> None:
    async with unit_client() as cr:
        edges = [e async for e in cr.citation_graph([CITING], depth=2)]
    assert edges == [Edge(CITING, PRIMARY, 0), Edge(PRIMARY, OTHER, 1)]
    # One batch a layer; the alias came back inside its primary's record, so no single.
    assert len(api.lists) == 2 and api.singles == []


async def test_a_seed_given_as_an_alias_is_named_by_its_primary(api: FakeAPI) -> None:
    async with unit_client() as cr:
        edges = [e async for e in cr.citation_graph([ALIAS, PRIMARY])]
    assert edges == [Edge(PRIMARY, OTHER, 0)]


# -- end to end, against the simulator's aliases and 301s ------------------------------------


async def test_aliases_end_to_end_on_the_simulator() -> None:
    sim = FakeCrossref(works=400, seed=5, limits="polite-2026")
    primary = next(w for w in sim.corpus.works[:400] if w.get("aliases"))
    alias, other = primary["aliases"][0], sim.corpus.works[0]["DOI"]
    seen: list[httpx.Request] = []
    inner = sim.transport()

    class Watching(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await inner.handle_async_request(request)

    async with Crossref(mailto=MAILTO, transport=Watching()) as cr:
        work = await cr.work(alias)
        found = await cr.works_by_doi([alias, other])
        (entry,) = await cr.check_dois([alias.upper()])
    assert primary["DOI"] == work.DOI and alias in work.aliases
    by_alias = found[alias]
    assert by_alias is not None and primary["DOI"] == by_alias.DOI
    assert found.aliases == {alias: primary["DOI"]}
    assert entry.status == "found" and entry.primary == primary["DOI"]
    assert sim.stats.alias_redirects == 3  # each alias asked on its own once, and redirected
    assert all(r.url.params.get("mailto") == MAILTO for r in seen)  # every hop, polite
    assert all(r.url.path.startswith("/v1/") for r in seen)
