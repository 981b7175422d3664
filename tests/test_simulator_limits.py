"""The simulator's rate and concurrency limits, counted from its stats.

Rate windows use an injected clock (no waiting, no timing flakiness); concurrency uses real
latency so that requests really overlap.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from _corpus import recordings

from crossref_async.testing import (
    KEEP,
    PRESETS,
    Change,
    FakeCrossref,
    Faults,
    Limits,
    Pool,
    serve,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SINGLE = "/works/10.5555/12345678"
LIST = "/works?rows=1&select=DOI"


async def statuses(http: httpx.AsyncClient, path: str, count: int) -> list[int]:
    return [(await http.get(path)).status_code for _ in range(count)]


async def test_polite_headers_on_every_answer() -> None:
    sim = FakeCrossref(works=30, limits="polite-2026", clock=FakeClock())
    async with sim.client() as http:
        single = await http.get(SINGLE)
        missing = await http.get("/works/10.9999/none")
        listed = await http.get(LIST)
    for response in (single, missing):
        assert response.headers["x-rate-limit-limit"] == "10"
        assert response.headers["x-rate-limit-interval"] == "1s"
        assert response.headers["x-concurrency-limit"] == "3"
        assert response.headers["x-api-pool"] == "polite-single"
    assert listed.headers["x-rate-limit-limit"] == "3"
    assert listed.headers["x-concurrency-limit"] == "3"
    assert listed.headers["x-api-pool"] == "polite-array"
    assert sim.stats.requests == {"single": 2, "list": 1}
    assert sim.stats.requests_by_pool == {"polite-single": 2, "polite-array": 1}


async def test_legacy_header_spelling() -> None:
    sim = FakeCrossref(works=30, limits="polite-2026", legacy_headers=True, clock=FakeClock())
    async with sim.client() as http:
        response = await http.get(SINGLE)
    assert response.headers["x-ratelimit-limit"] == "10"
    assert response.headers["x-ratelimit-interval"] == "1s"
    assert response.headers["x-api-pool"] == "polite-single"
    assert "x-rate-limit-limit" not in response.headers
    assert "x-concurrency-limit" not in response.headers


async def test_no_limits_no_headers() -> None:
    sim = FakeCrossref(works=30)
    async with sim.client() as http:
        assert await statuses(http, LIST, 20) == [200] * 20
        response = await http.get(SINGLE)
    assert not [h for h in response.headers if h.startswith("x-rate") or h == "x-api-pool"]


async def test_a_burst_beyond_the_rate_gets_429s() -> None:
    clock = FakeClock()
    sim = FakeCrossref(works=30, limits="polite-2026", clock=clock)
    async with sim.client() as http:
        assert await statuses(http, LIST, 5) == [200, 200, 200, 429, 429]
        refused = await http.get(LIST)
        assert await statuses(http, SINGLE, 11) == [200] * 10 + [429]  # its own pool
        clock.advance(1.0)
        assert await statuses(http, LIST, 4) == [200, 200, 200, 429]
    assert refused.headers["content-type"] == "text/html"
    assert refused.text.startswith("<html><body><h1>429 Too Many Requests</h1>")
    # Bare, as Crossref sends them: no Retry-After, no limit headers.
    assert not {"retry-after", "x-api-pool", "x-rate-limit-limit"} & set(refused.headers)
    assert sim.stats.rate_limited == {"list": 4, "single": 1}
    assert sim.stats.rate_limited_by_pool == {"polite-array": 4, "polite-single": 1}
    assert sim.stats.rejected_for_rate == 5
    assert sim.stats.responses[429] == 5


async def test_the_window_slides() -> None:
    clock = FakeClock()
    sim = FakeCrossref(works=30, limits="polite-2026", clock=clock)
    async with sim.client() as http:
        clock.advance(0.5)
        assert await statuses(http, LIST, 3) == [200] * 3  # three at t = 0.5
        clock.advance(0.7)  # t = 1.2: the window (0.2, 1.2] still holds all three
        assert await statuses(http, LIST, 1) == [429]
        clock.advance(0.3)  # t = 1.5: the three from t = 0.5 have left (0.5, 1.5]
        assert await statuses(http, LIST, 4) == [200, 200, 200, 429]


async def test_refused_requests_do_not_use_budget() -> None:
    clock = FakeClock()
    sim = FakeCrossref(works=30, limits="polite-2026", clock=clock)
    async with sim.client() as http:
        assert await statuses(http, LIST, 10) == [200] * 3 + [429] * 7
        clock.advance(1.0)
        assert await statuses(http, LIST, 3) == [200] * 3


async def test_a_client_at_exactly_the_rate_is_never_refused() -> None:
    clock = FakeClock()
    sim = FakeCrossref(works=30, limits="polite-2026", clock=clock)
    async with sim.client() as http:
        for _ in range(30):
            assert (await http.get(LIST)).status_code == 200
            clock.advance(1 / 3)
    assert sim.stats.total_429 == 0


async def test_concurrency_over_the_limit_gets_429s() -> None:
    limits = Limits(list=Pool(rate=1000, interval=1.0, concurrency=2, name="narrow"))
    sim = FakeCrossref(works=30, limits=limits, faults=Faults(latency=0.3))
    async with sim.client() as http:
        responses = await asyncio.gather(*(http.get(LIST) for _ in range(5)))
        after = await http.get(LIST)
    assert sorted(r.status_code for r in responses) == [200, 200, 429, 429, 429]
    assert after.status_code == 200
    assert sim.stats.rejected_for_concurrency == 3
    assert sim.stats.max_in_flight["list"] >= 3
    assert sim.stats.in_flight["list"] == 0
    assert responses[0].headers["x-concurrency-limit"] == "2"


async def test_concurrency_on_a_real_socket() -> None:
    sim = FakeCrossref(works=30, limits="polite-2026", faults=Faults(latency=0.3))
    async with serve(sim) as url, httpx.AsyncClient(base_url=url) as http:
        responses = await asyncio.gather(*(http.get(SINGLE) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 429]
    assert sim.stats.rejected_for_concurrency == 1
    assert sim.stats.max_in_flight_by_pool["polite-single"] == 4


async def test_public_pools_of_2026() -> None:
    # Since December 2025: anonymous singles 5/s, lists 1/s, one at a time, each kind its pool.
    clock = FakeClock()
    sim = FakeCrossref(works=30, limits="public", clock=clock)
    async with sim.client() as http:
        assert await statuses(http, LIST, 2) == [200, 429]
        singles = [await http.get(SINGLE) for _ in range(6)]
        clock.advance(1.0)
        listed = await http.get(LIST)
    assert [r.status_code for r in singles] == [200] * 5 + [429]
    assert listed.status_code == 200
    advertised = {
        name: (r.headers["x-rate-limit-limit"], r.headers["x-concurrency-limit"])
        for r in (singles[0], listed)
        for name in [r.headers["x-api-pool"]]
    }
    assert advertised == {"public-single": ("5", "1"), "public-array": ("1", "1")}
    assert sim.stats.requests_by_pool == {"public-array": 3, "public-single": 6}


async def test_limits_change_after_k_requests() -> None:
    clock = FakeClock()
    limits = Limits(
        list=Pool(rate=100, interval=1.0, concurrency=5, name="before"),
        changes=(Change(after_requests=3, list=Pool(rate=1, interval=60.0, name="after")),),
        headers_on_429=True,
    )
    sim = FakeCrossref(works=30, limits=limits, clock=clock)
    async with sim.client() as http:
        before = [await http.get(LIST) for _ in range(3)]
        after = [await http.get(LIST) for _ in range(3)]
    assert [r.headers["x-rate-limit-limit"] for r in before] == ["100"] * 3
    assert [r.headers["x-api-pool"] for r in after] == ["after"] * 3
    assert after[0].headers["x-rate-limit-interval"] == "60s"
    assert [r.status_code for r in after] == [200, 429, 429]


async def test_limits_change_at_a_time() -> None:
    clock = FakeClock()
    limits = Limits(
        single=Pool(rate=10, concurrency=3, name="polite-single"),
        list=Pool(rate=3, concurrency=3, name="polite-array"),
        changes=(Change(at=30.0, single=Pool(rate=2, concurrency=1, name="polite-single")),),
    )
    sim = FakeCrossref(works=30, limits=limits, clock=clock)
    async with sim.client() as http:
        assert (await http.get(SINGLE)).headers["x-rate-limit-limit"] == "10"
        clock.advance(30.0)
        changed = await http.get(SINGLE)
        listed = await http.get(LIST)
    assert changed.headers["x-rate-limit-limit"] == "2"
    assert changed.headers["x-concurrency-limit"] == "1"
    assert listed.headers["x-rate-limit-limit"] == "3"  # KEEP: the list pool stayed
    assert sim.pool("single") == Pool(rate=2, concurrency=1, name="polite-single")


async def test_429_headers_only_when_configured() -> None:
    bare = Limits(list=Pool(rate=1, name="tight"))
    dressed = Limits(list=Pool(rate=1, name="tight"), retry_after=0.2, headers_on_429=True)
    refusals = []
    for limits in (bare, dressed):
        sim = FakeCrossref(works=30, limits=limits, clock=FakeClock())
        async with sim.client() as http:
            await http.get(LIST)
            refusals.append(await http.get(LIST))
    assert [r.status_code for r in refusals] == [429, 429]
    assert not {"retry-after", "x-api-pool", "x-rate-limit-limit"} & set(refusals[0].headers)
    assert refusals[1].headers["retry-after"] == "1"  # rounded up to whole seconds
    assert refusals[1].headers["x-api-pool"] == "tight"
    assert refusals[1].headers["x-rate-limit-limit"] == "1"


def test_every_recorded_pool_matches_a_preset() -> None:
    """The pools advertised by the newest (2026) recordings are the presets' pools."""
    recorded = set()
    for rec in recordings():
        headers = {k.lower(): v for k, v in rec.headers.items()}
        if "x-concurrency-limit" in headers and rec.name.startswith("commonmeta-py/"):
            recorded.add(
                (headers["x-api-pool"], int(headers["x-rate-limit-limit"]),
                 int(headers["x-concurrency-limit"]), headers["x-rate-limit-interval"])
            )  # fmt: skip
    presets = {
        (pool.name, pool.rate, pool.concurrency, f"{pool.interval:g}s")
        for name in ("polite-2026", "public")
        for pool in (PRESETS[name].single, PRESETS[name].list)
        if pool is not None
    }
    assert recorded, "the corpus holds 2026 recordings with the new headers"
    assert recorded <= presets


def test_presets_and_configuration_errors() -> None:
    assert set(PRESETS) >= {"polite-2026", "public", "fast-50", "unmetered", "unlimited"}
    polite = PRESETS["polite-2026"]
    assert polite.single == Pool(rate=10, interval=1.0, concurrency=3, name="polite-single")
    assert polite.list == Pool(rate=3, interval=1.0, concurrency=3, name="polite-array")
    public = PRESETS["public"]
    assert public.single == Pool(rate=5, interval=1.0, concurrency=1, name="public-single")
    assert public.list == Pool(rate=1, interval=1.0, concurrency=1, name="public-array")
    assert polite.retry_after is None and not polite.headers_on_429
    assert Change(at=1.0).single is KEEP
    with pytest.raises(ValueError, match="preset"):
        FakeCrossref(works=10, limits="nope")
    with pytest.raises(ValueError, match="exactly one"):
        Change()
    with pytest.raises(ValueError, match="rate"):
        Pool(rate=0)
