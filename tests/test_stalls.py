"""Stalls are seen and bounded: the stall notice, read timeouts per chunk, total deadlines.

Servers here are real sockets on 127.0.0.1 (tests/_sockets.py): one that accepts and never
answers, one that sends the head and a few bytes then stalls, one that trickles a byte at a
time. Timeouts are tenths of a second; the tests assert what happened (the notice, the error,
how much was read), never how long it took.
"""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
from _sockets import WORK, Server, answering, serve, silent, stalling, trickling
from conftest import MAILTO

from crossref_async import Crossref, Pacing, RequestTimeoutError, RetryPolicy, Timeouts
from crossref_async.testing import FakeCrossref

QUICK = Timeouts(read=0.4, single_total=1.5, list_total=1.5, stall_notice=0.1)
FAST_RETRY = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.001)


def client(server: Server, **kwargs: object) -> Crossref:
    kwargs.setdefault("timeout", QUICK)
    kwargs.setdefault("retry", RetryPolicy.off())
    return Crossref(mailto=MAILTO, base_url=server.url, pacing=Pacing.off(), **kwargs)  # type: ignore[arg-type]


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "crossref_async" and r.levelno == logging.WARNING
    ]


async def test_a_silent_server_is_reported_then_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    async with serve(silent) as server, client(server) as cr:
        with pytest.raises(RequestTimeoutError, match="ReadTimeout") as info:
            await cr.work("10.5555/1")
    assert info.value.possibly_reached and info.value.transient
    (notice,) = notices(caplog)
    assert f"GET 127.0.0.1:{server.port}/works/10.5555%2F1:" in notice
    assert "the server is not answering: no response after" in notice
    assert "waiting up to" in notice and "0.4 s with no data ends it sooner" in notice
    assert notice.endswith("then giving up (retries are off)")
    assert "mailto" not in notice  # host and path only


async def test_one_notice_per_stalled_attempt_saying_what_comes_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    async with serve(silent) as server, client(server, retry=FAST_RETRY) as cr:
        with pytest.raises(RequestTimeoutError):
            await cr.work("10.5555/1")
    assert len(server.heads) == 2
    first, second = notices(caplog)
    assert first.endswith("then retrying (attempt 2 of 2)")
    assert second.endswith("then giving up (this is attempt 2 of 2)")


async def test_a_body_that_stalls_mid_transfer_is_reported_and_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    # The notice comes well after the first bytes, so it sees them even on a busy machine.
    timeouts = Timeouts(read=1.0, single_total=3.0, stall_notice=0.3)
    server_handler = stalling(b'{"status":"ok",', 5000)
    async with serve(server_handler) as server, client(server, timeout=timeouts) as cr:
        with pytest.raises(RequestTimeoutError, match="ReadTimeout"):
            await cr.work("10.5555/1")
    (notice,) = notices(caplog)
    assert "the answer is still incomplete after" in notice and "(15 bytes)" in notice


async def test_a_trickling_body_ends_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    # One byte every 10 ms never trips the read timeout: only the total deadline ends it.
    caplog.set_level(logging.WARNING, logger="crossref_async")
    timeouts = Timeouts(read=5.0, single_total=0.6, stall_notice=0.2)
    async with serve(trickling(0.01)) as server, client(server, timeout=timeouts) as cr:
        with pytest.raises(
            RequestTimeoutError, match="deadline for a single-record request"
        ) as info:
            await cr.work("10.5555/1")
        with anyio.fail_after(10):  # a guard against hanging, not a measurement
            await server.finished.wait()  # the client closed the connection
    assert "bytes of the body received" in str(info.value)
    assert 0 < server.sent[0] < 10**6  # stopped long before the announced end
    (notice,) = notices(caplog)
    assert "the answer is still incomplete" in notice


async def test_the_deadline_bounds_in_process_transports_too() -> None:
    # An ASGI app has no sockets, so no read timeout applies: the deadline still does.
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await anyio.sleep_forever()

    timeouts = Timeouts(single_total=0.2, stall_notice=None)
    async with Crossref(
        mailto=MAILTO,
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        timeout=timeouts,
        retry=RetryPolicy.off(),
        pacing=Pacing.off(),
    ) as cr:
        with pytest.raises(
            RequestTimeoutError, match=r"0\.2 s deadline .* \(no response\)"
        ) as info:
            await cr.work("10.5555/1")
    assert info.value.possibly_reached


async def test_a_quick_answer_leaves_no_notice_behind(caplog: pytest.LogCaptureFixture) -> None:
    # A first exchange answered at once, then one that stalls for longer than the notice
    # delay: the only notice is the stalled one's (the first's timer was cancelled).
    caplog.set_level(logging.WARNING, logger="crossref_async")
    async with serve(answering("200 OK", WORK)) as fast, client(fast) as cr:
        assert (await cr.work("10.5555/1")).DOI == "10.5555/1"
    async with serve(silent) as server, client(server) as cr:
        with pytest.raises(RequestTimeoutError):
            await cr.work("10.5555/1")
    (notice,) = notices(caplog)
    assert f"127.0.0.1:{server.port}" in notice


async def test_no_notice_when_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    timeouts = Timeouts(read=0.3, stall_notice=None)
    async with serve(silent) as server, client(server, timeout=timeouts) as cr:
        with pytest.raises(RequestTimeoutError):
            await cr.work("10.5555/1")
    assert notices(caplog) == []


async def test_a_cursor_request_says_it_will_not_be_repeated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from crossref_async._retry import Outcome

    caplog.set_level(logging.WARNING, logger="crossref_async")
    async with serve(silent) as server, client(server, retry=FAST_RETRY) as cr:
        with pytest.raises(RequestTimeoutError):
            await cr.session.page(
                "/works", "work-list", [("cursor", "abc")], dict, Outcome(stop_on_ambiguous=True)
            )
    (notice,) = notices(caplog)
    assert "is not repeated then" in notice
    assert len(server.heads) == 1


async def test_a_stall_after_the_retry_window_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossref_async")
    policy = RetryPolicy(attempts=3, max_time=0.2, backoff=0.001, max_backoff=0.001)
    async with serve(silent) as server, client(server, retry=policy) as cr:
        with pytest.raises(RequestTimeoutError):
            await cr.work("10.5555/1")
    assert len(server.heads) == 1  # the timeout came after max_time: no retry
    (notice,) = notices(caplog)
    assert notice.endswith("then giving up (past the 0.2 s retry window)")


async def test_many_exchanges_with_the_defaults_leave_nothing_behind() -> None:
    # Everything through the whole pipeline with the default settings, many times over: no
    # notice timer or deadline leaks into later requests.
    fake = FakeCrossref(works=50, limits="unmetered")
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        for _ in range(50):
            assert (await cr.work("10.5555/12345678")).DOI == "10.5555/12345678"
        assert len([w async for w in cr.works.stream(rows=10)]) == 50
