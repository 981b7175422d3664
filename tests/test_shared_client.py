"""Clients sharing one budget through Redis (``Crossref(budget=...)``): against a real
redis-server (tests/_redis.py) and one simulator that enforces its limits, several clients of
one identity together stay within them, where independent ones do not.

Time here is real (Redis's clock is the server's own), kept short: a fast pool.
"""

from __future__ import annotations

import contextlib
import itertools
import logging

import anyio
import pytest
import redis.asyncio
from _redis import RedisServer, free_port, redis_instance, redis_url, served_before
from conftest import MAILTO

from crossref_async import (
    Breaker,
    BudgetUnavailableError,
    CircuitOpenError,
    Crossref,
    Pacing,
    RetryPolicy,
    ServerError,
    SharedBudget,
    ValidationError,
)
from crossref_async._shared import Rating, identity_for
from crossref_async.testing import FakeCrossref, Faults, serve
from crossref_async.testing._limits import Limits, Pool

__all__ = ["redis_instance", "redis_url"]  # the fixtures, used by name

RATE, CONCURRENCY = 20, 2
K, CALLS = 3, 8  # clients, and page requests each (4 at once per client)


def simulator(
    rate: int = RATE, concurrency: int = CONCURRENCY, latency: float = 0.2
) -> FakeCrossref:
    pools = Limits(
        single=Pool(rate=rate, concurrency=concurrency, name="polite-single"),
        list=Pool(rate=rate, concurrency=concurrency, name="polite-array"),
    )
    # By default each answer takes 0.2 s: at 20 starts a second, 4 would be in flight
    # without leases, so the concurrency limit is what binds.
    return FakeCrossref(works=200, seed=3, limits=pools, faults=Faults(latency=latency))


def shared(url: str) -> SharedBudget:
    # A fresh server for this test, so nothing can have been forgotten: no cold start.
    return SharedBudget(url, identity=identity_for(MAILTO), lease_ttl=2.0, cold_start=False)


async def load(fake: FakeCrossref, budgets: list[SharedBudget | None], calls: int = CALLS) -> None:
    """K clients at once, each making ``calls`` list requests, four at a time."""

    async def client_load(budget: SharedBudget | None) -> None:
        async with (
            Crossref(mailto=MAILTO, transport=fake.transport(), budget=budget) as cr,
            budget or contextlib.nullcontext(),  # given, so not the client's to close
        ):
            limiter = anyio.Semaphore(4)

            async def one(i: int) -> None:
                async with limiter:
                    await cr.works.page(rows=2, offset=i)

            async with anyio.create_task_group() as tg:
                for i in range(calls):
                    tg.start_soon(one, i)

    async with anyio.create_task_group() as tg:
        for budget in budgets:
            tg.start_soon(client_load, budget)


async def test_independent_clients_of_one_identity_overrun_it() -> None:
    # What the shared budget is for (and proof that the check below can fail): each client
    # alone spends the whole budget, so together they go past the concurrency limit.
    fake = simulator()
    await load(fake, [None] * K, calls=2)  # the first requests already show it
    over = fake.stats.max_in_flight["list"] > CONCURRENCY or fake.stats.total_429 > 0
    assert over


async def test_clients_sharing_a_budget_stay_within_it(redis_url: str) -> None:
    fake = simulator()
    budgets: list[SharedBudget | None] = [shared(redis_url) for _ in range(K)]
    await load(fake, budgets)
    assert fake.stats.requests["list"] == K * CALLS
    assert fake.stats.total_429 == 0
    assert fake.stats.max_in_flight["list"] <= CONCURRENCY


async def test_clients_sharing_a_budget_keep_to_its_rate(redis_url: str) -> None:
    # Answers at once and room for 10 in flight: the rate (8 a second) is what binds. Each
    # client alone would start 8 a second, three together 24.
    fake = simulator(rate=8, concurrency=10, latency=0.0)
    budgets: list[SharedBudget | None] = [shared(redis_url) for _ in range(K)]
    await load(fake, budgets)
    assert fake.stats.requests["list"] == K * CALLS
    assert fake.stats.total_429 == 0


async def test_the_environment_variable_turns_it_on(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSREF_BUDGET", redis_url)
    served_before(redis_url, identity_for(MAILTO))
    fake = simulator()
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        assert cr.session.sharing is not None
        await cr.works.page(rows=1)
    server = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    keys = [key async for key in server.scan_iter("*")]
    await server.aclose()
    assert keys and all(identity_for(MAILTO) in key for key in keys)
    assert not any(MAILTO in key for key in keys)


async def test_unreachable_at_start_names_the_url_without_its_password() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    fake = simulator()
    with pytest.raises(BudgetUnavailableError) as info:
        async with Crossref(mailto=MAILTO, transport=fake.transport(), budget=url):
            pass
    assert f"127.0.0.1:{url.rsplit(':', 1)[1]}" in str(info.value)
    assert "s3cret" not in str(info.value) and ":***@" in str(info.value)
    assert fake.stats.total_requests == 0


def test_bad_budgets_are_refused_before_any_request() -> None:
    with pytest.raises(ValidationError, match="redis://"):
        Crossref(mailto=MAILTO, budget="http://:pw@example.org")
    with pytest.raises(ValidationError) as info:
        Crossref(mailto=MAILTO, budget="http://:pw@example.org")
    assert "pw" not in str(info.value)
    with pytest.raises(ValidationError, match=r"Pacing\.off"):
        Crossref(mailto=MAILTO, budget="redis://127.0.0.1:1/0", pacing=Pacing.off())


def test_a_shared_budget_is_refused_under_trio(redis_url: str) -> None:
    async def main() -> None:
        fake = simulator()
        cr = Crossref(mailto=MAILTO, transport=fake.transport(), budget=redis_url)
        with pytest.raises(ValidationError, match="asyncio"):
            await cr.works.page(rows=1)
        assert fake.stats.total_requests == 0
        await cr.aclose()

    anyio.run(main, backend="trio")


async def test_redis_lost_mid_run_pauses_the_client_until_it_returns(
    redis_instance: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    fake = simulator()
    async with (
        shared(redis_instance.url) as budget,
        Crossref(mailto=MAILTO, transport=fake.transport(), budget=budget) as cr,
    ):
        await cr.works.page(rows=1)
        redis_instance.stop()
        async with anyio.create_task_group() as tg:
            done = anyio.Event()

            async def call() -> None:
                await cr.works.page(rows=1)
                done.set()

            tg.start_soon(call)
            # The request waits while Redis is away: it is not sent alone.
            with anyio.move_on_after(0.5):
                await done.wait()
            assert not done.is_set() and fake.stats.requests["list"] == 1
            await anyio.to_thread.run_sync(redis_instance.start)
            with anyio.fail_after(15):
                await done.wait()
    assert fake.stats.requests["list"] == 2
    assert any(
        "unavailable" in r.getMessage() and "never spending" in r.getMessage()
        for r in caplog.records
    )


async def test_an_open_circuit_in_one_process_holds_them_all(redis_url: str) -> None:
    # One client's server fails (its breaker opens after one failure); a second client of the
    # same identity, whose own server is healthy, sends nothing while that circuit is open.
    failing = FakeCrossref(works=20, limits="unmetered", faults=Faults(error_rate=1.0))
    healthy = simulator()
    tripping = Pacing(breaker=Breaker(consecutive=1, cooldown=30.0))
    async with (
        shared(redis_url) as first,
        shared(redis_url) as second,
        Crossref(
            mailto=MAILTO,
            transport=failing.transport(),
            retry=RetryPolicy.off(),
            pacing=tripping,
            budget=first,
        ) as a,
        Crossref(
            mailto=MAILTO, transport=healthy.transport(), retry=RetryPolicy.off(), budget=second
        ) as b,
    ):
        with pytest.raises(ServerError):
            await a.works.page(rows=1)
        assert a.governor is not None and a.governor.breaker.tripped
        with pytest.raises(CircuitOpenError, match="another process") as info:
            await b.works.page(rows=1)
        # The cool-down is 30 s, give or take its 10% jitter.
        assert info.value.retry_in is not None and 25 < info.value.retry_in <= 33.1
        assert healthy.stats.total_requests == 0
        # Closed again (the probe succeeded): the others send again.
        a.governor.breaker.reset()
        await first.close_breaker("breaker")
        await b.works.page(rows=1)
    assert healthy.stats.requests["list"] == 1


async def test_after_a_shared_cool_down_one_probe_goes_and_the_rest_wait_for_it(
    redis_url: str,
) -> None:
    # Another process's circuit opened; its cool-down is over. Of K clients asking at once,
    # one sends the probe and the others wait for its outcome (here good: then they all go).
    healthy = simulator()
    budgets = [shared(redis_url) for _ in range(K)]
    await budgets[0].open_breaker("breaker", 0.2)
    # The budget as another process learnt it (2 at once), so the window alone would let
    # two go together.
    await budgets[0].set_rating("list", Rating(RATE, 1.0, CONCURRENCY, RATE, CONCURRENCY))
    patient = RetryPolicy(attempts=2, max_time=10.0)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                Crossref(mailto=MAILTO, transport=healthy.transport(), retry=patient, budget=budget)
            )
            for budget in budgets
        ]
        for budget in budgets:
            await stack.enter_async_context(budget)
        async with anyio.create_task_group() as tg:
            for cr in clients:
                tg.start_soon(cr.works.page)
        state = await budgets[0].snapshot("breaker")
    assert state.breaker == "closed"
    assert healthy.stats.requests["list"] == K
    # The probe alone first (0.2 s to answer), then the others together.
    starts = sorted(record.started for record in healthy.stats.log if record.kind == "list")
    assert starts[1] - starts[0] >= 0.2


async def test_what_one_process_learnt_of_the_budget_holds_the_others(redis_url: str) -> None:
    # Another process's answers cut the rate to 4 a second (a 429, say) and the window to
    # one: a client whose own server would take 20 a second keeps to what was learnt.
    fake = simulator(latency=0.0)
    async with shared(redis_url) as budget:
        await budget.set_rating("list", Rating(RATE, 1.0, CONCURRENCY, 4.0, 1))
        async with (
            Crossref(mailto=MAILTO, transport=fake.transport(), budget=budget) as cr,
            anyio.create_task_group() as tg,
        ):
            for _ in range(5):
                tg.start_soon(cr.works.page)
    starts = sorted(record.started for record in fake.stats.log if record.kind == "list")
    assert len(starts) == 5
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.24  # 4 a second, spaced


async def test_over_a_socket_each_start_moves_to_when_its_request_went_out(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpcore tells when a request's headers are written; the shared log's start moves
    # there (after a connection's handshake, say), as the in-process log's does.
    moved: list[str] = []
    fake = simulator(latency=0.0)
    async with shared(redis_url) as budget, serve(fake) as url:
        original = budget.sent

        async def spy(pool: str, start_id: str, *, slack: float = 0.0) -> bool:
            moved.append(start_id)
            return await original(pool, start_id, slack=slack)

        monkeypatch.setattr(budget, "sent", spy)
        async with Crossref(mailto=MAILTO, base_url=url, budget=budget) as cr:
            for _ in range(3):
                await cr.works.page(rows=1)
    assert len(moved) == 3 and len(set(moved)) == 3 and all(moved)


def test_the_client_checks_a_budget_url_as_the_cli_does() -> None:
    # One rule for both (_shared.url_problem): a database that is not a number would quietly
    # be database 0, sharing another budget.
    with pytest.raises(ValidationError, match="the database is not a number") as info:
        Crossref(mailto=MAILTO, budget="redis://:s3cret@127.0.0.1:6379/zero")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValidationError, match="no host"):
        Crossref(mailto=MAILTO, budget="redis:///0")
