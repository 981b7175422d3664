"""Retries: what is retried, caps, the shared budget, and the cursor ambiguity flag."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import httpx
import pytest
from _mock_clock import on_mock_clock
from conftest import unit_client

from crossref_async import (
    BadRequestError,
    ConnectionFailedError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    Pacing,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    UnauthorizedError,
)
from crossref_async._retry import Outcome, Retrier, is_safe_to_repeat
from crossref_async._transport import Answer, translate
from crossref_async.models import decode_raw_page

WORK = {
    "status": "ok",
    "message-type": "work",
    "message-version": "1.0.0",
    "message": {"DOI": "10.5555/1"},
}
FAST = RetryPolicy(attempts=4, backoff=0.001, max_backoff=0.002)


def script(
    *steps: Callable[[httpx.Request], httpx.Response],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that plays the steps in order, then repeats the last."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return steps[min(len(seen), len(steps)) - 1](request)

    return httpx.MockTransport(handler), seen


def status(
    code: int, content: bytes = b"<html><body>oops</body></html>", **headers: str
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, content=content, headers=headers)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=WORK)


def fail(exc: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def raiser(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)  # type: ignore[call-arg]

    return raiser


@pytest.mark.parametrize(
    "first",
    [
        status(500),
        status(502),
        status(503),
        status(504),
        status(408),
        status(429),
        fail(httpx.ReadTimeout),
        fail(httpx.ConnectError),
        fail(httpx.ReadError),
        fail(httpx.RemoteProtocolError),
        lambda r: httpx.Response(
            200, content=b'{"status":"ok","message-type":"work","message":{"DO'
        ),
        lambda r: httpx.Response(200, content=b"<html>proxy error</html>"),
    ],
)
async def test_transient_failures_are_retried(
    first: Callable[[httpx.Request], httpx.Response],
) -> None:
    transport, seen = script(first, ok)
    async with unit_client(transport=transport, retry=FAST) as cr:
        work = await cr.work("10.5555/1")
    assert work.DOI == "10.5555/1"
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [(400, BadRequestError), (401, UnauthorizedError), (403, ForbiddenError), (404, NotFoundError)],
)
async def test_client_errors_are_not_retried(code: int, error: type[Exception]) -> None:
    transport, seen = script(status(code))
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(error):
            await cr.work("10.5555/1")
    assert len(seen) == 1


async def test_wrong_shape_is_not_retried() -> None:
    transport, seen = script(
        lambda r: httpx.Response(200, json={"status": "ok", "message-type": "work", "message": []})
    )
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(DecodeError):
            await cr.work("10.5555/1")
    assert len(seen) == 1


async def test_attempts_cap() -> None:
    transport, seen = script(status(503))
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/1")
    assert len(seen) == 4


@on_mock_clock
async def test_total_time_cap() -> None:
    transport, seen = script(status(503))
    policy = RetryPolicy(attempts=1000, max_time=0.3, backoff=0.05, max_backoff=0.05)
    started = anyio.current_time()
    async with unit_client(transport=transport, retry=policy) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/1")
    # On the mock clock: the cap is max_time (plus at most one last backoff), not a guess.
    assert anyio.current_time() - started <= 0.3 + 0.05
    assert 2 <= len(seen) < 50


async def test_off_switch() -> None:
    transport, seen = script(status(503), ok)
    async with unit_client(transport=transport, retry=RetryPolicy.off()) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/1")
    assert len(seen) == 1


def test_off_is_one_attempt_and_there_is_no_enabled_flag() -> None:
    assert RetryPolicy.off() == RetryPolicy(attempts=1)
    # The old second switch is gone: passing it fails at once rather than being ignored.
    with pytest.raises(TypeError, match="enabled"):
        RetryPolicy(enabled=False)  # type: ignore[call-arg]


async def test_one_attempt_is_off_whichever_way_it_was_asked() -> None:
    transport, seen = script(status(503))
    async with unit_client(transport=transport, retry=RetryPolicy(attempts=1)) as cr:
        with pytest.raises(ServerError):
            await cr.work("10.5555/1")
    assert len(seen) == 1
    retrier = Retrier(RetryPolicy(attempts=1))
    assert retrier.time_left(Outcome(started=time.monotonic())) == 0.0
    assert retrier.next_step(Outcome(attempts=1), None) == "then giving up (retries are off)"


async def test_shared_budget_stops_hammering_a_failing_server() -> None:
    transport, seen = script(status(503))
    policy = RetryPolicy(
        attempts=10, backoff=0.0001, max_backoff=0.0001, budget_ratio=0.1, budget_floor=5
    )
    async with unit_client(transport=transport, retry=policy) as cr:
        for _ in range(20):
            with pytest.raises(ServerError):
                await cr.work("10.5555/1")
    # 20 calls; 5 floor retries plus 0.1 per call: far fewer than 20 x 10 attempts.
    assert 20 <= len(seen) <= 20 + 5 + 3


@on_mock_clock
async def test_retry_after_is_honoured_through_the_governor() -> None:
    transport, seen = script(
        lambda request: httpx.Response(
            429,
            headers={
                "retry-after": "0.4",
                "x-rate-limit-limit": "100",
                "x-rate-limit-interval": "1s",
                "x-concurrency-limit": "3",
            },
        ),
        ok,
    )
    times: list[float] = []
    orig = transport.handle_async_request

    async def timed(request: httpx.Request) -> httpx.Response:
        times.append(anyio.current_time())
        return await orig(request)

    transport.handle_async_request = timed  # type: ignore[method-assign]
    async with unit_client(transport=transport, retry=FAST, pacing=Pacing()) as cr:
        await cr.work("10.5555/1")
        stats = cr.stats()
    assert len(seen) == 2
    assert times[1] - times[0] >= 0.39
    pool = stats["polite-single"]
    assert pool.rate_limited == 1 and pool.retries == 1


def test_safe_and_ambiguous_failures() -> None:
    # The transport records on its errors whether the request may have reached the server;
    # the retrier reads that fact (it no longer looks at the httpx error in __cause__).
    req = httpx.Request("GET", "https://api.crossref.org/works")

    def translated(exc: Exception, cls: type[Exception]) -> Exception:
        err = translate(exc, "u")
        assert type(err) is cls
        return err

    assert is_safe_to_repeat(
        translated(httpx.ConnectError("x", request=req), ConnectionFailedError)
    )
    assert is_safe_to_repeat(
        translated(httpx.ConnectTimeout("x", request=req), RequestTimeoutError)
    )
    assert is_safe_to_repeat(translated(httpx.PoolTimeout("x", request=req), RequestTimeoutError))
    assert is_safe_to_repeat(RateLimitedError("x", status=429, url="u"))
    assert not is_safe_to_repeat(
        translated(httpx.ReadTimeout("x", request=req), RequestTimeoutError)
    )
    assert not is_safe_to_repeat(
        translated(httpx.ReadError("x", request=req), ConnectionFailedError)
    )
    assert not is_safe_to_repeat(ServerError("x", status=503, url="u"))


@pytest.mark.parametrize(
    ("first", "replayed"),
    [
        (fail(httpx.ConnectError), False),
        (status(429), False),
        (fail(httpx.ReadTimeout), True),
        (status(502), True),
        (
            lambda r: httpx.Response(
                200, content=b'{"status":"ok","message-type":"work-list","message":{"ite'
            ),
            True,
        ),
    ],
)
async def test_outcome_reports_a_possibly_advanced_cursor(
    first: Callable[[httpx.Request], httpx.Response], replayed: bool
) -> None:
    page = {
        "status": "ok",
        "message-type": "work-list",
        "message": {"items": [], "total-results": 0},
    }
    transport, _ = script(first, lambda r: httpx.Response(200, json=page))
    outcome = Outcome()

    def decode(answer: Answer) -> object:
        return decode_raw_page(answer.content, message_type="work-list")

    async with unit_client(transport=transport, retry=FAST) as cr:
        await cr.session.send("GET", "/works", [("cursor", "*")], "list", decode, outcome)
    assert outcome.attempts == 2
    assert outcome.replayed is replayed


async def test_retrier_runs_the_call_again_and_counts() -> None:
    calls: list[int] = []
    retried: list[BaseException] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ServerError("down", status=503, url="u")
        return "ok"

    retrier = Retrier(FAST)
    outcome = Outcome()
    assert await retrier.run(flaky, outcome, on_retry=retried.append) == "ok"
    assert outcome.attempts == 3 and len(retried) == 2
