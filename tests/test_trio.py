"""The library's core paths under trio, not only asyncio: anyio promises both.

Each test runs under ``anyio.run(..., backend="trio")`` on a mock clock (:func:`on_mock_clock`)
that the simulator reads too (``FakeCrossref(clock=anyio.current_time)``, in process), so
pacing, backoff, ``Retry-After`` pauses and cool-downs take no real time and are measured on
the clock both sides share.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import msgspec
import pytest
from _mock_clock import on_mock_clock
from trio.testing import MockClock

from crossref_async import (
    Breaker,
    CircuitOpenError,
    Crossref,
    Pacing,
    RetryPolicy,
    ServerError,
)
from crossref_async.harvest import harvest, iter_records
from crossref_async.testing import FakeCrossref, Faults, Limits, Pool

MAILTO = "tests@example.org"
DOI = "10.5555/12345678"


def simulator(**kw: object) -> FakeCrossref:
    """A simulator on the event loop's clock (the mock clock, inside a test)."""
    return FakeCrossref(clock=anyio.current_time, **kw)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def connect(fake: FakeCrossref, **kw: object) -> AsyncIterator[Crossref]:
    async with Crossref(mailto=MAILTO, transport=fake.transport(), **kw) as cr:  # type: ignore[arg-type]
        yield cr


@on_mock_clock
async def test_work_and_a_query_page() -> None:
    fake = simulator(works=300, limits="unmetered")
    async with connect(fake) as cr:
        work = await cr.work(DOI)
        page = await cr.works.query("silly string").page(rows=2)
    assert work.DOI == DOI
    assert len(page.items) == 2 and (page.total_results or 0) >= 2


@on_mock_clock
async def test_stream_over_several_pages() -> None:
    fake = simulator(works=300, limits="unmetered")
    async with connect(fake) as cr:
        articles = cr.works.filter(type="journal-article")
        total = await articles.count()
        streamed = [w.DOI async for w in articles.stream(rows=20)]
    assert len(streamed) == len(set(streamed)) == total > 100
    assert fake.stats.requests["list"] - 1 >= total / 20  # pages of 20, one cursor


@on_mock_clock
async def test_stream_stopped_early_closes_its_pages() -> None:
    fake = simulator(works=300, limits="unmetered")
    async with connect(fake) as cr:
        articles = cr.works.filter(type="journal-article")
        streamed = [w.DOI async for w in articles.stream(rows=20, max_items=90)]
    assert len(streamed) == 90 == len(set(streamed))
    assert fake.stats.requests["list"] == 5  # 90 items in pages of 20, one cursor


@on_mock_clock
async def test_works_by_doi_in_batches() -> None:
    fake = simulator(works=100, limits="unmetered")
    dois = [str(w["DOI"]) for w in fake.corpus.works[:25]]
    async with connect(fake) as cr:
        found = await cr.works_by_doi([*dois, "10.5555/nothing-here"], batch_size=10)
    assert [work.DOI if work else None for work in found.values()] == [*dois, None]
    assert fake.stats.requests["list"] >= 3  # 25 DOIs in batches of 10


@on_mock_clock
async def test_a_503_is_retried() -> None:
    # Seed 1 at a 50% error rate: the first request draws a 503, the second does not.
    fake = simulator(works=50, limits="unmetered", faults=Faults(error_rate=0.5, seed=1))
    async with connect(fake, retry=RetryPolicy(attempts=3, backoff=0.5)) as cr:
        work = await cr.work(DOI)
        stats = cr.stats()
    assert work.DOI == DOI
    assert [r.status for r in fake.stats.log] == [503, 200]
    assert sum(s.retries for s in stats.values()) == 1
    assert sum(s.server_errors for s in stats.values()) == 1


@on_mock_clock
async def test_a_429_pause_is_honoured() -> None:
    # Seed 1 at a 50% spurious-429 rate: the first request is refused with Retry-After: 2.
    pool = Pool(rate=10, interval=1.0, concurrency=2, name="polite-single")
    limits = Limits(single=pool, retry_after=2.0)
    fake = simulator(works=50, limits=limits, faults=Faults(spurious_429_rate=0.5, seed=1))
    async with connect(fake) as cr:
        work = await cr.work(DOI)
        stats = cr.stats()["polite-single"]
    first, second = fake.stats.log
    assert (first.status, second.status, work.DOI) == (429, 200, DOI)
    assert second.started - first.started >= 2.0  # on the clock both sides read
    assert stats.rate_limited == 1 and stats.retries == 1


@on_mock_clock
async def test_requests_are_paced_to_the_budget() -> None:
    pool = Pool(rate=5, interval=1.0, concurrency=3, name="polite-single")
    fake = simulator(works=50, limits=Limits(single=pool), faults=Faults(latency=0.05))
    dois = [str(w["DOI"]) for w in fake.corpus.works[:20]]
    async with connect(fake) as cr, anyio.create_task_group() as tg:
        for doi in dois:
            tg.start_soon(cr.work, doi)
    starts = sorted(r.started for r in fake.stats.log)
    assert len(starts) == 20 and fake.stats.snapshot()["total_429"] == 0
    assert max(sum(t - 1.0 < s <= t for s in starts) for t in starts) <= 5
    assert starts[-1] - starts[0] >= 3.0  # 20 at 5 a second: the budget held them back


@on_mock_clock
async def test_the_breaker_opens_and_closes_again() -> None:
    fake = simulator(works=50, limits="unmetered")
    breaker = Breaker(consecutive=4, cooldown=5.0)
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01, max_time=600.0)
    async with connect(fake, retry=policy, pacing=Pacing(breaker=breaker)) as cr:
        await cr.work(DOI)
        fake.set_faults(Faults(error_rate=1.0))  # the server goes down
        for _ in range(2):
            with pytest.raises((ServerError, CircuitOpenError)):
                await cr.work(DOI)
        assert cr.governor is not None and cr.governor.breaker.tripped
        wait = cr.governor.breaker.remaining()
        assert wait > 0
        fake.set_faults(Faults())  # ...and comes back
        before = anyio.current_time()
        work = await cr.work(DOI)  # waits out the cool-down on the mock clock, then probes
        assert work.DOI == DOI
        assert anyio.current_time() - before >= wait
        assert not cr.governor.breaker.tripped and cr.governor.paused() is None
        for _ in range(5):
            await cr.work(DOI)


@on_mock_clock
async def test_a_harvest_writes_every_record_once(tmp_path: Path) -> None:
    fake = simulator(works=400, seed=5, limits="polite-2026")
    out = tmp_path / "articles.jsonl"
    async with connect(fake) as cr:
        report = await harvest(cr, cr.works.filter(type="journal-article"), out=out, rows=40)
    dois = [msgspec.json.decode(line)["DOI"] for line in iter_records(out)]
    assert report.verified and report.records == len(dois) > 40
    assert len(set(dois)) == report.records  # exactly once


def test_a_client_made_before_any_loop_runs_on_the_loops_clock() -> None:
    # Crossref() is made in sync code; its governor must neither read a clock then nor keep
    # one other than the loop's: the Retry-After pause below passes on the mock clock.
    pool = Pool(rate=100, interval=1.0, concurrency=2, name="polite-single")
    limits = Limits(single=pool, retry_after=2.0)
    fake = FakeCrossref(works=50, limits=limits, faults=Faults(spurious_429_rate=0.5, seed=1))
    cr = Crossref(mailto=MAILTO, transport=fake.transport())

    async def use() -> float:
        async with cr:
            before = anyio.current_time()
            await cr.work(DOI)
            return anyio.current_time() - before

    waited = anyio.run(
        use, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)}
    )
    assert [r.status for r in fake.stats.log] == [429, 200]
    assert 2.0 <= waited < 3.0  # mock seconds: the pause, and no other clock's idea of it
