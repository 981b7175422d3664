"""The governor against the simulator, counted from the server's side.

The simulator runs in process, under trio on a mock clock that both sides read
(:func:`on_mock_clock`, ``FakeCrossref(clock=anyio.current_time)``): pacing, latency and
``Retry-After`` pauses take no real time, and every timing below is what the governor and the
server decided on one clock, not what a loaded machine did. Budgets are scaled down in time
(per 0.5 s rather than per second), as they were when this ran on the real clock. Only the
last test needs a loopback socket (httpcore reports when headers go out there alone); it
asserts nothing about time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import pytest
from _mock_clock import on_mock_clock
from _windows import max_in_window

from crossref_async import Breaker, CircuitOpenError, Crossref, Pacing, RetryPolicy, ServerError
from crossref_async._breaker import lower_bound
from crossref_async.testing import Change, FakeCrossref, Faults, Limits, Pool, serve

MAILTO = "tests@example.org"
SINGLE = Pool(rate=20, interval=0.5, concurrency=3, name="polite-single")
ARRAY = Pool(rate=6, interval=0.5, concurrency=3, name="polite-array")


def simulator(**kw: object) -> FakeCrossref:
    """A simulator on the event loop's clock (so on the mock clock, inside a test)."""
    return FakeCrossref(clock=anyio.current_time, **kw)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def connect(
    fake: FakeCrossref, socket: bool = False, **kw: object
) -> AsyncIterator[Crossref]:
    """A client on ``fake``: in process, or over a loopback socket."""
    if socket:
        async with serve(fake) as url, Crossref(mailto=MAILTO, base_url=url, **kw) as cr:  # type: ignore[arg-type]
            yield cr
    else:
        async with Crossref(mailto=MAILTO, transport=fake.transport(), **kw) as cr:  # type: ignore[arg-type]
            yield cr


async def run(
    fake: FakeCrossref, calls: int, *, lists: bool = False, socket: bool = False, **kw: object
) -> Crossref:
    async with connect(fake, socket, **kw) as cr:
        docs = [str(w["DOI"]) for w in fake.corpus.works[:calls]]

        async def one(i: int) -> None:
            if lists:
                await cr.works.filter(type="journal-article").page(rows=5, offset=i % 50)
            else:
                await cr.work(docs[i % len(docs)])

        async with anyio.create_task_group() as tg:
            for i in range(calls):
                tg.start_soon(one, i)
        return cr


def admitted(fake: FakeCrossref, pool: str) -> list[float]:
    return [r.started for r in fake.stats.log if r.pool == pool and r.status != 429]


@pytest.mark.parametrize(("lists", "pool", "calls"), [(False, SINGLE, 80), (True, ARRAY, 24)])
@on_mock_clock
async def test_steady_state_sits_on_the_budget_without_a_429(
    lists: bool, pool: Pool, calls: int
) -> None:
    fake = simulator(
        works=300, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(latency=0.01)
    )
    started = anyio.current_time()
    cr = await run(fake, calls, lists=lists)
    elapsed = anyio.current_time() - started  # on the mock clock: the governor's pacing
    snap = fake.stats.snapshot()
    assert snap["total_429"] == 0
    assert max_in_window(admitted(fake, pool.name), pool.interval) <= pool.rate
    assert snap["max_in_flight_by_pool"][pool.name] <= pool.concurrency
    # The budget is used: the run takes about calls / rate intervals, not much more.
    ideal = (calls - pool.rate) / pool.rate * pool.interval
    assert elapsed < ideal * 1.25 + 1.0
    stats = cr.stats()[pool.name]
    assert stats.advertised_rate == pool.rate and stats.interval == pool.interval


@on_mock_clock
async def test_concurrency_never_above_the_advertised_limit_under_slow_answers() -> None:
    pool = Pool(rate=100, interval=0.5, concurrency=2, name="polite-single")
    fake = simulator(works=100, limits=Limits(single=pool, list=ARRAY), faults=Faults(latency=0.15))
    await run(fake, 30)
    snap = fake.stats.snapshot()
    assert snap["max_in_flight_by_pool"]["polite-single"] == 2
    assert snap["total_429"] == 0


@on_mock_clock
async def test_a_mid_run_limit_drop_is_followed_within_one_interval() -> None:
    lower = Pool(rate=5, interval=0.5, concurrency=2, name="polite-single")
    limits = Limits(single=SINGLE, list=ARRAY, changes=(Change(after_requests=30, single=lower),))
    fake = simulator(works=200, limits=limits, faults=Faults(latency=0.01))
    cr = await run(fake, 70)
    log = [r for r in fake.stats.log if r.pool == "polite-single"]
    change_at = log[30].started
    late_429 = [r for r in log if r.status == 429 and r.started > change_at + lower.interval]
    assert late_429 == []
    after = [r.started for r in log if r.started > change_at + lower.interval and r.status != 429]
    assert max_in_window(after, lower.interval) <= lower.rate
    assert cr.stats()["polite-single"].advertised_rate == 5


@on_mock_clock
async def test_retry_after_is_honoured() -> None:
    limits = Limits(single=SINGLE, list=ARRAY, retry_after=1.0)
    fake = simulator(works=50, limits=limits, faults=Faults(spurious_429_rate=0.2, seed=3))
    cr = await run(fake, 20, retry=RetryPolicy(attempts=5, backoff=0.01))
    log = [r for r in fake.stats.log if r.pool == "polite-single"]
    rejected = [i for i, r in enumerate(log) if r.status == 429]
    assert rejected, "the seed gives some spurious 429s"
    for i in rejected:
        later = [r.started for r in log[i + 1 :] if r.started > log[i].started]
        if later:
            # Requests already in flight may land in the pause; new ones wait it out.
            waited = [t - log[i].started for t in later]
            assert max(waited) >= 0.95
    assert cr.stats()["polite-single"].rate_limited == len(rejected)


@on_mock_clock
async def test_the_breaker_stops_sending_at_the_threshold() -> None:
    fake = simulator(
        works=50, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(error_rate=0.5, seed=2)
    )
    breaker = Breaker(threshold=0.10, window=50, min_requests=10)
    async with connect(fake, retry=RetryPolicy.off(), pacing=Pacing(breaker=breaker)) as cr:
        outcomes: list[str] = []
        for i in range(40):
            try:
                await cr.work(str(fake.corpus.works[i]["DOI"]))
                outcomes.append("ok")
            except ServerError:
                outcomes.append("5xx")
            except CircuitOpenError:
                outcomes.append("open")
    assert "open" in outcomes
    first_open = outcomes.index("open")
    # It opened right after the first request at which the failures seen so far put the rate
    # at 10% or more with 99% confidence (and no sooner than 10 requests).
    failures = [sum(o == "5xx" for o in outcomes[:n]) for n in range(1, first_open + 1)]
    crossed = [
        n >= 10 and lower_bound(failures[n - 1], n, breaker.z) >= 0.10
        for n in range(1, first_open + 1)
    ]
    assert crossed[-1] and not any(crossed[:-1])
    assert set(outcomes[first_open:]) == {"open"}
    assert fake.stats.total_requests == first_open  # nothing was sent while it was open


@on_mock_clock
async def test_retries_stop_at_their_caps() -> None:
    fake = simulator(
        works=50, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(error_rate=1.0)
    )
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)
    async with connect(fake, retry=policy, pacing=Pacing(breaker=Breaker(enabled=False))) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/12345678")
        assert fake.stats.total_requests == 3
        assert cr.stats()["polite-single"].retries == 2


async def test_every_request_reports_when_its_headers_went_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Over a real socket httpcore reports when a request's headers are written; the governor
    # moves the request's start there (a handshake, a busy loop). Without that wiring the
    # start would stay where the governor let the request go.
    from crossref_async._governor import PoolBudget

    reported: list[list[float]] = []
    original = PoolBudget.sent

    def sent(self: PoolBudget, entry: list[float]) -> None:
        reported.append(list(entry))
        original(self, entry)
        assert entry[1] == 0.0  # no longer waiting to go out

    monkeypatch.setattr(PoolBudget, "sent", sent)
    fake = FakeCrossref(works=30, limits="fast-50")
    await run(fake, 6, socket=True)
    await run(fake, 4, lists=True, socket=True)
    assert len(reported) == 10
    assert all(pending == 1.0 for _, pending in reported)  # each reported once, before
