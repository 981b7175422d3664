"""Paging against a scripted server: cursor and offset, the end, early close, lost pages."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from conftest import unit_client

from crossref_async import IncompleteResultsError, OffsetLimitError, RetryPolicy, ValidationError


class CursorServer:
    """Serves ``total`` works by a server-side cursor, like Crossref (same token each time)."""

    def __init__(self, total: int, *, fail_after_advancing: set[int] | None = None) -> None:
        self.total = total
        self.position = 0
        self.requests: list[httpx.Request] = []
        self.fail_after_advancing = fail_after_advancing or set()

    def items(self, start: int, n: int) -> list[dict[str, object]]:
        return [
            {"DOI": f"10.5555/{i}", "title": [f"t{i}"]}
            for i in range(start, min(start + n, self.total))
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        rows = int(params.get("rows", "20"))
        if "cursor" in params:
            if params["cursor"] == "*":
                self.position = 0
            items = self.items(self.position, rows)
            self.position += len(items)
            if len(self.requests) in self.fail_after_advancing:
                return httpx.Response(502, text="<html>Bad Gateway</html>")
            message = {"items": items, "total-results": self.total, "next-cursor": "SAME+TOKEN/=="}
        else:
            offset = int(params.get("offset", "0"))
            message = {"items": self.items(offset, rows), "total-results": self.total}
        last = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        kind = {"works": "work-list", "licenses": "license-list"}.get(last, "member-list")
        return httpx.Response(200, json={"status": "ok", "message-type": kind, "message": message})


async def collect_dois(server: CursorServer, **kw: Any) -> list[str]:
    async with unit_client(transport=httpx.MockTransport(server), **kw) as cr:
        return [w.DOI or "" async for w in cr.works.stream(rows=10)]


@pytest.mark.parametrize("total", [0, 1, 9, 10, 11, 35])
async def test_cursor_stream_gets_everything_once_and_stops(total: int) -> None:
    server = CursorServer(total)
    dois = await collect_dois(server)
    assert dois == [f"10.5555/{i}" for i in range(total)]
    # The end is the items seen reaching total-results: no request past the last item.
    assert len(server.requests) == max(1, -(-total // 10))
    cursors = [r.url.params["cursor"] for r in server.requests]
    assert cursors[0] == "*" and all(c == "SAME+TOKEN/==" for c in cursors[1:])


async def test_pages_and_raw_pages() -> None:
    server = CursorServer(25)
    async with unit_client(transport=httpx.MockTransport(server)) as cr:
        sizes = [len(p.items) async for p in cr.works.filter(type="journal-article").pages(rows=10)]
        raw = [p async for p in cr.works.raw_pages(rows=10)]
    assert sizes == [10, 10, 5]
    assert all(isinstance(i, msgspec.Raw) for p in raw for i in p.items)
    first = msgspec.json.decode(raw[0].items[0])
    assert first == {"DOI": "10.5555/0", "title": ["t0"]}
    assert server.requests[0].url.params["filter"] == "type:journal-article"


async def test_max_items_and_early_close() -> None:
    server = CursorServer(1000)
    async with unit_client(transport=httpx.MockTransport(server)) as cr:
        got = [w async for w in cr.works.stream(max_items=25, rows=10)]
        assert len(got) == 25
        assert len(server.requests) == 3
        small = [w async for w in cr.works.stream(max_items=3)]
        assert len(small) == 3
        assert server.requests[-1].url.params["rows"] == "3"
        stream = cr.works.stream(rows=10)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        before = len(server.requests)
        assert [w async for w in cr.works.stream(max_items=0)] == []
        assert len(server.requests) == before


async def test_offset_paging_on_other_routes() -> None:
    server = CursorServer(23)
    async with unit_client(transport=httpx.MockTransport(server)) as cr:
        licenses = [m async for m in cr.licenses.stream(rows=10)]
    assert len(licenses) == 23
    offsets = [r.url.params["offset"] for r in server.requests]
    assert offsets == ["0", "10", "20"]
    assert all("cursor" not in r.url.params for r in server.requests)


async def test_offset_paging_stops_at_the_cap_and_says_so() -> None:
    server = CursorServer(12_000)
    async with unit_client(transport=httpx.MockTransport(server)) as cr:
        seen: list[object] = []

        async def drain() -> None:
            async for entry in cr.licenses.stream(rows=1000):
                seen.append(entry)

        with pytest.raises(OffsetLimitError, match="12,000"):
            await drain()
    assert len(seen) == 10_000
    assert (
        max(int(r.url.params["offset"]) + int(r.url.params["rows"]) for r in server.requests)
        == 10_000
    )


async def test_a_retried_cursor_request_that_skipped_a_page_is_reported() -> None:
    # The 2nd request advances the cursor and then fails with 502; the retry gets page 3.
    server = CursorServer(50, fail_after_advancing={2})
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001)
    with pytest.raises(IncompleteResultsError) as info:
        await collect_dois(server, retry=policy)
    assert (info.value.expected, info.value.received) == (50, 40)


async def test_a_retried_first_request_loses_nothing() -> None:
    server = CursorServer(30, fail_after_advancing={1})
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001)
    assert len(await collect_dois(server, retry=policy)) == 30


async def test_sample_is_one_page() -> None:
    server = CursorServer(100)
    async with unit_client(transport=httpx.MockTransport(server)) as cr:
        pages = [p async for p in cr.works.sample(5).pages()]
    assert len(pages) == 1 and len(server.requests) == 1
    assert server.requests[0].url.params["sample"] == "5"


async def test_bad_page_sizes() -> None:
    async with unit_client(transport=httpx.MockTransport(CursorServer(1))) as cr:
        with pytest.raises(ValidationError):
            [p async for p in cr.works.pages(rows=0)]
        with pytest.raises(ValidationError):
            [w async for w in cr.works.stream(max_items=-1)]
