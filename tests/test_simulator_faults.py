"""Injected faults: visible on the wire (in process and on a real socket) and in the stats."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import Connect

from crossref_async.testing import FakeCrossref, Faults, Limits, Pool

LIST = "/works?rows=50&select=DOI"
SINGLE = "/works/10.5555/12345678"


async def test_server_errors_are_html(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(error_rate=1.0))
    async with connect(sim) as http:
        response = await http.get(LIST)
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html"
    assert "<title>503 Service Temporarily Unavailable</title>" in response.text
    assert sim.stats.server_errors == 1
    assert sim.stats.responses[503] == 1


async def test_error_status_is_configurable(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(error_rate=1.0, error_status=504))
    async with connect(sim) as http:
        response = await http.get(SINGLE)
    assert response.status_code == 504
    assert "504 Gateway Time-out" in response.text


async def test_spurious_429(connect: Connect) -> None:
    limits = Limits(list=Pool(rate=100, concurrency=10, name="roomy"))
    sim = FakeCrossref(works=40, limits=limits, faults=Faults(spurious_429_rate=1.0))
    async with connect(sim) as http:
        response = await http.get(LIST)
    assert response.status_code == 429
    assert "x-api-pool" not in response.headers  # bare, like a real one
    assert "retry-after" not in response.headers
    assert "Too Many Requests" in response.text
    assert sim.stats.spurious_429 == 1
    assert sim.stats.rate_limited["list"] == 1
    assert sim.stats.rejected_for_rate == 0


async def test_resets_cut_the_connection(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(reset_rate=1.0))
    async with connect(sim) as http:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await http.get(LIST)
        sim.set_faults(Faults())
        assert (await http.get(LIST)).status_code == 200  # the server is fine afterwards
    assert sim.stats.resets == 1
    assert sim.stats.responses[0] == 1  # no status line was ever sent
    assert (sim.stats.log[0].status, sim.stats.log[0].fault) == (0, "reset")
    assert (sim.stats.log[1].status, sim.stats.log[1].fault) == (200, None)


async def test_truncated_bodies(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(truncate_rate=1.0))
    async with connect(sim) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await http.get(LIST)
        sim.set_faults(Faults())
        assert (await http.get(LIST)).status_code == 200
    assert sim.stats.truncations == 1


async def test_malformed_json(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(malformed_rate=1.0))
    async with connect(sim) as http:
        plain = await http.get(LIST, headers={"Accept-Encoding": "identity"})
        gzipped = await http.get(LIST)  # the gzip stream is whole: only the JSON is cut
    for response in (plain, gzipped):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json;charset=utf-8"
        with pytest.raises(json.JSONDecodeError):
            response.json()
    assert int(plain.headers["content-length"]) == len(plain.content)
    assert gzipped.headers["content-encoding"] == "gzip"
    assert sim.stats.malformed == 2


async def test_slow_bodies(connect: Connect) -> None:
    sim = FakeCrossref(works=40, faults=Faults(slow_body_rate=1.0, slow_body_seconds=0.4))
    async with connect(sim) as http:
        started = time.perf_counter()
        response = await http.get(LIST)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.json()["message"]["items"]) == 40
    assert elapsed >= 0.3
    assert sim.stats.slow_bodies == 1


async def test_block(connect: Connect) -> None:
    sim = FakeCrossref(works=40, limits="polite-2026", faults=Faults(block=True))
    async with connect(sim) as http:
        responses = [await http.get(path) for path in (SINGLE, LIST, "/members")]
    assert [r.status_code for r in responses] == [403] * 3
    assert "403 Forbidden" in responses[0].text
    assert sim.stats.blocked == 3


async def test_latency_is_real_time(connect: Connect) -> None:
    sim = FakeCrossref(works=100, faults=Faults(latency=0.15, jitter=0.1, per_row=0.002))
    async with connect(sim) as http:
        started = time.perf_counter()
        await http.get(SINGLE)
        single = time.perf_counter() - started
        started = time.perf_counter()
        await http.get("/works?rows=100&select=DOI")
        page = time.perf_counter() - started
    # Lower bounds only: a loaded machine is slower, never faster.
    assert single >= 0.14
    assert page >= 0.14 + 0.18  # base latency plus 100 rows at 2 ms


async def test_faults_only_on_lists() -> None:
    sim = FakeCrossref(works=40, faults=Faults(error_rate=1.0, only_lists=True))
    async with sim.client() as http:
        assert (await http.get(SINGLE)).status_code == 200
        assert (await http.get(LIST)).status_code == 503


async def test_faults_are_deterministic_given_the_seed() -> None:
    async def run(seed: int) -> list[int]:
        sim = FakeCrossref(
            works=40, faults=Faults(error_rate=0.3, spurious_429_rate=0.1, seed=seed)
        )
        async with sim.client() as http:
            codes = [(await http.get(SINGLE)).status_code for _ in range(200)]
        assert sim.stats.server_errors == codes.count(503)
        assert sim.stats.spurious_429 == codes.count(429)
        return codes

    first, again, other = await run(5), await run(5), await run(6)
    assert first == again
    assert first != other
    assert 30 <= first.count(503) <= 90  # about 30 % of 200
    assert 5 <= first.count(429) <= 40


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="add up"):
        Faults(error_rate=0.7, reset_rate=0.5)
    with pytest.raises(ValueError, match="5xx"):
        Faults(error_status=404)


async def test_stats_endpoint_and_reset() -> None:
    sim = FakeCrossref(works=40, faults=Faults(error_rate=0.5, seed=1))
    async with sim.client() as http:
        for _ in range(10):
            await http.get(SINGLE)
        snapshot = (await http.get("/_stats")).json()
        assert snapshot == sim.stats.snapshot()  # /_stats itself is not counted
        assert snapshot["total_requests"] == 10
        assert snapshot["server_errors"] == sim.stats.server_errors > 0
        assert len(sim.stats.log) == 10
        assert sim.stats.log[0].target == SINGLE
        assert (await http.post("/_reset")).json() == {"status": "ok"}
        assert (await http.get("/_stats")).json()["total_requests"] == 0
