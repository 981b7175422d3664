"""The governor in isolation: pacing, re-rating, 429 pauses, adaptive concurrency, breaker.

The timing tests run under trio on a mock clock (:func:`on_mock_clock`): the clock jumps
ahead whenever every task waits, so the governor's sleeps and the tests' own take no real
time, and every timing below is what the governor decided, not what a loaded machine did.
"""

from __future__ import annotations

import itertools
import math
from typing import ParamSpec

import anyio
import pytest
from _mock_clock import on_mock_clock
from _windows import max_in_window
from trio.testing import MockClock

from crossref_async import Breaker, CircuitOpenError
from crossref_async._governor import (
    Advertised,
    Governor,
    NoEventLoopError,
    PoolBudget,
    Ticket,
    loop_time,
    parse_interval,
)


def headers(
    limit: int, interval: str, concurrency: int, pool: str = "polite-array"
) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-interval": interval,
        "x-concurrency-limit": str(concurrency),
        "x-api-pool": pool,
    }


P = ParamSpec("P")


async def run_requests(
    budget: PoolBudget, n: int, latency: float = 0.0, answer: dict[str, str] | None = None
) -> list[float]:
    starts: list[float] = []

    async def one() -> None:
        await budget.acquire()
        starts.append(anyio.current_time())
        await anyio.sleep(latency)
        budget.release(status=200, latency=latency, headers=answer)

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return starts


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("60s", 60.0),
        ("500ms", 0.5),
        ("1", 1.0),
        ("2m", 120.0),
        (" 1S ", 1.0),
        ("x", None),
        ("0s", None),
    ],
)
def test_parse_interval(text: str, seconds: float | None) -> None:
    assert parse_interval(text) == seconds


def test_advertised_from_both_spellings() -> None:
    base = Advertised(1, 1.0, 1)
    new = Advertised.from_headers({"x-rate-limit-limit": "50", "x-rate-limit-interval": "1s"}, base)
    assert new == Advertised(50, 1.0, 1)
    old = Advertised.from_headers(
        {"x-ratelimit-limit": "3000", "x-ratelimit-interval": "60s"}, base
    )
    assert old == Advertised(3000, 60.0, 1)
    assert Advertised.from_headers({"x-rate-limit-limit": "junk"}, base) == base


@on_mock_clock
async def test_no_burst_above_the_limit_from_the_first_request() -> None:
    budget = PoolBudget("p", Advertised(10, 0.5, 100), anyio.current_time)
    budget.learned = True
    starts = await run_requests(budget, 30)
    assert max_in_window(starts, 0.5) <= 10
    # ...and the budget is used: 30 starts need about 1.5 s, not much more.
    assert starts[-1] - starts[0] < 0.5 * 3 * 1.1


@on_mock_clock
async def test_a_request_sent_late_moves_its_start() -> None:
    # The server counts a request when it arrives. Between the governor's start and the
    # headers going out there may be a handshake or a busy event loop: every third request
    # here goes out 0.15 s late (seven times the margin), and the first 0.6 s late (longer
    # than a window). What the server sees must still fit the budget in every window.
    budget = PoolBudget("p", Advertised(5, 0.5, 100), anyio.current_time)
    budget.learned = True
    arrivals: list[float] = []
    count = 0

    async def one() -> None:
        nonlocal count
        ticket = await budget.acquire()
        count += 1
        if count == 1:
            await anyio.sleep(0.6)
        elif count % 3 == 1:
            await anyio.sleep(0.15)
        ticket.sent()
        arrivals.append(anyio.current_time())
        budget.release(status=200, latency=0.0, headers=None, ticket=ticket)

    async with anyio.create_task_group() as tg:
        for _ in range(24):
            tg.start_soon(one)
    assert max_in_window(arrivals, 0.5) <= 5


@on_mock_clock
async def test_a_cut_rate_spaces_starts_wider_than_the_window() -> None:
    # One request per 0.2 s, halved after a 429: one per 0.4 s, although each start leaves
    # the 0.2 s window long before the next may go.
    budget = PoolBudget("p", Advertised(1, 0.2, 5), anyio.current_time)
    budget.learned = True
    budget.factor = 0.5
    budget._episode_until = math.inf  # no recovery during the test
    starts: list[float] = []
    for _ in range(3):
        ticket = await budget.acquire()
        starts.append(anyio.current_time())
        budget.release(status=200, latency=0.0, headers=None, ticket=ticket)
        await anyio.sleep(0.3)  # the next caller comes after the window, before the spacing
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.4


@on_mock_clock
async def test_unlearned_pool_sends_one_at_a_time() -> None:
    budget = PoolBudget("p", Advertised(100, 1.0, 5), anyio.current_time)
    seen: list[int] = []

    async def one() -> None:
        await budget.acquire()
        seen.append(budget.in_flight)
        await anyio.sleep(0.01)
        budget.release(status=200, latency=0.01, headers=headers(100, "1s", 5))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
    assert seen[0] == 1
    assert budget.learned
    assert max(seen) <= 5
    assert budget.max_in_flight <= 5


@on_mock_clock
async def test_concurrency_never_above_the_advertised_limit() -> None:
    budget = PoolBudget("p", Advertised(1000, 1.0, 3), anyio.current_time)
    budget.learned = True
    await run_requests(budget, 30, latency=0.02, answer=headers(1000, "1s", 3))
    assert budget.max_in_flight == 3


@on_mock_clock
async def test_rerate_down_mid_run_is_followed_within_one_interval() -> None:
    budget = PoolBudget("p", Advertised(20, 0.5, 50), anyio.current_time)
    budget.learned = True
    first = await run_requests(budget, 20, answer=headers(20, "500ms", 50))
    budget.in_flight += 1  # an answer states a lower limit
    budget.release(status=200, latency=0.0, headers=headers(5, "500ms", 50))
    second = await run_requests(budget, 10, answer=headers(5, "500ms", 50))
    assert budget.advertised == Advertised(5, 0.5, 50)
    # Once the drop is known, no window ending at a new start holds more than the new limit,
    # counting the starts made under the old one.
    everything = first + second
    worst = max(sum(t - 0.5 < s <= t for s in everything) for t in second)
    assert worst <= 5


@on_mock_clock
async def test_rerate_up_uses_the_new_budget() -> None:
    budget = PoolBudget("p", Advertised(2, 0.2, 10), anyio.current_time)
    budget.learned = True
    budget.in_flight += 1
    budget.release(status=200, latency=0.0, headers=headers(20, "200ms", 10))
    starts = await run_requests(budget, 40)
    assert max_in_window(starts, 0.2) <= 20
    assert starts[-1] - starts[0] < 0.2 * 2 * 1.2  # 40 at 20/0.2 s is about 0.4 s


@on_mock_clock
async def test_429_pauses_for_retry_after_and_cuts_rate_once_per_episode() -> None:
    budget = PoolBudget("p", Advertised(10, 0.5, 10), anyio.current_time)
    budget.learned = True
    await budget.acquire()
    budget.release(status=429, latency=0.0, headers=None, retry_after=0.3)
    rate_after_first = budget.rate
    for _ in range(3):  # the same episode: more 429s while paused
        budget.in_flight += 1
        budget.release(status=429, latency=0.0, headers=None, retry_after=0.3)
    assert budget.rate == rate_after_first == pytest.approx(10 * 0.5 / 0.5)
    paused_at = anyio.current_time()
    await budget.acquire()
    assert anyio.current_time() - paused_at >= 0.29
    assert budget.rate_limited == 4


@on_mock_clock
async def test_429_without_retry_after_backs_off_exponentially() -> None:
    budget = PoolBudget("p", Advertised(10, 0.1, 10), anyio.current_time)
    budget.learned = True
    now = anyio.current_time()
    budget.in_flight += 1
    budget.release(status=429, latency=0.0, headers=None)
    first = budget.paused_until - now
    budget.in_flight += 1
    budget.release(status=429, latency=0.0, headers=None)
    assert first == pytest.approx(0.1, abs=0.02)
    assert budget.paused_until - now == pytest.approx(0.2, abs=0.02)


@on_mock_clock
async def test_rate_recovers_after_a_quiet_interval() -> None:
    budget = PoolBudget("p", Advertised(10, 0.1, 10), anyio.current_time)
    budget.learned = True
    budget.in_flight += 1
    budget.release(status=429, latency=0.0, headers=None, retry_after=0.05)
    assert budget.factor == 0.5
    await anyio.sleep(0.35)
    await budget.acquire()
    assert budget.factor > 0.5


def test_latency_rise_shrinks_concurrency_and_health_grows_it_back() -> None:
    clock = [0.0]
    budget = PoolBudget("p", Advertised(100, 1.0, 8), lambda: clock[0])
    budget.learned = True
    for _ in range(20):
        budget.in_flight += 1
        clock[0] += 0.1
        budget.release(status=200, latency=0.1, headers=None)
    assert budget.concurrency == 8
    for _ in range(20):
        budget.in_flight += 1
        clock[0] += 1.0
        budget.release(status=200, latency=2.0, headers=None)
    shrunk = budget.concurrency
    assert shrunk < 8
    for _ in range(200):
        budget.in_flight += 1
        clock[0] += 0.1
        budget.release(status=200, latency=0.1, headers=None)
    assert shrunk < budget.concurrency <= 8


@on_mock_clock
async def test_governor_refuses_at_once_when_it_may_not_wait() -> None:
    gov = Governor("polite", breaker=Breaker(consecutive=5))
    for _ in range(5):
        ticket = await gov.acquire("single")
        gov.release("single", ticket, status=503, latency=0.0, headers=None)
    with pytest.raises(CircuitOpenError) as info:
        await gov.acquire("single")
    assert info.value.retry_in is not None and 4.0 < info.value.retry_in <= 5.5
    assert info.value.failure_rate == 1.0 and info.value.sample == 5


@on_mock_clock
async def test_identity_defaults_and_pool_adoption() -> None:
    # Since December 2025 the public pool allows 5 single-record requests a second and 1
    # list request a second, one at a time.
    public = Governor("public")
    assert public.pool("single").advertised == Advertised(5, 1.0, 1)
    assert public.pool("list").advertised == Advertised(1, 1.0, 1)
    assert set(public.stats()) == {"public-single", "public-array"}
    polite = Governor("polite")
    assert polite.pool("single").advertised == Advertised(10, 1.0, 3)
    assert polite.pool("list").advertised == Advertised(3, 1.0, 3)
    # The server says both kinds are in one pool: they end up sharing one budget.
    single, array = polite.pool("single"), polite.pool("list")
    single.in_flight += 1
    polite.release(
        "single",
        Ticket(single, [0.0, 1.0]),
        status=200,
        latency=0.0,
        headers=headers(5, "1s", 1, "public"),
    )
    array.in_flight += 1
    polite.release(
        "list",
        Ticket(array, [0.0, 1.0]),
        status=200,
        latency=0.0,
        headers=headers(5, "1s", 1, "public"),
    )
    assert polite.pool("single") is polite.pool("list")
    assert set(polite.stats()) == {"public"}


def test_default_budgets_match_the_2026_recordings() -> None:
    # Every 2026 response that names one of the default pools states the default budget, so
    # the first requests (before any header) never go faster than the server allows.
    from _corpus import recordings

    from crossref_async._governor import DEFAULTS

    defaults = {name: adv for kinds in DEFAULTS.values() for name, adv in kinds.values()}
    checked = set()
    for rec in recordings():
        stated = {k.lower(): v for k, v in rec.headers.items()}
        pool = stated.get("x-api-pool", "")
        if pool in defaults and stated.get("date", "").split()[3:4] == ["2026"]:
            assert Advertised.from_headers(stated, Advertised(1, 1.0, 1)) == defaults[pool]
            checked.add(pool)
    assert checked >= {"public-single", "polite-single", "polite-array"}


@on_mock_clock
async def test_the_governor_answers_for_its_pools() -> None:
    # What a harvest sizes its workers from, and where a client counts its retries, without
    # reaching into the pools.
    gov = Governor("polite")
    assert gov.concurrency("list") == 3
    ticket = await gov.acquire("list")
    gov.release("list", ticket, status=200, latency=0.0, headers=headers(6, "1s", 2))
    assert gov.concurrency("list") == 2 == gov.pool("list").concurrency
    gov.count_retry("list")
    gov.count_retry("list")
    assert gov.stats()["polite-array"].retries == 2
    assert gov.stats()["polite-single"].retries == 0


def test_nothing_reads_the_clock_before_the_first_request() -> None:
    # A client is made in sync code, before any event loop runs: the governor must not need
    # the loop's clock until it paces a request.
    def no_clock() -> float:
        raise AssertionError("the clock was read")

    gov = Governor("polite", breaker=Breaker(), clock=no_clock)
    assert gov.paused() is None
    assert gov.stats()["polite-single"].paused_for == 0.0
    assert gov.concurrency("single") == 3
    with pytest.raises(NoEventLoopError):
        loop_time()  # the default clock, outside any event loop


def test_a_governor_made_outside_a_loop_runs_on_the_loops_clock() -> None:
    gov = Governor("polite")  # no event loop yet

    async def use() -> None:
        # The mock clock starts near 0, far from time.monotonic(): a pause measured on one
        # clock and waited on the other would be off by hours.
        start = anyio.current_time()
        ticket = await gov.acquire("single")
        gov.release("single", ticket, status=429, latency=0.0, headers=None, retry_after=30.0)
        pause = gov.paused()
        assert pause is not None and pause.remaining == pytest.approx(30.0)
        ticket = await gov.acquire("single")  # waits the pause out, on the mock clock
        assert anyio.current_time() - start == pytest.approx(30.0, abs=0.1)

    anyio.run(use, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})
    # Out of the loop again: the snapshot still works (there is no pause without a loop).
    assert gov.stats()["polite-single"].paused_for == 0.0


@on_mock_clock
async def test_a_fresh_window_starts_at_once_and_the_next_waits_for_the_window() -> None:
    # 3 a second and 3 at once: a harvest's opening pages go together, not a third of a
    # second apart; the fourth start waits until the first has left the window.
    budget = PoolBudget("p", Advertised(3, 1.0, 3), anyio.current_time)
    budget.learned = True
    assert budget.start_offsets(4) == [0.0, 0.0, 0.0, 1.02]
    starts = await run_requests(budget, 6, latency=0.05, answer=headers(3, "1s", 3))
    assert starts[:3] == [starts[0]] * 3
    assert max_in_window(starts, 1.0) <= 3
    assert starts[3] - starts[0] >= 1.02


@on_mock_clock
@pytest.mark.parametrize(
    ("latency", "offsets"), [(0.3, [0.0, 0.72, 1.02]), (1.3, [0.0, 0.0, 1.22])]
)
async def test_a_pool_bounded_by_its_concurrency_counts_its_window_wider(
    latency: float, offsets: list[float]
) -> None:
    # 3 a second and 3 at once. Answers in 0.3 s: the rate bounds the pool, and the window
    # keeps its margin alone. Answers in 1.3 s: 3 at once allow only 2.3 a second, the
    # window caps bursts only, and it is counted 0.2 s wider (a server counts a request
    # when it reads it, which may be later than it was sent).
    budget = PoolBudget("p", Advertised(3, 1.0, 3), anyio.current_time)
    budget.learned = True
    await run_requests(budget, 1, latency=latency, answer=headers(3, "1s", 3))
    await budget.acquire()  # one start now, and the first one `latency` ago
    assert budget.start_offsets(3) == pytest.approx(offsets)


@on_mock_clock
async def test_start_offsets_see_the_window_already_used() -> None:
    budget = PoolBudget("p", Advertised(3, 1.0, 3), anyio.current_time)
    budget.learned = True
    await run_requests(budget, 1, latency=0.3, answer=headers(3, "1s", 3))
    # One start 0.3 s ago: two more now, the next when it leaves the window.
    assert budget.start_offsets(3) == pytest.approx([0.0, 0.0, 0.72])


@on_mock_clock
@pytest.mark.parametrize(("reported", "fourth"), [(True, 1.02), (False, 1.42)])
async def test_a_probe_reported_sent_keeps_its_start_and_one_not_moves_to_its_answer(
    reported: bool, fourth: float
) -> None:
    # The probe (the pool's first request, alone until answered) takes 0.4 s. When the
    # transport reported its send, that is when the server counted it; when not, it may
    # have arrived as late as its answer, and the window is counted from there.
    budget = PoolBudget("p", Advertised(3, 1.0, 3), anyio.current_time)
    probe = await budget.acquire()
    if reported:
        probe.sent()
    await anyio.sleep(0.4)
    budget.release(status=200, latency=0.4, headers=headers(3, "1s", 3), ticket=probe)
    assert budget.learned
    assert budget.start_offsets(3) == pytest.approx([0.0, 0.0, fourth - 0.4])


@on_mock_clock
async def test_a_probe_whose_answer_shortens_the_interval_is_counted_from_its_send() -> None:
    # The defaults say 5 per 0.5 s; the server says 5 per 0.2 s. The probe went out late (a
    # slow handshake): no window of 0.2 s at the server may see it and five more.
    budget = PoolBudget("p", Advertised(5, 0.5, 5), anyio.current_time)
    probe = await budget.acquire()
    await anyio.sleep(0.28)
    probe.sent()
    sent_at = anyio.current_time()
    await anyio.sleep(0.1)
    budget.release(status=200, latency=0.38, headers=headers(5, "0.2s", 5), ticket=probe)
    now = anyio.current_time()
    fifth = now + budget.start_offsets(5)[-1]
    assert fifth - sent_at >= 0.2
