"""The circuit breaker: decided on a sound sample, pausing, probing and closing again.

The state machine runs on a fake clock; the governor's waiting, the clients and the harvests
run under trio on a mock clock (:func:`on_mock_clock`), the simulator in process on the same
clock, so cool-downs take no real time (nothing here sleeps to let time pass)."""

from __future__ import annotations

import random

import anyio
import pytest
from _mock_clock import on_mock_clock

from crossref_async import (
    Breaker,
    CircuitOpenError,
    Crossref,
    Pacing,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from crossref_async._breaker import CircuitBreaker, CircuitState, lower_bound
from crossref_async._governor import Governor
from crossref_async.testing import FakeCrossref, Faults

MAILTO = "tests@example.org"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def trips(rate: float, requests: int, seed: int, settings: Breaker | None = None) -> int:
    """How often a breaker opens over independent failures at ``rate`` (closing it again at
    once each time, as a successful probe would)."""
    clock = Clock()
    breaker = CircuitBreaker(settings or Breaker(), clock=clock, rng=random.Random(0))
    rng = random.Random(seed)
    opened = 0
    for _ in range(requests):
        clock.now += 0.01  # 100 requests a second: the sample is bounded by its size
        breaker.record(rng.random() < rate)
        if breaker.tripped:
            opened += 1
            breaker.reset()
    return opened


def first_trip(rate: float, seed: int) -> int | None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    rng = random.Random(seed)
    for i in range(20_000):
        clock.now += 0.01
        breaker.record(rng.random() < rate)
        if breaker.tripped:
            return i + 1
    return None


def test_8_percent_noise_does_not_open_it() -> None:
    # 600,000 requests failing independently at 8%: about a week of a harvest at one request
    # a second. The 99% bound over 500 requests almost never crosses 10% at 8%.
    assert sum(trips(0.08, 200_000, seed) for seed in range(3)) <= 1
    assert sum(trips(0.05, 200_000, seed) for seed in range(3)) == 0


def test_sustained_rates_of_10_percent_and_more_open_it() -> None:
    medians = {}
    for rate in (0.12, 0.15, 0.20, 0.30):
        found = sorted(t or 20_001 for t in (first_trip(rate, seed) for seed in range(7)))
        medians[rate] = found[3]
    assert medians[0.12] < 2_000 and medians[0.15] < 400 and medians[0.20] < 100
    assert medians[0.30] < 40
    assert first_trip(0.10, 1) is not None  # at exactly 10% it opens too, in time
    assert first_trip(1.0, 0) == 8  # a dead server: eight in a row


def test_the_blip_that_killed_long_lived_clients_no_longer_opens_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    for i in range(2000):
        clock.now += 1.0
        breaker.record(i in (3, 11))  # two 503s among the first 20, healed by retries
        assert not breaker.tripped


def test_open_then_probe_then_closed() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Breaker(cooldown=5, max_cooldown=30), clock=clock)
    for _ in range(8):
        breaker.record(True)
    assert breaker.state is CircuitState.OPEN and breaker.openings == 1
    assert "8 requests in a row failed" in breaker.reason
    waits = []
    for _ in range(4):  # every failed probe doubles the cool-down, up to the cap
        admission = breaker.admit()
        assert not admission.go and admission.wait is not None
        waits.append(admission.wait)
        clock.now += admission.wait
        probe = breaker.admit()
        assert probe.go and probe.probe
        assert breaker.admit() == breaker.admit() and not breaker.admit().go  # one probe only
        breaker.record(True, probe=True)
    for wait, expected in zip(waits, [5, 10, 20, 30], strict=True):  # +-10% jitter
        assert 0.9 * expected <= wait <= 1.1 * expected
    assert "3 probes failed since" in breaker.reason or "4 probes failed since" in breaker.reason
    clock.now += breaker.admit().wait or 0
    assert breaker.admit().probe
    breaker.record(False, probe=True)
    assert (breaker.state, breaker.sample) == (CircuitState.CLOSED, 0)
    # Opening again soon after closing (a flapping server) waits longer still...
    for _ in range(8):
        breaker.record(True)
    assert (breaker.admit().wait or 0) > 25
    clock.now += breaker.admit().wait or 0
    assert breaker.admit().probe
    breaker.record(False, probe=True)
    # ...but after a quiet max_age it starts over with the first cool-down.
    clock.now += 301
    for _ in range(8):
        breaker.record(True)
    assert 4.5 <= (breaker.admit().wait or 0) <= 5.5


def test_a_cancelled_probe_lets_the_next_request_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Breaker(consecutive=2), clock=clock)
    breaker.record(True)
    breaker.record(True)
    clock.now += 10
    assert breaker.admit().probe
    assert breaker.admit().wait is None
    breaker.abandon_probe()
    assert breaker.admit().probe


def test_old_outcomes_leave_the_sample() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Breaker(max_age=60), clock=clock)
    for _ in range(7):
        breaker.record(True)
    clock.now += 61
    breaker.record(True)  # the seven before are too old to count: one in a row, not eight
    assert not breaker.tripped and breaker.sample == 1


def test_settings_are_values_and_state_is_per_client() -> None:
    shared = Breaker(consecutive=2)
    clock = Clock()
    a = Governor("polite", breaker=shared, clock=clock)
    b = Governor("polite", breaker=shared, clock=clock)
    a.breaker.record(True)
    a.breaker.record(True)
    assert a.breaker.tripped and not b.breaker.tripped
    with pytest.raises(ValidationError, match="threshold"):
        Breaker(threshold=0)
    with pytest.raises(ValidationError, match="window"):
        Breaker(window=0)
    assert round(lower_bound(5, 10, Breaker().z), 3) == 0.204


def test_disabled_never_opens() -> None:
    breaker = CircuitBreaker(Breaker(enabled=False), clock=Clock())
    for _ in range(100):
        breaker.record(True)
    assert not breaker.tripped and breaker.admit().go and breaker.failure_rate == 1.0


@on_mock_clock
async def test_the_governor_waits_out_the_cool_down_and_probes() -> None:
    gov = Governor("polite", breaker=Breaker(consecutive=3, cooldown=0.02))
    for _ in range(3):
        ticket = await gov.acquire("single")
        gov.release("single", ticket, status=503, latency=0.0, headers=None)
    assert gov.paused() is not None
    probe = await gov.acquire("single", wait_limit=5.0)  # waits the cool-down, then goes
    assert probe.probe
    others: list[bool] = []

    async def other() -> None:
        ticket = await gov.acquire("single", wait_limit=5.0)
        others.append(ticket.probe)
        gov.release("single", ticket, status=200, latency=0.0, headers=None)

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.wait_all_tasks_blocked()
        assert others == []  # waiting for the probe's outcome
        gov.release("single", probe, status=200, latency=0.0, headers=None)
    assert others == [False] and not gov.breaker.tripped and gov.paused() is None


@on_mock_clock
async def test_a_failed_probe_reopens_and_a_short_wait_is_refused() -> None:
    gov = Governor("polite", breaker=Breaker(consecutive=1, cooldown=0.02))
    ticket = await gov.acquire("single")
    gov.release("single", ticket, status=None, latency=0.0, headers=None)
    probe = await gov.acquire("single", wait_limit=5.0)
    gov.release("single", probe, status=503, latency=0.0, headers=None)
    assert gov.breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as info:
        await gov.acquire("single", wait_limit=0.001)
    assert info.value.retry_in is not None and info.value.retry_in > 0.001
    assert "finished work is kept" in str(info.value)


@on_mock_clock
async def test_a_cancelled_probe_does_not_wedge_the_circuit() -> None:
    gov = Governor("polite", breaker=Breaker(consecutive=1, cooldown=0.01))
    ticket = await gov.acquire("single")
    gov.release("single", ticket, status=503, latency=0.0, headers=None)
    probe = await gov.acquire("single", wait_limit=5.0)
    gov.release("single", probe, status=None, latency=0.0, headers=None, cancelled=True)
    again = await gov.acquire("single", wait_limit=5.0)
    assert again.probe


@on_mock_clock
async def test_a_client_rides_out_a_short_outage_and_recovers_for_good() -> None:
    fake = FakeCrossref(works=50, limits="unmetered", clock=anyio.current_time)
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001, max_time=0.5)
    breaker = Breaker(consecutive=4, cooldown=0.02, max_cooldown=0.2)
    failed: list[str] = []
    async with Crossref(
        mailto=MAILTO, transport=fake.transport(), retry=policy, pacing=Pacing(breaker=breaker)
    ) as cr:
        for _ in range(10):
            await cr.work("10.5555/12345678")
        fake.set_faults(Faults(error_rate=1.0))  # down...
        for _ in range(4):
            with pytest.raises((ServerError, CircuitOpenError)) as info:
                await cr.work("10.5555/12345678")
            failed.append(type(info.value).__name__)
        assert cr.governor is not None and cr.governor.breaker.tripped
        fake.set_faults(Faults())  # ...and back: the next call waits for the probe, and goes
        sent = fake.stats.total_requests
        await cr.work("10.5555/12345678")
        assert not cr.governor.breaker.tripped
        for _ in range(40):
            await cr.work("10.5555/12345678")  # closed for good: the client did not die
        assert fake.stats.total_requests - sent == 41
    assert failed[0] == "ServerError"


@on_mock_clock
async def test_a_harvest_rides_out_an_outage(tmp_path: object) -> None:
    from pathlib import Path

    from crossref_async.harvest import Progress, harvest

    out = Path(str(tmp_path)) / "works.jsonl"
    fake = FakeCrossref(works=600, seed=3, limits="unmetered", clock=anyio.current_time)
    pauses: list[str] = []
    paused = anyio.Event()

    def progress(p: Progress) -> None:
        if p.paused:
            pauses.append(p.paused)
            paused.set()
        if p.pages == 2:
            fake.set_faults(Faults(error_rate=1.0))  # the server goes down mid-harvest

    async def bring_back() -> None:
        await paused.wait()
        fake.set_faults(Faults())

    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001, max_time=0.05)
    async with (
        Crossref(
            mailto=MAILTO,
            transport=fake.transport(),
            retry=policy,
            pacing=Pacing(breaker=Breaker(consecutive=4, cooldown=0.05)),
        ) as cr,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(bring_back)
        report = await harvest(cr, cr.works, out=out, rows=50, concurrency=1, on_progress=progress)
    assert pauses and "circuit open" in pauses[0]
    assert report.records == 600 and report.verified


@pytest.mark.parametrize("answer", ["503", "maintenance"])
@on_mock_clock
async def test_a_harvest_stops_resumable_past_max_outage(tmp_path: object, answer: str) -> None:
    # On the mock clock: the harvest measures max_outage on the loop's clock, as the
    # governor and the retrier do, and the simulator's outage runs on it too.
    from pathlib import Path

    from crossref_async.harvest import harvest

    out = Path(str(tmp_path)) / "works.jsonl"
    down = Faults(outages=((0.0, 3600.0),), outage_answer=answer)
    fake = FakeCrossref(
        works=300, seed=4, limits="unmetered", faults=down, clock=anyio.current_time
    )
    policy = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.001, max_time=0.05)
    async with Crossref(
        mailto=MAILTO,
        transport=fake.transport(),
        retry=policy,
        pacing=Pacing(breaker=Breaker(consecutive=2, cooldown=0.01, max_cooldown=0.02)),
    ) as cr:
        the_plan = None
        from crossref_async.harvest import Plan, Shard

        the_plan = Plan("/works", (), (Shard(0, None, None, 300),), 300, "")
        with pytest.raises(CircuitOpenError, match="max_outage") as info:
            await harvest(cr, the_plan, out=out, max_outage=0.3)
    assert "resume" in str(info.value)
    # Bounded: probes at the cool-down's pace, not the full rate.
    assert fake.stats.total_requests < 60
    assert (Path(str(out) + ".harvest") / "plan.json").exists()
