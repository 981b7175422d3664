"""The test switch (``set_testing``): at most ``attempts`` tries, no waiting, and off again
restores each client's own retry policy. Waits are observed through the retrier's sleep
hook and tries counted on the simulator, never timed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import MAILTO

import crossref_async
import crossref_async.testing
from crossref_async import (
    Crossref,
    NotFoundError,
    RetryPolicy,
    ServerError,
    ValidationError,
    is_testing,
    set_testing,
)
from crossref_async._responses import error_for
from crossref_async._retry import Outcome, Retrier
from crossref_async._switch import testing_attempts
from crossref_async.testing import FakeCrossref, Faults

WORK_URL = "https://api.crossref.org/v1/works/10.5555/12345678"
FAST = RetryPolicy(attempts=4, backoff=0.001, max_backoff=0.002)


@pytest.fixture(autouse=True)
def switch_off() -> Iterator[None]:
    """Each test starts and ends with test mode off, whatever it did to the switch."""
    set_testing(False)
    yield
    set_testing(False)


def failing() -> FakeCrossref:
    """A simulator answering every request with a 503."""
    return FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0))


class Sleeps:
    """A sleep hook for the retrier that records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def fetch_work(http: httpx.AsyncClient) -> bytes:
    """One request to the simulator, its error answers raised as the client raises them."""
    response = await http.get(WORK_URL)
    if response.status_code >= 400:
        raise error_for(response.status_code, response.content, response.headers, WORK_URL)
    return response.content


@pytest.mark.parametrize("attempts", [1, 3])
async def test_testing_mode_tries_attempts_times_and_never_sleeps(attempts: int) -> None:
    down = failing()
    sleeps = Sleeps()
    retrier = Retrier(RetryPolicy(attempts=6, backoff=60.0), sleep=sleeps)
    outcome = Outcome()
    async with httpx.AsyncClient(transport=down.transport()) as http:
        with set_testing(True, attempts=attempts), pytest.raises(ServerError):
            await retrier.run(lambda: fetch_work(http), outcome)
    assert down.stats.total_requests == attempts
    assert outcome.attempts == attempts
    assert sleeps.waits == []


async def test_off_again_restores_the_policy_and_its_waits() -> None:
    down = failing()
    sleeps = Sleeps()
    retrier = Retrier(FAST, sleep=sleeps)
    async with httpx.AsyncClient(transport=down.transport()) as http:
        with set_testing(True, attempts=2), pytest.raises(ServerError):
            await retrier.run(lambda: fetch_work(http), Outcome())
        assert down.stats.total_requests == 2 and sleeps.waits == []
        assert not is_testing()
        with pytest.raises(ServerError):
            await retrier.run(lambda: fetch_work(http), Outcome())
    assert down.stats.total_requests == 2 + FAST.attempts
    # The policy's full-jitter waits are back: one before each retry, within its caps.
    assert len(sleeps.waits) == FAST.attempts - 1
    assert all(0.0 <= wait <= FAST.max_backoff for wait in sleeps.waits)


async def test_errors_no_retry_can_fix_stop_at_the_first_try() -> None:
    sim = FakeCrossref(limits="unmetered")
    sleeps = Sleeps()
    retrier = Retrier(RetryPolicy(), sleep=sleeps)

    async def missing(http: httpx.AsyncClient) -> bytes:
        response = await http.get("https://api.crossref.org/v1/works/10.5555/no-such-work")
        raise error_for(response.status_code, response.content, response.headers, "u")

    async with httpx.AsyncClient(transport=sim.transport()) as http:
        with set_testing(True, attempts=5), pytest.raises(NotFoundError):
            await retrier.run(lambda: missing(http), Outcome())
    assert sim.stats.total_requests == 1 and sleeps.waits == []


async def test_a_client_follows_the_switch_made_before_or_after_it() -> None:
    down = failing()
    # A client that never retries by itself: test mode sets the tries, whatever the policy.
    async with Crossref(mailto=MAILTO, transport=down.transport(), retry=RetryPolicy.off()) as cr:
        with set_testing(True, attempts=3), pytest.raises(ServerError):
            await cr.work("10.5555/12345678")
        assert down.stats.total_requests == 3
        with pytest.raises(ServerError):
            await cr.work("10.5555/12345678")
        assert down.stats.total_requests == 4  # off again: the client's own policy, one try
    set_testing(True)
    async with Crossref(mailto=MAILTO, transport=down.transport()) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/12345678")
    assert down.stats.total_requests == 5  # on by default: one try, though the policy has 6


def test_the_retry_window_is_closed_in_testing_mode() -> None:
    # The governor waits for an open circuit only within the call's retry window; in test
    # mode nothing waits, so the window is empty however generous the policy is.
    retrier = Retrier(RetryPolicy(attempts=6, max_time=300))
    outcome = Outcome(started=0.0)
    with set_testing(True, attempts=3):
        assert retrier.time_left(outcome) == 0.0
        assert retrier.attempts == 3
        assert retrier.next_step(Outcome(attempts=3), None).startswith("then giving up")
        # What the stall notice says of a test-mode call: another try, not a closed window.
        second = retrier.next_step(Outcome(attempts=1, started=0.0), 10.0)
        assert second == "then retrying (attempt 2 of 3)"
    assert retrier.attempts == 6


def test_set_testing_as_a_context_manager_restores_what_was_before() -> None:
    assert not is_testing() and testing_attempts() is None
    set_testing(True, attempts=2)
    with set_testing(True, attempts=5):
        assert testing_attempts() == 5
        with set_testing(False):
            assert not is_testing()
        assert testing_attempts() == 5
    assert is_testing() and testing_attempts() == 2
    with pytest.raises(RuntimeError), set_testing(False):
        raise RuntimeError("the block failed")
    assert testing_attempts() == 2  # restored on the way out of a failing block too


@pytest.mark.parametrize("attempts", [0, -1, True, 1.5, "3", None])
def test_attempts_must_be_an_int_of_at_least_one(attempts: object) -> None:
    with pytest.raises(ValidationError) as info:
        set_testing(True, attempts=attempts)  # type: ignore[arg-type]
    assert info.value.value is attempts
    assert info.value.rule == "attempts must be an int of at least 1"
    assert repr(attempts) in str(info.value)
    assert not is_testing()  # a refused call changes nothing


def test_the_switch_is_exported_where_tests_look_for_it() -> None:
    assert crossref_async.set_testing is crossref_async.testing.set_testing is set_testing
    assert crossref_async.is_testing is crossref_async.testing.is_testing is is_testing
    assert "set_testing" in crossref_async.__all__ and "is_testing" in crossref_async.__all__


async def test_testing_mode_skips_the_governor_entirely() -> None:
    # A server failing every request opens a breaker of one failure at once; in test mode
    # the governor is not asked (no pacing, no window, no breaker, nothing learnt), so every
    # call reaches the server and fails with the server's own error.
    fake = failing()
    async with Crossref(
        mailto=MAILTO,
        transport=fake.transport(),
        retry=RetryPolicy.off(),
        pacing=crossref_async.Pacing(breaker=crossref_async.Breaker(consecutive=1)),
    ) as cr:
        assert cr.governor is not None
        with set_testing(True):
            for _ in range(3):
                with pytest.raises(ServerError):
                    await cr.work("10.5555/12345678")
        assert fake.stats.total_requests == 3
        assert not cr.governor.breaker.tripped
        assert all(pool.requests == 0 for pool in cr.stats().values())
        # Off again: the governor is back, and the same failure now opens its breaker.
        with pytest.raises(ServerError):
            await cr.work("10.5555/12345678")
        assert cr.governor.breaker.tripped
