"""The transport edge: body cap, gzip, every failure as the library's own error, the facts
retrying needs, decode failures counted by the breaker, and the governor interface."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
from _sockets import Connection, Server, gzip_bomb, head, serve
from conftest import MAILTO, unit_client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crossref_async import (
    BadRequestError,
    Breaker,
    CircuitOpenError,
    ConnectionFailedError,
    Crossref,
    CrossrefError,
    DecodeError,
    NotFoundError,
    Pacing,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    Timeouts,
    UnexpectedStatusError,
    ValidationError,
)
from crossref_async._breaker import CircuitBreaker
from crossref_async._governor import Governor, Ticket
from crossref_async._responses import parse_retry_after
from crossref_async._retry import Outcome, Retrier
from crossref_async._transport import DEFAULT_MAX_BODY_SIZE, translate

WORK = {"status": "ok", "message-type": "work", "message": {"DOI": "10.5555/1", "title": ["T"]}}
FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.002)
DEEP = b"[" * 100_000 + b"]" * 100_000


def mock(
    *responses: Callable[[httpx.Request], httpx.Response],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Plays the responses in order, then repeats the last."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1](request)

    return httpx.MockTransport(handler), seen


def body(
    content: bytes, status: int = 200, **headers: str
) -> Callable[[httpx.Request], httpx.Response]:
    # A stream, as from the wire: read (and decompressed) only when the client reads it.
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return lambda request: httpx.Response(status, stream=httpx.ByteStream(content), headers=named)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=WORK)


# -- gzip -----------------------------------------------------------------------------------


async def test_a_gzipped_body_decodes() -> None:
    transport, _ = mock(body(gzip.compress(json.dumps(WORK).encode()), content_encoding="gzip"))
    async with unit_client(transport=transport) as cr:
        assert (await cr.work("10.5555/1")).title == ("T",)


async def test_a_corrupt_gzip_body_is_a_transient_decode_error() -> None:
    corrupt = body(b"\x1f\x8b\x08\x00garbage" * 10, content_encoding="gzip")
    transport, seen = mock(corrupt)
    async with unit_client(transport=transport) as cr:
        with pytest.raises(DecodeError) as info:
            await cr.work("10.5555/1")
    assert info.value.transient and not isinstance(info.value, ResponseTooLargeError)
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    transport, seen = mock(corrupt, ok)
    async with unit_client(transport=transport, retry=FAST) as cr:
        assert (await cr.work("10.5555/1")).DOI == "10.5555/1"
    assert len(seen) == 2  # retried: a damaged transfer may arrive whole next time


async def test_a_corrupt_gzip_error_body_is_still_classified_by_status() -> None:
    transport, _ = mock(body(b"\x1f\x8b\x08\x00garbage", 503, content_encoding="gzip"))
    async with unit_client(transport=transport) as cr:
        with pytest.raises(ServerError) as info:
            await cr.work("10.5555/1")
    assert info.value.status == 503


async def test_a_gzip_bomb_stops_at_the_cap_and_is_not_retried() -> None:
    cap = 4 * 2**20
    async with (
        serve(gzip_bomb()) as server,
        Crossref(
            mailto=MAILTO, base_url=server.url, retry=FAST, pacing=Pacing.off(), max_body_size=cap
        ) as cr,
    ):
        with pytest.raises(ResponseTooLargeError) as info:
            await cr.work("10.5555/1")
        with anyio.fail_after(10):  # a guard against hanging, not a measurement
            await server.finished.wait()  # the client hung up on the endless body
    error = info.value
    # Reading stops at the first decoded chunk past the cap: one network read (64 KiB at
    # most) expanded at deflate's largest ratio (about 1032:1), not the endless rest.
    assert error.limit == cap and cap < error.received <= cap + 1032 * 64 * 2**10
    assert not error.transient and isinstance(error, DecodeError)
    assert len(server.heads) == 1  # the same request would bring the same body


async def test_the_default_cap_is_far_above_a_real_page() -> None:
    assert DEFAULT_MAX_BODY_SIZE == 256 * 2**20
    async with unit_client() as cr:
        assert cr._transport.max_body_size == DEFAULT_MAX_BODY_SIZE


async def test_an_announced_length_over_the_cap_is_refused_before_reading() -> None:
    class Untouchable(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            raise AssertionError("the body was read")
            yield b""  # pragma: no cover

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": str(10**12)}, stream=Untouchable())

    transport, _ = mock(huge)
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(
            ResponseTooLargeError, match="1,000,000,000,000 bytes announced"
        ) as info:
            await cr.work("10.5555/1")
    assert info.value.received == 10**12


async def test_a_huge_error_body_is_cut_and_classified_by_status() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head>" + b"x" * (5 * 2**20)
    transport, _ = mock(body(page, 502))
    async with unit_client(transport=transport, max_body_size=2**21) as cr:
        with pytest.raises(ServerError, match="502 Bad Gateway") as info:
            await cr.work("10.5555/1")
    assert info.value.status == 502


def test_the_cap_must_be_a_positive_number_of_bytes() -> None:
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValidationError, match="max_body_size"):
            unit_client(max_body_size=bad)


# -- nesting depth ----------------------------------------------------------------------------


async def test_json_nested_too_deeply_is_a_decode_error_not_retried() -> None:
    # Under a key the model does not know, so the decoder skips (recursively) rather than
    # refusing the first nested list as the wrong type.
    deep = b'{"status":"ok","message-type":"work","message":{"x-new":' + DEEP + b"}}"
    transport, seen = mock(body(deep))
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(DecodeError, match="nested too deeply") as info:
            await cr.work("10.5555/1")
        assert not info.value.transient
        with pytest.raises(DecodeError, match="nested too deeply"):
            await cr.works.raw_pages().__anext__()
    assert len(seen) == 2  # one each: the same body is as deep on every try
    assert isinstance(info.value.__cause__, RecursionError)


@pytest.mark.parametrize(
    ("status", "cls"), [(400, BadRequestError), (404, NotFoundError), (500, ServerError)]
)
async def test_a_deeply_nested_error_body_is_classified_by_status(
    status: int, cls: type[Exception]
) -> None:
    transport, _ = mock(body(b'{"status":"failed","message":' + DEEP + b"}", status))
    async with unit_client(transport=transport) as cr:
        with pytest.raises(cls):
            await cr.work("10.5555/1")


# -- no raw exception on any path -------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "cls"),
    [
        # httpx itself refuses these while reading the redirect: no usable answer.
        ("http://[::1", ConnectionFailedError),
        ("\x00nul", ConnectionFailedError),
        ("javascript:alert(1)", ConnectionFailedError),
        # httpx accepts these; the client does not follow them: a 3xx it cannot use.
        ("ftp://example.org/x", UnexpectedStatusError),
        ("https://api.crossref.org:99999/works", UnexpectedStatusError),
    ],
)
async def test_an_unusable_redirect_is_refused_and_not_retried(
    location: str, cls: type[CrossrefError]
) -> None:
    transport, seen = mock(body(b"", 301, location=location))
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(cls, match="redirect not followed") as info:
            await cr.work("10.5555/1")
    assert len(seen) == 1
    if isinstance(info.value, UnexpectedStatusError):
        assert info.value.status == 301


def test_a_base_url_with_a_port_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        unit_client(base_url="https://api.crossref.org:70000")


async def _one_connection(answer: bytes) -> CrossrefError:
    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(answer)
        await conn.until_closed()

    timeouts = Timeouts(read=2.0)
    async with serve(handler) as server, unit_client(base_url=server.url, timeout=timeouts) as cr:
        with pytest.raises(CrossrefError) as info:
            await cr.work("10.5555/1")
    return info.value


async def test_garbage_on_the_wire_is_a_connection_failure() -> None:
    error = await _one_connection(b"this is not HTTP at all\r\n\r\n")
    assert isinstance(error, ConnectionFailedError) and error.transient and error.possibly_reached
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)


async def test_a_bad_content_length_is_a_connection_failure() -> None:
    error = await _one_connection(head(content_length="abc") + b"{}")
    assert isinstance(error, ConnectionFailedError)


async def test_a_body_cut_short_is_a_connection_failure() -> None:
    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(head(content_length="1000") + b'{"status":"ok"')
        conn.writer.close()

    async with serve(handler) as server, unit_client(base_url=server.url) as cr:
        with pytest.raises(ConnectionFailedError, match="RemoteProtocolError") as info:
            await cr.work("10.5555/1")
    assert info.value.possibly_reached


async def test_header_bytes_beyond_ascii_are_read_without_error() -> None:
    payload = json.dumps(WORK).encode()

    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Odd: caf\xe9 \xff\r\n"
            b"Retry-After: \xb2\r\n\r\n%s" % (len(payload), payload)
        )
        await conn.until_closed()

    async with serve(handler) as server, unit_client(base_url=server.url) as cr:
        work = await cr.work("10.5555/1")
    assert work.DOI == "10.5555/1"


@pytest.mark.parametrize(
    ("exc", "cls", "transient"),
    [
        (OSError("socket gone"), ConnectionFailedError, True),
        (httpx.LocalProtocolError("bad request line"), ConnectionFailedError, False),
        (httpx.UnsupportedProtocol("gopher"), ConnectionFailedError, False),
        (httpx.WriteTimeout("slow write"), RequestTimeoutError, True),
        (httpx.ProxyError("proxy down"), ConnectionFailedError, True),
    ],
)
async def test_other_transport_failures_are_translated(
    exc: Exception, cls: type[CrossrefError], transient: bool
) -> None:
    def raiser(request: httpx.Request) -> httpx.Response:
        raise exc

    transport, seen = mock(raiser)
    async with unit_client(transport=transport, retry=FAST) as cr:
        with pytest.raises(cls) as info:
            await cr.work("10.5555/1")
    assert info.value.transient is transient  # type: ignore[attr-defined]
    assert len(seen) == (3 if transient else 1)


def test_translation_records_whether_the_request_may_have_reached_the_server() -> None:
    request = httpx.Request("GET", "https://api.crossref.org/works")
    unsent = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
    maybe = [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.ProxyError,
    ]
    for kind in unsent + maybe:
        error = translate(kind("x", request=request), "u")
        assert error.possibly_reached is (kind in maybe), kind  # type: ignore[union-attr]


def test_an_infinite_retry_after_is_unreadable() -> None:
    assert parse_retry_after({"retry-after": "inf"}) is None
    assert parse_retry_after({"retry-after": "nan"}) is None
    assert parse_retry_after({"retry-after": "1e400"}) is None
    assert parse_retry_after({"retry-after-ms": "inf", "retry-after": "2"}) == 2.0


# -- what the breaker counts ------------------------------------------------------------------


async def _breaker_after(
    response: Callable[[httpx.Request], httpx.Response], calls: int = 4
) -> CircuitBreaker:
    transport, _ = mock(response)
    async with Crossref(
        mailto=MAILTO,
        transport=transport,
        retry=RetryPolicy.off(),
        pacing=Pacing(breaker=Breaker()),
    ) as cr:
        for _ in range(calls):
            with contextlib.suppress(CrossrefError):
                await cr.work("10.5555/1")
    assert cr.governor is not None
    return cr.governor.breaker


@pytest.mark.parametrize(
    "response",
    [
        body(b"<html><body>Down for maintenance</body></html>", content_type="text/html"),
        body(b"\x00\x01garbage"),
        body(b'{"status":"ok","message-type":"work","message":{"DO'),
        body(b'{"status":"ok","message-type":"work","message":[]}'),
        body(b"\x1f\x8b\x08\x00garbage", content_encoding="gzip"),
        body(b"x" * 5000),  # over the cap below
    ],
    ids=["html", "garbage", "truncated", "wrong-shape", "corrupt-gzip", "too-large"],
)
async def test_unusable_2xx_bodies_count_as_failures(
    response: Callable[[httpx.Request], httpx.Response],
) -> None:
    transport, _ = mock(response)
    async with Crossref(
        mailto=MAILTO,
        transport=transport,
        retry=RetryPolicy.off(),
        pacing=Pacing(breaker=Breaker()),
        max_body_size=4096,
    ) as cr:
        for _ in range(4):
            with pytest.raises(DecodeError):
                await cr.work("10.5555/1")
    assert cr.governor is not None and cr.governor.breaker.failure_rate == 1.0


async def test_good_answers_and_client_errors_do_not_count_as_failures() -> None:
    assert (await _breaker_after(ok)).failure_rate == 0.0
    assert (await _breaker_after(body(b"Resource not found.", 404))).failure_rate == 0.0
    # One 429 is enough to tell (a second would wait out the pool's pause, 1 s, then 2 s...).
    assert (await _breaker_after(body(b"<html>429</html>", 429), calls=1)).failure_rate == 0.0
    assert (await _breaker_after(body(b"<html>503</html>", 503))).failure_rate == 1.0


async def test_an_html_200_trips_the_breaker_instead_of_being_hammered() -> None:
    transport, seen = mock(body(b"<html>captive portal</html>", content_type="text/html"))
    async with Crossref(
        mailto=MAILTO,
        transport=transport,
        # A retry window shorter than the cool-down: the open circuit is reported at once.
        retry=RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.001, max_time=1.0),
        pacing=Pacing(breaker=Breaker(min_requests=4)),
    ) as cr:
        errors = []
        for _ in range(5):
            try:
                await cr.work("10.5555/1")
            except (DecodeError, CircuitOpenError) as exc:
                errors.append(type(exc))
    assert errors[-1] is CircuitOpenError
    assert len(seen) <= 4


# -- the governor interface -------------------------------------------------------------------


class SpyGovernor(Governor):
    """Records what the client passes to acquire and release."""

    def __init__(self) -> None:
        super().__init__("polite")
        self.acquired: list[float | None] = []
        self.released: list[dict[str, Any]] = []

    async def acquire(self, kind: Any, *, wait_limit: float | None = None) -> Ticket:
        self.acquired.append(wait_limit)
        return await super().acquire(kind, wait_limit=wait_limit)

    def release(self, kind: Any, ticket: Ticket, **kwargs: Any) -> None:
        self.released.append(kwargs)
        super().release(kind, ticket, **kwargs)


async def _spied(
    response: Callable[[httpx.Request], httpx.Response], retry: RetryPolicy, **kwargs: Any
) -> SpyGovernor:
    transport, _ = mock(response)
    async with Crossref(mailto=MAILTO, transport=transport, retry=retry, **kwargs) as cr:
        spy = SpyGovernor()
        cr.session.governor = spy
        with contextlib.suppress(CrossrefError):
            await cr.work("10.5555/1")
    return spy


async def test_release_says_whether_the_request_failed() -> None:
    cases = [
        (ok, False, 200),
        (body(b"<html>maintenance</html>"), True, 200),
        (body(b"nope", 404), False, 404),
        (body(b"busy", 429), False, 429),
        (body(b"down", 500), True, 500),
        (body(b"x" * 5000), True, 200),
    ]
    for response, failed, status in cases:
        spy = await _spied(response, RetryPolicy.off(), max_body_size=4096)
        (released,) = spy.released
        assert released["failed"] is failed and released["status"] == status, released

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    (released,) = (await _spied(refused, RetryPolicy.off())).released
    assert released["failed"] is True and released["status"] is None


async def test_acquire_gets_the_time_left_of_the_retry_window() -> None:
    policy = RetryPolicy(attempts=3, max_time=1000, backoff=0.001, max_backoff=0.001)
    spy = await _spied(body(b"down", 503), policy)
    assert len(spy.acquired) == 3
    limits = [limit for limit in spy.acquired if limit is not None]
    assert len(limits) == 3 and all(900 < limit <= 1000 for limit in limits)
    assert limits == sorted(limits, reverse=True)
    # With retries off there is no window to wait in: an open circuit fails at once.
    assert (await _spied(ok, RetryPolicy.off())).acquired == [0.0]


async def test_an_open_circuit_is_not_retried() -> None:
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise CircuitOpenError("open", retry_in=5.0)

    with pytest.raises(CircuitOpenError):
        await Retrier(FAST).run(refused, Outcome())
    assert calls == [1]
    assert not RetryPolicy().is_retryable(CircuitOpenError("open"))


# -- timeouts settings ------------------------------------------------------------------------


def test_every_timeout_form_is_accepted() -> None:
    assert unit_client().timeouts == Timeouts()
    assert unit_client(timeout=5).timeouts.read == 5.0
    assert unit_client(timeout=httpx.Timeout(3.0, connect=1.0)).timeouts.connect == 1.0
    assert unit_client(timeout=None).timeouts.read is None
    assert unit_client(timeout=None).timeouts.single_total == 60.0
    given = Timeouts(single_total=5.0)
    assert unit_client(timeout=given).timeouts is given
    for bad in ("10", [1], True):
        with pytest.raises(ValidationError, match="timeout"):
            unit_client(timeout=bad)
    for field in ("connect", "read", "single_total", "stall_notice"):
        with pytest.raises(ValidationError, match=f"Timeouts.{field}"):
            Timeouts(**{field: float("inf")})


async def test_timeouts_reach_httpx_and_a_callers_client_keeps_its_own() -> None:
    seen: list[dict[str, float | None]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok(request)

    async with unit_client(transport=httpx.MockTransport(record), timeout=Timeouts(read=7.0)) as cr:
        await cr.work("10.5555/1")
    own = httpx.AsyncClient(transport=httpx.MockTransport(record), timeout=3.0)
    async with own:
        async with unit_client(http_client=own) as cr:
            await cr.work("10.5555/1")
        async with unit_client(http_client=own, timeout=Timeouts(read=9.0)) as cr:
            await cr.work("10.5555/1")
    assert [t["read"] for t in seen] == [7.0, 3.0, 9.0]
    assert seen[0]["connect"] == 10.0


# -- input that cannot be sent ----------------------------------------------------------------


async def test_text_without_a_utf8_form_is_a_validation_error() -> None:
    transport, seen = mock(ok)
    async with unit_client(transport=transport) as cr:
        with pytest.raises(ValidationError, match="lone surrogate"):
            await cr.works.query("caf\ud800").count()
    assert seen == []


async def test_a_url_too_long_to_send_is_a_validation_error() -> None:
    transport, seen = mock(ok)
    async with unit_client(transport=transport) as cr:
        with pytest.raises(ValidationError, match="ask for less in one request"):
            await cr.works.query("x" * 70_000).count()
    assert seen == []


# -- whatever the server sends, the error is the library's own --------------------------------

_ODD_VALUES = [
    b"gzip",
    b"deflate",
    b"br",
    b"zstd",
    b"identity",
    b"-1",
    b"abc",
    b"1e400",
    b"inf",
    b"99999999999999999999999",
    b"http://[::1",
    b"ftp://x/",
    b"//evil.example/x",
    b"javascript:x",
    b"/works/y",
    b"https://h:99999/",
    b"\xff\xfe",
    b"",
]
_values = st.one_of(
    st.sampled_from(_ODD_VALUES),
    st.binary(max_size=20).filter(lambda v: not {13, 10, 0} & set(v)),
)
_HEADERS = [
    b"content-length",
    b"content-encoding",
    b"location",
    b"content-type",
    b"retry-after",
    b"retry-after-ms",
    b"transfer-encoding",
    b"x-api-pool",
]
_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            json.dumps(WORK).encode(),
            b"[" * 5000 + b"]" * 5000,
            b'{"status":"ok","message-type":"work","message":' + DEEP + b"}",
            gzip.compress(json.dumps(WORK).encode()),
            b"\x1f\x8b\x08\x00garbage",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from([200, 204, 301, 302, 303, 307, 308, 400, 404, 429, 500, 503, 999]),
    headers=st.fixed_dictionaries({}, optional=dict.fromkeys(_HEADERS, _values)),
    content=_bodies,
)
@example(status=301, headers={b"location": b"javascript:x"}, content=b"")
@example(status=308, headers={b"location": b"https://h:99999/"}, content=b"")
@example(status=200, headers={b"content-encoding": b"gzip"}, content=b"\x1f\x8b\x08\x00garbage")
@example(status=200, headers={b"content-length": b"99999999999999999999999"}, content=b"{}")
@example(status=500, headers={}, content=b'{"status":"failed","message":' + DEEP + b"}")
def test_any_answer_gives_a_result_or_a_library_error(
    status: int, headers: dict[bytes, bytes], content: bytes
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, headers=list(headers.items()), stream=httpx.ByteStream(content)
        )

    async def run() -> None:
        async with unit_client(transport=httpx.MockTransport(answer), max_body_size=10**5) as cr:
            with contextlib.suppress(CrossrefError):
                await cr.work("10.5555/1")

    anyio.run(run)
