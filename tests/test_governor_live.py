"""The governor against the simulator on a loopback socket, counted from the server's side.

Budgets are scaled down in time (per 0.5 s rather than per second) to keep the run short; the
assertions are about what the server saw, never about tight timings on this side.
"""

from __future__ import annotations

import time

import anyio
import pytest
from _windows import max_in_window

from crossref_async import Breaker, CircuitOpenError, Crossref, Pacing, RetryPolicy, ServerError
from crossref_async._breaker import lower_bound
from crossref_async.testing import Change, FakeCrossref, Faults, Limits, Pool, serve

MAILTO = "tests@example.org"
SINGLE = Pool(rate=20, interval=0.5, concurrency=3, name="polite-single")
ARRAY = Pool(rate=6, interval=0.5, concurrency=3, name="polite-array")
pytestmark = pytest.mark.slow


async def run(fake: FakeCrossref, calls: int, *, lists: bool = False, **kw: object) -> Crossref:
    async with serve(fake) as url, Crossref(mailto=MAILTO, base_url=url, **kw) as cr:  # type: ignore[arg-type]
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
async def test_steady_state_sits_on_the_budget_without_a_429(
    lists: bool, pool: Pool, calls: int
) -> None:
    fake = FakeCrossref(
        works=300, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(latency=0.01)
    )
    started = time.monotonic()
    cr = await run(fake, calls, lists=lists)
    elapsed = time.monotonic() - started
    snap = fake.stats.snapshot()
    assert snap["total_429"] == 0
    assert max_in_window(admitted(fake, pool.name), pool.interval) <= pool.rate
    assert snap["max_in_flight_by_pool"][pool.name] <= pool.concurrency
    # The budget is used: the run takes about calls / rate intervals, not much more.
    ideal = (calls - pool.rate) / pool.rate * pool.interval
    assert elapsed < ideal * 1.25 + 1.0
    stats = cr.stats()[pool.name]
    assert stats.advertised_rate == pool.rate and stats.interval == pool.interval


async def test_concurrency_never_above_the_advertised_limit_under_slow_answers() -> None:
    pool = Pool(rate=100, interval=0.5, concurrency=2, name="polite-single")
    fake = FakeCrossref(
        works=100, limits=Limits(single=pool, list=ARRAY), faults=Faults(latency=0.15)
    )
    await run(fake, 30)
    snap = fake.stats.snapshot()
    assert snap["max_in_flight_by_pool"]["polite-single"] == 2
    assert snap["total_429"] == 0


async def test_a_mid_run_limit_drop_is_followed_within_one_interval() -> None:
    lower = Pool(rate=5, interval=0.5, concurrency=2, name="polite-single")
    limits = Limits(single=SINGLE, list=ARRAY, changes=(Change(after_requests=30, single=lower),))
    fake = FakeCrossref(works=200, limits=limits, faults=Faults(latency=0.01))
    cr = await run(fake, 70)
    log = [r for r in fake.stats.log if r.pool == "polite-single"]
    change_at = log[30].started
    late_429 = [r for r in log if r.status == 429 and r.started > change_at + lower.interval]
    assert late_429 == []
    after = [r.started for r in log if r.started > change_at + lower.interval and r.status != 429]
    assert max_in_window(after, lower.interval) <= lower.rate
    assert cr.stats()["polite-single"].advertised_rate == 5


async def test_retry_after_is_honoured() -> None:
    limits = Limits(single=SINGLE, list=ARRAY, retry_after=1.0)
    fake = FakeCrossref(works=50, limits=limits, faults=Faults(spurious_429_rate=0.2, seed=3))
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


async def test_the_breaker_stops_sending_at_the_threshold() -> None:
    fake = FakeCrossref(
        works=50, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(error_rate=0.5, seed=2)
    )
    breaker = Breaker(threshold=0.10, window=50, min_requests=10)
    async with (
        serve(fake) as url,
        Crossref(
            mailto=MAILTO, base_url=url, retry=RetryPolicy.off(), pacing=Pacing(breaker=breaker)
        ) as cr,
    ):
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


async def test_retries_stop_at_their_caps() -> None:
    fake = FakeCrossref(
        works=50, limits=Limits(single=SINGLE, list=ARRAY), faults=Faults(error_rate=1.0)
    )
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)
    async with (
        serve(fake) as url,
        Crossref(
            mailto=MAILTO, base_url=url, retry=policy, pacing=Pacing(breaker=Breaker(enabled=False))
        ) as cr,
    ):
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
    await run(fake, 6)
    await run(fake, 4, lists=True)
    assert len(reported) == 10
    assert all(pending == 1.0 for _, pending in reported)  # each reported once, before
