"""The shared budget (crossref_async._shared) against a real redis-server (tests/_redis.py).

Each client here is its own :class:`SharedBudget` with its own connections, as separate
processes would be (and one test runs real subprocesses). The limits are small and the
intervals short so a test runs in well under a second; the clients sleep only the waits the
budget tells them to (and the lease test the lease's TTL). Every check reads the server's own
times: the start times the script recorded, the leases live on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from _redis import RedisServer, free_port, redis_instance, redis_server, redis_url
from _windows import max_in_window

from crossref_async._errors import CrossrefError
from crossref_async._shared import (
    BudgetUnavailableError,
    PoolState,
    Rating,
    SharedBudget,
    identity_for,
)

__all__ = ["redis_instance", "redis_url"]  # the fixtures, used by name

ROOT = Path(__file__).resolve().parent.parent
POOL = "polite-array"


class Budgets:
    """Connected budgets on one server, each with its own connections (as separate processes
    would have), all closed at the end of the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[SharedBudget] = []

    async def __call__(self, **kwargs: Any) -> SharedBudget:
        # The cold start has tests of its own; the others begin at once.
        kwargs.setdefault("cold_start", False)
        budget = SharedBudget(self.url, **kwargs)
        self.made.append(budget)
        await budget.connect()
        return budget

    async def some(self, k: int, **kwargs: Any) -> list[SharedBudget]:
        return [await self(**kwargs) for _ in range(k)]


@pytest.fixture
async def budgets(redis_url: str) -> AsyncIterator[Budgets]:
    """A :class:`Budgets` on a fresh server."""
    made = Budgets(redis_url)
    try:
        yield made
    finally:
        for budget in made.made:
            await budget.aclose()


async def take_starts(
    budget: SharedBudget, n: int, limit: int, interval: float, spacing: float | None = None
) -> list[int]:
    """``n`` starts in POOL, obeying every wait; their server times in microseconds."""
    got: list[int] = []
    while len(got) < n:
        wait, now, start_id = await budget.try_start(POOL, limit, interval, spacing=spacing)
        if wait == 0:
            assert start_id
            got.append(round(now * 1_000_000))
        else:
            assert start_id == ""
            await asyncio.sleep(wait)
    return got


# -- the rate ------------------------------------------------------------------------------------


async def test_k_clients_never_put_more_than_the_limit_in_any_window(
    budgets: Budgets,
) -> None:
    limit, interval = 5, 0.1
    clients = await budgets.some(4)
    # No spacing: the window log alone must hold the line, the first interval included.
    results = await asyncio.gather(*(take_starts(c, 10, limit, interval, 0.0) for c in clients))
    starts = [t for result in results for t in result]
    assert len(starts) == len(set(starts)) == 40
    assert max_in_window([float(t) for t in starts], round(interval * 1_000_000)) <= limit


async def test_the_first_interval_holds_exactly_the_limit(budgets: Budgets) -> None:
    limit, interval = 5, 60.0
    clients = await budgets.some(4)
    # All at once, three asks each, no spacing: the limit is spent at once, and no more.
    answers = await asyncio.gather(
        *(c.try_start(POOL, limit, interval, spacing=0.0) for c in clients for _ in range(3))
    )
    taken = sorted(a.now for a in answers if a.wait == 0)
    assert len(taken) == limit
    for answer in answers:
        if answer.wait:
            assert answer.wait == pytest.approx(taken[0] + interval - answer.now, abs=1e-5)


async def test_starts_are_spaced_by_the_emission_interval_across_clients(
    budgets: Budgets,
) -> None:
    limit, interval = 10, 0.2
    clients = await budgets.some(4)
    results = await asyncio.gather(*(take_starts(c, 5, limit, interval) for c in clients))
    starts = sorted(t for result in results for t in result)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= round(interval / limit * 1_000_000)
    assert max_in_window([float(t) for t in starts], round(interval * 1_000_000)) <= limit


async def test_lateness_within_the_slack_does_not_push_the_schedule_back(
    budgets: Budgets,
) -> None:
    budget = await budgets()
    limit, interval, slack = 4, 2.0, 0.2
    spacing = interval / limit
    first = await budget.try_start(POOL, limit, interval, slack=slack)
    assert first.wait == 0
    reference = first.now - slack  # the schedule's origin, lateness forgiven
    wait = (await budget.try_start(POOL, limit, interval, slack=slack)).wait
    # A late timer (lateness under the slack), then the start it was waiting for.
    await asyncio.sleep(wait + slack / 10)
    second = await budget.try_start(POOL, limit, interval, slack=slack)
    assert second.wait == 0
    assert second.now - first.now >= spacing - slack
    # The next start is due one spacing after the schedule, not after the late start.
    third = await budget.try_start(POOL, limit, interval, slack=slack)
    assert third.wait == pytest.approx(reference + 2 * spacing - third.now, abs=1e-5)


async def test_the_recorded_starts_are_the_server_log(budgets: Budgets) -> None:
    budget = await budgets()
    got = await take_starts(budget, 3, 3, 5.0, spacing=0.0)
    logged = [round(t * 1_000_000) for t in await budget.starts(POOL)]
    assert logged == got
    # A fourth start must wait for the first to leave the window (about 5 s from it).
    wait, now, _ = await budget.try_start(POOL, 3, 5.0, spacing=0.0)
    assert wait == pytest.approx(got[0] / 1e6 + 5.0 - now, abs=1e-5)


async def test_a_start_moved_to_its_sending_counts_from_then(
    budgets: Budgets,
) -> None:
    budget = await budgets()
    wait, first, start_id = await budget.try_start(POOL, 2, 60.0, spacing=0.0)
    assert wait == 0
    assert await budget.sent(POOL, start_id)
    (moved,) = await budget.starts(POOL)
    assert moved > first
    # The next start keeps its spacing (60 s / 2) from the moment the request went out.
    wait, now, _ = await budget.try_start(POOL, 2, 60.0)
    assert wait == pytest.approx(moved + 30.0 - now, abs=1e-5)
    assert not await budget.sent(POOL, "no-such-start")


async def reconnect(*budgets: SharedBudget) -> None:
    """One call on each budget after a server restart: the pooled connection either fails
    once (the server closed it) or was already seen closed and replaced by redis-py's pool;
    which one is a race with the server's FIN, so neither is asserted."""
    for budget in budgets:
        with contextlib.suppress(BudgetUnavailableError):
            await budget.snapshot(POOL)
    for budget in budgets:
        assert isinstance(await budget.snapshot(POOL), PoolState)


async def test_a_new_server_starts_cold(budgets: Budgets) -> None:
    budget = await budgets(cold_start=True, lease_ttl=0.3)
    # connect() marked the epoch: nothing starts within one interval of it, no new lease
    # within one TTL.
    start = await budget.try_start(POOL, 10, 30.0)
    assert 29.0 < start.wait <= 30.0
    assert start.id == ""
    lease, retry = await budget.acquire_lease(POOL, 3)
    assert lease is None
    assert 0 < retry <= 0.3


async def test_a_server_that_lost_its_data_starts_cold_and_holders_renew_first(
    budgets: Budgets, redis_instance: RedisServer
) -> None:
    ttl, interval = 0.3, 0.2
    budget = await budgets(cold_start=True, lease_ttl=ttl)
    other = await budgets(cold_start=True, lease_ttl=ttl)
    lease, retry = await budget.acquire_lease(POOL, 1)
    assert lease is None
    await asyncio.sleep(retry)  # the cold start's TTL, as the budget tells
    lease, _ = await budget.acquire_lease(POOL, 1)
    assert lease is not None
    assert (await budget.try_start(POOL, 5, interval)).wait == 0
    redis_instance.restart()  # back empty: the start and the lease are forgotten
    await reconnect(budget, other)
    start = await other.try_start(POOL, 5, interval)
    assert 0 < start.wait <= interval  # the log is empty, yet nothing starts
    taken, retry = await other.acquire_lease(POOL, 1)
    assert taken is None
    assert 0 < retry <= ttl
    # The holder of the lost lease takes its slot back first (renewing for longer than the
    # test, so the check below does not race the lease's own expiry).
    renewed = await budget.renew(dataclasses.replace(lease, ttl=30.0))
    assert renewed is not None
    await asyncio.sleep(retry)  # the cold start's TTL again
    taken, _ = await other.acquire_lease(POOL, 1)
    assert taken is None  # the window is full: the renewed lease holds it


async def test_a_shorter_window_or_ttl_never_makes_the_keys_vanish_early(
    budgets: Budgets,
) -> None:
    long = await budgets(lease_ttl=30.0)
    short = await budgets(lease_ttl=0.05)
    assert (await long.try_start(POOL, 10, 60.0, spacing=0.0)).wait == 0
    assert (await short.try_start(POOL, 10, 0.05, spacing=0.0)).wait == 0
    held, _ = await long.acquire_lease(POOL, 3)
    brief, _ = await short.acquire_lease(POOL, 3)
    assert held is not None
    assert brief is not None
    assert await short.release(brief)
    client: Any = long._client()
    for what, at_least in (("starts", 59_000), ("leases", 29_000), ("ended", 0)):
        assert await client.pttl(long.key(POOL, what)) > at_least, what


# -- the concurrency window ----------------------------------------------------------------------


async def hold_slots(
    budget: SharedBudget, n: int, limit: int, counter: list[int], peak: list[int]
) -> None:
    """Take ``n`` leases one after another, each held a moment, counting those in flight."""
    for _ in range(n):
        while True:
            lease, retry = await budget.acquire_lease(POOL, limit)
            if lease is not None:
                break
            # A release is announced on a channel; polling briefly is enough for a test.
            await asyncio.sleep(min(retry, 0.002))
        counter[0] += 1
        peak[0] = max(peak[0], counter[0])
        state = await budget.snapshot(POOL)
        assert state.in_flight <= limit
        await asyncio.sleep(0.003)
        counter[0] -= 1
        assert await budget.release(lease)


async def test_k_clients_never_hold_more_leases_than_the_limit(
    budgets: Budgets,
) -> None:
    limit = 3
    clients = await budgets.some(5)
    counter, peak = [0], [0]
    await asyncio.gather(*(hold_slots(c, 8, limit, counter, peak) for c in clients))
    assert 1 <= peak[0] <= limit
    assert (await clients[0].snapshot(POOL)).in_flight == 0


async def test_k_clients_asking_at_once_get_exactly_the_limit(budgets: Budgets) -> None:
    limit = 3
    clients = await budgets.some(5)
    answers = await asyncio.gather(*(c.acquire_lease(POOL, limit) for c in clients * 2))
    assert sum(1 for lease, _ in answers if lease is not None) == limit
    assert all(retry > 0 for lease, retry in answers if lease is None)
    assert (await clients[0].snapshot(POOL)).in_flight == limit


async def test_a_lease_not_renewed_comes_back_after_its_ttl(
    budgets: Budgets,
) -> None:
    ttl = 0.3
    live = await budgets(lease_ttl=30.0)  # renews: its lease outlives the test
    dead = await budgets(lease_ttl=ttl)  # never renews, as if killed
    other = await budgets(lease_ttl=ttl)
    kept, _ = await live.acquire_lease(POOL, 2)
    dropped, _ = await dead.acquire_lease(POOL, 2)
    assert kept is not None
    assert dropped is not None
    renewed = await live.renew(kept)
    assert renewed is not None
    assert renewed.expires >= kept.expires
    lease, retry = await other.acquire_lease(POOL, 2)
    assert lease is None
    assert 0 < retry <= ttl  # when the dead holder's lease runs out
    await asyncio.sleep(retry)  # the TTL: the one wait on real time this test makes
    back, _ = await other.acquire_lease(POOL, 2)
    assert back is not None  # the dead holder's slot
    again, _ = await other.acquire_lease(POOL, 2)
    assert again is None  # ...and only that one: the live lease still holds its slot
    # The expired lease cannot be renewed into a full window, nor released.
    assert await dead.renew(dropped) is None
    assert not await dead.release(dropped)
    assert await live.release(renewed)


async def test_a_lost_lease_is_taken_again_on_renewal_only_if_there_is_room(
    budgets: Budgets, redis_instance: RedisServer
) -> None:
    budget = await budgets()
    lease, _ = await budget.acquire_lease(POOL, 1)
    assert lease is not None
    redis_instance.restart()  # the server comes back empty: the lease is gone
    await reconnect(budget)
    renewed = await budget.renew(lease)
    assert renewed is not None  # room: the holder gets its slot back
    assert (await budget.snapshot(POOL)).in_flight == 1
    other, _ = await budget.acquire_lease(POOL, 1)
    assert other is None


async def test_renewing_all_leases_in_one_round_trip(budgets: Budgets) -> None:
    budget = await budgets()
    held = [(await budget.acquire_lease(pool, 2))[0] for pool in (POOL, POOL, "polite-single")]
    leases = [lease for lease in held if lease is not None]
    assert len(leases) == 3
    assert await budget.release(leases[1])
    renewed = await budget.renew_all(leases)
    assert renewed[0] is not None
    assert renewed[0].expires > leases[0].expires
    assert renewed[1] is None  # released meanwhile: its slot stays free
    assert renewed[2] is not None
    assert renewed[2].pool == "polite-single"
    third, _ = await budget.acquire_lease(POOL, 2)
    assert third is not None
    fourth, _ = await budget.acquire_lease(POOL, 2)
    assert fourth is None
    assert await budget.renew_all([]) == []


async def test_a_release_anywhere_wakes_a_waiter_at_once(budgets: Budgets) -> None:
    holder, waiter = await budgets.some(2)
    lease, _ = await holder.acquire_lease(POOL, 1)
    assert lease is not None
    async with waiter.releases(POOL) as released:
        taken, retry = await waiter.acquire_lease(POOL, 1)
        assert taken is None
        assert not await released.wait(0.01)  # nothing released yet
        assert await holder.release(lease)
        assert await released.wait(retry)  # long before the lease's 10 s TTL
        taken, _ = await waiter.acquire_lease(POOL, 1)
        assert taken is not None


# -- what the answers teach ----------------------------------------------------------------------


async def test_a_pause_holds_every_client_and_is_never_shortened(
    budgets: Budgets,
) -> None:
    a, b, c = await budgets.some(3)
    assert await a.pause(POOL, 30.0) == pytest.approx(30.0, abs=0.5)
    # A shorter pause from another client leaves the longer one in force.
    assert await b.pause(POOL, 1.0) == pytest.approx(30.0, abs=0.5)
    wait, _, start_id = await c.try_start(POOL, 100, 1.0)
    assert wait == pytest.approx(30.0, abs=0.5)
    assert start_id == ""
    state = await c.snapshot(POOL)
    assert state.paused_for == pytest.approx(30.0, abs=0.5)
    assert await c.starts(POOL) == []


async def test_the_last_rating_wins_and_every_client_reads_it(
    budgets: Budgets,
) -> None:
    a, b, c = await budgets.some(3)
    first = Rating(
        advertised_rate=3.0, interval=1.0, advertised_concurrency=3, rate=3.0, concurrency=3
    )
    second = Rating(
        advertised_rate=50.0, interval=1.0, advertised_concurrency=5, rate=25.0, concurrency=2
    )
    assert (await c.snapshot(POOL)).rating is None
    at_first = await a.set_rating(POOL, first)
    at_second = await b.set_rating(POOL, second)
    assert at_second >= at_first
    state = await c.snapshot(POOL)
    assert state.rating == second
    assert state.rated_at == pytest.approx(at_second, abs=1e-6)


async def test_one_clients_open_circuit_holds_all_and_one_probe_is_allowed(
    budgets: Budgets,
) -> None:
    a, b, c = await budgets.some(3)
    assert (await b.snapshot(POOL)).breaker == "closed"
    assert not await b.claim_probe(POOL, "b", 5.0)  # closed: no probe needed
    assert await a.open_breaker(POOL, 60.0) == pytest.approx(60.0, abs=0.5)
    for client in (a, b, c):
        state = await client.snapshot(POOL)
        assert state.breaker == "open"
        assert state.breaker_remaining == pytest.approx(60.0, abs=0.5)
        assert not await client.claim_probe(POOL, "x", 5.0)  # cooling down
    # A shorter cool-down from another client leaves the longer one in force.
    assert await b.open_breaker(POOL, 1.0) == pytest.approx(60.0, abs=0.5)
    await a.close_breaker(POOL)
    # Open with the cool-down over: exactly one client gets the probe.
    await a.open_breaker(POOL, 0.0)
    assert await b.claim_probe(POOL, "b", 5.0)
    assert not await c.claim_probe(POOL, "c", 5.0)
    assert (await a.snapshot(POOL)).breaker == "half-open"
    # A probe that fails opens the circuit for all again; one whose holder died lapses.
    await b.open_breaker(POOL, 0.0)
    assert await c.claim_probe(POOL, "c", 0.0)  # lapses at once
    assert await a.claim_probe(POOL, "a", 5.0)
    await a.close_breaker(POOL)
    for client in (a, b, c):
        assert (await client.snapshot(POOL)).breaker == "closed"


async def test_pools_and_identities_do_not_share(budgets: Budgets) -> None:
    mine = await budgets(identity=identity_for("a@example.org"))
    theirs = await budgets(identity=identity_for("b@example.org"))
    await mine.pause(POOL, 30.0)
    assert (await theirs.snapshot(POOL)).paused_for == 0
    assert (await mine.snapshot("polite-single")).paused_for == 0
    assert (await mine.snapshot(POOL)).paused_for > 0


# -- secrets -------------------------------------------------------------------------------------


async def test_the_plus_token_never_reaches_redis(redis_url: str) -> None:
    token = "plus-token-5f2b9c4e7d1a"
    mailto = "secret-person@example.org"
    budget = SharedBudget(redis_url, identity=identity_for(mailto, token), cold_start=False)
    async with budget:
        await take_starts(budget, 3, 10, 1.0)
        lease, _ = await budget.acquire_lease(POOL, 3)
        assert lease is not None
        await budget.renew(lease)
        await budget.set_rating(POOL, Rating(10.0, 1.0, 5, 10.0, 5))
        await budget.pause(POOL, 5.0)
        await budget.open_breaker(POOL, 5.0)
        await budget.claim_probe(POOL, "me", 1.0)
    # Read back raw bytes on a connection of its own, every key and every value.
    raw: Any = aioredis.Redis.from_url(redis_url)
    try:
        dumped: list[bytes] = []
        async for key in raw.scan_iter(match="*"):
            dumped.append(key)
            kind = await raw.type(key)
            if kind == b"zset":
                for member, score in await raw.zrange(key, 0, -1, withscores=True):
                    dumped += [member, repr(score).encode()]
            elif kind == b"hash":
                for field, value in (await raw.hgetall(key)).items():
                    dumped += [field, value]
            elif kind == b"string":
                dumped.append(await raw.get(key))
            else:
                pytest.fail(f"unexpected key type {kind!r} for {key!r}")
        keys = await raw.keys("*")
    finally:
        await raw.aclose()
    assert len(dumped) > 10
    assert keys
    assert all(key.startswith(b"crossref-async:{plus-") for key in keys)
    everything = b"\n".join(dumped)
    assert token.encode() not in everything
    assert mailto.encode() not in everything
    assert token not in repr(budget)


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    port = free_port()
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    budget = SharedBudget(url, timeout=1.0)
    with pytest.raises(BudgetUnavailableError) as caught:
        await budget.connect()
    error = caught.value
    assert isinstance(error, CrossrefError)
    assert f"redis://:***@127.0.0.1:{port}/0" in str(error)
    shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "hunter2" not in shown
    assert "hunter2" not in repr(error)
    assert "hunter2" not in repr(budget)
    assert error.__cause__ is None
    await budget.aclose()


async def test_a_wrong_password_is_the_same_clear_error() -> None:
    with redis_server(password="right-one") as server:
        url = f"redis://:wrong-one@127.0.0.1:{server.port}/0"
        budget = SharedBudget(url, timeout=1.0)
        with pytest.raises(BudgetUnavailableError) as caught:
            await budget.connect()
        assert "wrong-one" not in str(caught.value)
        assert "right-one" not in str(caught.value)
        await budget.aclose()
        async with SharedBudget(server.url) as good:
            assert (await good.snapshot(POOL)).in_flight == 0


async def test_no_password_for_a_server_that_wants_one_is_the_same_clear_error() -> None:
    with redis_server(password="right-one") as server:
        budget = SharedBudget(f"redis://127.0.0.1:{server.port}/0", timeout=1.0)
        with pytest.raises(BudgetUnavailableError, match="uthentication"):
            await budget.connect()
        await budget.aclose()


async def test_a_server_that_refuses_info_is_trusted() -> None:
    with redis_server(extra=["--rename-command", "INFO", ""]) as server:
        async with SharedBudget(server.url, cold_start=False) as budget:
            assert (await budget.try_start(POOL, 3, 1.0)).wait == 0


# -- Redis lost mid-run --------------------------------------------------------------------------


async def test_redis_lost_mid_run_raises_from_every_operation_and_work_resumes(
    budgets: Budgets, redis_instance: RedisServer
) -> None:
    budget = await budgets(timeout=1.0)
    assert (await budget.try_start(POOL, 10, 1.0))[0] == 0
    lease, _ = await budget.acquire_lease(POOL, 3)
    assert lease is not None
    redis_instance.stop()
    operations = [
        budget.try_start(POOL, 10, 1.0),
        budget.acquire_lease(POOL, 3),
        budget.renew(lease),
        budget.release(lease),
        budget.pause(POOL, 1.0),
        budget.snapshot(POOL),
        budget.open_breaker(POOL, 1.0),
        budget.close_breaker(POOL),
        budget.set_rating(POOL, Rating(3.0, 1.0, 3, 3.0, 3)),
    ]
    for operation in operations:
        with pytest.raises(BudgetUnavailableError, match=r"redis://127\.0\.0\.1"):
            await operation
    redis_instance.start()
    # The server came back empty: the scripts are loaded again (NOSCRIPT) and work goes on.
    assert (await budget.try_start(POOL, 10, 1.0))[0] == 0
    assert (await budget.acquire_lease(POOL, 3))[0] is not None


def test_a_url_that_is_not_redis_is_refused_without_its_password() -> None:
    with pytest.raises(ValueError, match="not a Redis URL") as caught:
        SharedBudget("http://:pw-123@host/0")
    assert "pw-123" not in str(caught.value)


# -- real processes ------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from crossref_async._shared import SharedBudget

    async def main(url, n, limit, interval, concurrency):
        async with SharedBudget(url, lease_ttl=5.0, cold_start=False) as budget:
            starts = []
            while len(starts) < n:
                lease, retry = await budget.acquire_lease("polite-array", concurrency)
                if lease is None:
                    await asyncio.sleep(min(retry, 0.002))
                    continue
                try:
                    while True:
                        wait, now, _ = await budget.try_start("polite-array", limit, interval)
                        if wait == 0:
                            break
                        await asyncio.sleep(wait)
                    starts.append(round(now * 1_000_000))
                    await asyncio.sleep(0.01)  # the request
                finally:
                    await budget.release(lease)
            print(json.dumps(starts))

    asyncio.run(main(sys.argv[1], *map(int, sys.argv[2:4]), float(sys.argv[4]), int(sys.argv[5])))
    """
)

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from crossref_async._shared import SharedBudget

    async def main(url):
        budget = SharedBudget(url, lease_ttl=0.3, cold_start=False)
        await budget.connect()
        lease, _ = await budget.acquire_lease("polite-array", 1)
        print("held" if lease else "refused", flush=True)
        await asyncio.sleep(3600)  # killed here, never releasing

    asyncio.run(main(sys.argv[1]))
    """
)


def _spawn(code: str, *args: object) -> subprocess.Popen[bytes]:
    """A Python process running ``code`` with ``args``, this checkout first on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, env=env)


async def test_real_processes_share_one_rate_and_one_window(redis_url: str) -> None:
    limit, interval, concurrency, k, n = 4, 0.2, 2, 3, 6
    workers = [_spawn(WORKER, redis_url, n, limit, interval, concurrency) for _ in range(k)]
    peak = 0
    try:
        async with SharedBudget(redis_url) as watcher:
            while any(w.poll() is None for w in workers):
                peak = max(peak, (await watcher.snapshot(POOL)).in_flight)
                await asyncio.sleep(0.002)
        outputs = [w.communicate(timeout=30)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert [w.returncode for w in workers] == [0] * k
    starts = [t for out in outputs for t in json.loads(out)]
    assert len(starts) == k * n
    assert max_in_window([float(t) for t in starts], round(interval * 1_000_000)) <= limit
    assert 1 <= peak <= concurrency


async def test_a_killed_processs_slot_comes_back_within_the_ttl(redis_url: str) -> None:
    holder = _spawn(HOLDER, redis_url)
    try:
        assert holder.stdout is not None
        line = await asyncio.to_thread(holder.stdout.readline)
        assert line.strip() == b"held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        async with SharedBudget(redis_url, lease_ttl=0.3, cold_start=False) as budget:
            lease, retry = await budget.acquire_lease(POOL, 1)
            assert lease is None
            assert 0 < retry <= 0.3
            await asyncio.sleep(retry)  # the TTL, as the budget tells
            lease, _ = await budget.acquire_lease(POOL, 1)
            assert lease is not None
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
