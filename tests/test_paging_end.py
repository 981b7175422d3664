"""Where paging ends: only at a true end, never at a short page, never looping on empty pages.

Pages are built from recorded bodies (their items as templates, the recorded facts as totals):
Crossref sends pages shorter than ``rows`` with more to come (recorded in 2025: 19 items for
``rows=20`` at offset 0 of 336,022 results), and empty pages for ever once a cursor is past its
end. A harvest's verification must still catch a server that really loses records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx
import msgspec
import pytest
import respx
from _corpus import recordings

from crossref_async import Crossref, IncompleteResultsError
from crossref_async.harvest import harvest, iter_records
from crossref_async.testing import FakeCrossref, Faults

MAILTO = "tests@example.org"
TOKEN = "DnF1ZXJ5VGhlbkZldGNo+same/token=="  # Crossref repeats one token page after page
RECORDED_TOTAL = 336_022  # the recorded short page: 19 of rows=20 at offset 0 of this many


def recorded_item(message_type: str) -> dict[str, Any]:
    """The first item of a recorded 200 list body of this message type."""
    for rec in recordings():
        if rec.status == 200 and rec.message_type == message_type and rec.is_json:
            items = json.loads(rec.body)["message"].get("items") or []
            if items:
                item: dict[str, Any] = items[0]
                return item
    raise AssertionError(f"no recorded {message_type} with items")


def refused_cursor_body() -> bytes:
    """The 400 Crossref answered to ``/members?cursor=5`` (recorded 2018)."""
    for rec in recordings():
        if rec.status == 400 and rec.uri.endswith("/members?cursor=5"):
            return rec.body
    raise AssertionError("no recorded refusal of a cursor")


class Lister:
    """A list route of ``total`` items served like Crossref: cursor state on the server,
    offsets otherwise, a page shortened to ``short[k]`` items on request ``k`` (0-based),
    and nothing at all from position ``lost_from`` on (empty pages for ever)."""

    KEYS: ClassVar[dict[str, str]] = {
        "work-list": "DOI",
        "license-list": "URL",
        "journal-list": "title",
        "member-list": "primary-name",
        "funder-list": "name",
    }

    def __init__(
        self,
        message_type: str,
        total: int,
        *,
        short: dict[int, int] | None = None,
        lost_from: int | None = None,
        next_cursor: bool = True,
        cursor: str = "keep",
    ) -> None:
        """``cursor``: ``keep`` (Crossref's cursors), ``refuse`` (the recorded 2019 400 on
        ``/members?cursor=``) or ``ignore`` (served as if no cursor had been given)."""
        self.message_type = message_type
        self.total = total
        self.short = short or {}
        self.lost_from = total if lost_from is None else lost_from
        self.next_cursor = next_cursor
        self.cursor = cursor
        self.template = recorded_item(message_type)
        self.position = 0
        self.requests: list[httpx.Request] = []

    def key(self, i: int) -> str:
        return f"10.5555/end-{i}" if self.message_type == "work-list" else f"item-{i}"

    def item(self, i: int) -> dict[str, Any]:
        # A shallow copy: only the key changes, and items are encoded at once, never mutated
        # (a deep copy of the template made 12,000-item walks take seconds).
        item = dict(self.template)
        item[self.KEYS[self.message_type]] = self.key(i)
        return item

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        k = len(self.requests)
        self.requests.append(request)
        rows = int(params.get("rows", "20"))
        if "cursor" in params and self.cursor == "refuse":
            return httpx.Response(400, content=refused_cursor_body())
        if "cursor" in params and self.cursor == "ignore":
            params = params.remove("cursor")
        if "cursor" in params:
            if params["cursor"] == "*":
                self.position = 0
            start = self.position
        else:
            start = int(params.get("offset", "0"))
        n = min(self.short.get(k, rows), rows, max(0, self.lost_from - start))
        items = [self.item(i) for i in range(start, start + n)]
        if "cursor" in params:
            self.position += n
        message: dict[str, Any] = {
            "items": items,
            "total-results": self.total,
            "items-per-page": rows,
        }
        if "cursor" in params and self.next_cursor:
            message["next-cursor"] = TOKEN
        body = {"status": "ok", "message-type": self.message_type, "message": message}
        return httpx.Response(
            200, content=msgspec.json.encode(body), headers={"content-type": "application/json"}
        )

    def param(self, name: str) -> list[str | None]:
        return [r.url.params.get(name) for r in self.requests]


def client(server: Callable[[httpx.Request], httpx.Response]) -> Crossref:
    from conftest import unit_client

    return unit_client(transport=httpx.MockTransport(server))


async def keys(cr: Crossref, route: str, **kw: Any) -> list[str]:
    """Keys of every item ``route``'s ``raw_pages`` walk yields (works: DOI; others: URL)."""
    query = cr.works if route == "works" else cr.licenses
    field = "DOI" if route == "works" else "URL"
    return [
        msgspec.json.decode(raw)[field]
        async for page in query.raw_pages(**kw)
        for raw in page.items
    ]


ROUTES = [("works", "work-list"), ("licenses", "license-list")]


@pytest.mark.parametrize(("route", "kind"), ROUTES)
async def test_the_recorded_short_page_is_not_the_end(route: str, kind: str) -> None:
    # 19 items for rows=20 at offset 0 of 336,022 results: paging goes on after it.
    server = Lister(kind, RECORDED_TOTAL, short={0: 19})
    async with client(server) as cr:
        pages: list[int] = []
        query = cr.works if route == "works" else cr.licenses
        async for page in query.raw_pages(rows=20):
            pages.append(len(page.items))
            if len(pages) == 3:
                break
    assert pages == [19, 20, 20]
    assert server.requests[0].url.params["rows"] == "20"
    if route == "works":
        assert server.param("cursor") == ["*", TOKEN, TOKEN]
    else:
        # Offsets advance by the items that arrived, so item 19 is asked for, not skipped.
        assert server.param("offset") == ["0", "19", "39"]


@pytest.mark.parametrize(("route", "kind"), ROUTES)
async def test_a_run_that_yielded_39_of_60_now_yields_all_60(route: str, kind: str) -> None:
    # Pages of 20, 19 (short, more to come), 20 and 1: paging used to stop at the 19.
    server = Lister(kind, 60, short={1: 19})
    async with client(server) as cr:
        got = await keys(cr, route, rows=20)
    assert got == [server.key(i) for i in range(60)]
    # The items seen reaching total-results is the end: no request after the 60th item.
    assert len(server.requests) == 4


async def test_stream_over_short_pages_gets_every_work_once() -> None:
    server = Lister("work-list", 60, short={0: 7, 1: 13, 3: 1})
    async with client(server) as cr:
        dois = [w.DOI async for w in cr.works.stream(rows=20)]
    assert dois == [server.key(i) for i in range(60)]


@pytest.mark.parametrize(("route", "kind"), ROUTES)
async def test_empty_pages_for_ever_end_the_walk_with_a_warning(
    route: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # 60 announced, 25 served, then empty pages however often it is asked.
    server = Lister(kind, 60, lost_from=25)
    with caplog.at_level(logging.WARNING, logger="crossref_async"):
        async with client(server) as cr:
            got = await keys(cr, route, rows=10)
    assert got == [server.key(i) for i in range(25)]
    # 10, 10, 5 (short: not an end), then one empty page ends it.
    assert len(server.requests) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "after 25 of 60 announced items" in warnings[0]


@pytest.mark.parametrize(("route", "kind"), ROUTES)
async def test_complete_true_raises_when_the_list_ends_short(route: str, kind: str) -> None:
    server = Lister(kind, 60, lost_from=25)
    async with client(server) as cr:
        with pytest.raises(IncompleteResultsError, match="25 of 60") as info:
            await keys(cr, route, rows=10, complete=True)
        assert (info.value.expected, info.value.received) == (60, 25)
        assert len(server.requests) == 4
        query = cr.works if route == "works" else cr.licenses
        with pytest.raises(IncompleteResultsError):
            _ = [item async for item in query.stream(rows=10, complete=True)]


async def test_an_empty_first_page_of_an_announced_list_ends_at_once() -> None:
    server = Lister("work-list", 100, lost_from=0)
    async with client(server) as cr:
        assert [w async for w in cr.works.stream(rows=10)] == []
    assert len(server.requests) == 1


async def test_a_cursor_page_without_next_cursor_ends_the_walk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Lister("work-list", 60, next_cursor=False)
    with caplog.at_level(logging.WARNING, logger="crossref_async"):
        async with client(server) as cr:
            got = await keys(cr, "works", rows=10)
    assert len(got) == 10 and len(server.requests) == 1
    assert any("after 10 of 60" in r.getMessage() for r in caplog.records)


async def test_complete_stream_of_a_whole_list_passes_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Lister("work-list", 45, short={0: 19, 2: 3})
    with caplog.at_level(logging.INFO, logger="crossref_async"):
        async with client(server) as cr:
            dois = [w.DOI async for w in cr.works.stream(rows=20, complete=True)]
    assert len(dois) == len(set(dois)) == 45
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


async def test_the_recorded_body_shape_decodes_through_respx(router: respx.MockRouter) -> None:
    # The same short page through the default transport and respx, typed items.
    server = Lister("work-list", RECORDED_TOTAL, short={0: 19})
    router.get("/works").mock(side_effect=server)
    from conftest import unit_client

    async with unit_client() as cr:
        works = [w async for w in cr.works.stream(rows=20, max_items=39)]
    assert [w.DOI for w in works] == [server.key(i) for i in range(39)]
    assert len(server.requests) == 2


# -- a harvest must still notice a page that really lost records -------------------------------


class Losing(httpx.AsyncBaseTransport):
    """Forwards to the simulator and drops the 2nd item of ``lose`` later cursor pages (the
    server's cursor moved past it: the record is really lost for that walk)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lose: int | None) -> None:
        self.inner = inner
        self.left = lose  # None: every page
        self.dropped: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        cursor = request.url.params.get("cursor")
        if cursor in (None, "*") or response.status_code != 200 or self.left == 0:
            return response
        body = json.loads(await response.aread())
        items = body["message"]["items"]
        if len(items) < 2:
            return httpx.Response(200, json=body)
        self.dropped.append(items.pop(1)["DOI"].lower())
        if self.left is not None:
            self.left -= 1
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-")}
        return httpx.Response(200, json=body, headers=headers)


async def test_a_harvest_that_really_lost_records_reports_it(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, seed=41, limits="unmetered")
    lossy = Losing(fake.transport(), lose=None)
    async with Crossref(mailto=MAILTO, transport=lossy) as cr:
        with pytest.raises(IncompleteResultsError, match="could not be harvested completely"):
            await harvest(cr, cr.works, out=tmp_path / "works.jsonl", rows=50)
    assert lossy.dropped
    assert not (tmp_path / "works.jsonl").exists()


async def test_a_harvest_redoes_a_shard_that_lost_records_once(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, seed=42, limits="unmetered")
    lossy = Losing(fake.transport(), lose=1)
    out = tmp_path / "works.jsonl"
    async with Crossref(mailto=MAILTO, transport=lossy) as cr:
        report = await harvest(cr, cr.works, out=out, rows=50)
    written = [json.loads(line)["DOI"].lower() for line in iter_records(out)]
    expected = {str(w["DOI"]).lower() for w in fake.corpus.matching([])}
    assert len(lossy.dropped) == 1 and lossy.dropped[0] in written
    assert sorted(written) == sorted(expected) and len(written) == len(set(written))
    assert report.shards_redone == 1 and report.verified


# -- end to end against the simulator's short-page fault ---------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
async def test_short_pages_from_the_simulator_lose_nothing(seed: int) -> None:
    fake = FakeCrossref(
        works=600, seed=seed, limits="unmetered", faults=Faults(short_page_rate=0.5, seed=seed)
    )
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        dois = [w.DOI async for w in cr.works.stream(rows=20, complete=True)]
        types = [t.id async for t in cr.types.stream(rows=5, complete=True)]
    expected = [str(w["DOI"]) for w in fake.corpus.matching([])]
    assert sorted(d or "" for d in dois) == sorted(expected) and len(dois) == len(set(dois))
    assert len(types) == len(set(types)) == (await _count(fake, "/types"))
    assert fake.stats.short_pages > 5


async def _count(fake: FakeCrossref, path: str) -> int:
    async with fake.client() as http:
        total: int = (await http.get(path, params={"rows": 0})).json()["message"]["total-results"]
    return total
