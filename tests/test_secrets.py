"""Secrets stay secret: the Plus token and base-URL credentials never show in the client's
repr, in any log record of any logger, in an error, its chain (the httpx errors' requests
included) or the locals of a formatted traceback, and never go to another origin."""

from __future__ import annotations

import base64
import logging
import pickle
import traceback
from collections.abc import Iterator

import httpx
import pytest
from _sockets import answering, refused_port, serve, silent, stalling, trickling
from conftest import MAILTO

from crossref_async import (
    ConnectionFailedError,
    Crossref,
    CrossrefError,
    Pacing,
    RedirectError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    Timeouts,
    ValidationError,
)
from crossref_async._transport import PLUS_HEADER, Secret

TOKEN = "s3cr3t-plus-token-value"
USER, PASSWORD = "harvester", "hunter2-pa55word"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
SECRETS = (TOKEN, PASSWORD, BASIC)
QUICK = Timeouts(read=0.3, single_total=0.6, stall_notice=0.1)
WORK = {"status": "ok", "message-type": "work", "message": {"DOI": "10.5555/1"}}


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}:\n{text}"


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__]


def assert_error_clean(exc: BaseException) -> None:
    assert_clean(str(exc), "str(exc)")
    assert_clean(repr(exc), "repr(exc)")
    for item in chain(exc):
        assert_clean(f"{item!s} {item!r} {vars(item)!r}", f"the chained {type(item).__name__}")
        if isinstance(item, httpx.HTTPError) and item._request is not None:
            request = item.request
            assert_clean(repr(request.headers.multi_items()), "exc.request.headers")
            assert_clean(str(request.url), "exc.request.url")
    # The test's own frame (first in the traceback) holds the URL it built: the frames from
    # the library on, and every chained exception's, are what the library controls.
    assert exc.__traceback__ is not None
    formatted = traceback.TracebackException(
        type(exc), exc, exc.__traceback__.tb_next, capture_locals=True
    )
    text = "".join(formatted.format())
    assert "Traceback" in text and "crossref_async" in text
    assert_clean(text, "the traceback with locals")


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        assert_clean(formatter.format(record), f"a log record of {record.name}")
        assert_clean(repr(record.args), f"the arguments of a log record of {record.name}")


def with_credentials(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{USER}:{PASSWORD}@{rest}"


def make_client(base_url: str, user_client: bool) -> Crossref:
    http = httpx.AsyncClient() if user_client else None
    return Crossref(
        mailto=MAILTO,
        plus_token=TOKEN,
        base_url=with_credentials(base_url),
        http_client=http,
        timeout=QUICK,
        retry=RetryPolicy.off(),
        pacing=Pacing.off(),
    )


async def fail_against(server_url: str, user_client: bool) -> CrossrefError:
    cr = make_client(server_url, user_client)
    try:
        assert_clean(repr(cr) + str(cr) + repr(vars(cr)), "the client")
        with pytest.raises(CrossrefError) as info:
            await cr.work("10.5555/1")
        return info.value
    finally:
        await cr.aclose()
        if user_client:
            await cr._http.aclose()


SCENARIOS = {
    "timeout": (silent, RequestTimeoutError),
    "stalled body": (stalling(b'{"status":', 100), RequestTimeoutError),
    "deadline": (trickling(0.01), RequestTimeoutError),
    "error status": (answering("500 Internal Server Error", b"<html>boom</html>"), ServerError),
}


@pytest.mark.parametrize("user_client", [False, True], ids=["own client", "user's client"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_no_secret_in_errors_chains_tracebacks_or_logs(
    caplog: pytest.LogCaptureFixture, scenario: str, user_client: bool
) -> None:
    caplog.set_level(0)  # every logger, every level: httpx and httpcore included
    handler, cls = SCENARIOS[scenario]
    async with serve(handler) as server:
        error = await fail_against(server.url, user_client)
    assert isinstance(error, cls)
    # The secrets did go out, to the server they are for:
    head = server.heads[0].decode()
    assert f"{PLUS_HEADER}: Bearer {TOKEN}" in head and f"Authorization: Basic {BASIC}" in head
    assert_error_clean(error)
    assert_logs_clean(caplog)
    names = {record.name for record in caplog.records}
    assert "httpcore.http11" in names or "httpcore.connection" in names
    if scenario == "error status":
        assert "httpx" in names  # its INFO line names the URL: without the credentials


@pytest.mark.parametrize("user_client", [False, True], ids=["own client", "user's client"])
async def test_no_secret_when_the_connection_is_refused(
    caplog: pytest.LogCaptureFixture, user_client: bool
) -> None:
    caplog.set_level(0)
    error = await fail_against(f"http://127.0.0.1:{refused_port()}", user_client)
    assert isinstance(error, ConnectionFailedError) and not error.possibly_reached
    assert_error_clean(error)
    assert_logs_clean(caplog)


async def test_locals_below_the_library_are_cleared_but_the_callers_are_not() -> None:
    def writes_then_fails(request: httpx.Request) -> httpx.Response:
        on_the_wire = request.headers[PLUS_HEADER]  # as httpcore's frames hold it
        assert on_the_wire
        raise httpx.WriteError("connection lost while writing")

    def callers_own(marker: str) -> None:
        raise KeyError(marker)

    async with Crossref(
        mailto=MAILTO,
        plus_token=TOKEN,
        transport=httpx.MockTransport(writes_then_fails),
        retry=RetryPolicy.off(),
        pacing=Pacing.off(),
    ) as cr:
        try:
            callers_own("the caller's local")
        except KeyError:
            with pytest.raises(ConnectionFailedError) as info:
                await cr.work("10.5555/1")
    assert_error_clean(info.value)
    # The exception the caller was handling is the caller's: its frames keep their locals.
    outer = next(e for e in chain(info.value) if isinstance(e, KeyError))
    assert outer.__traceback__ is not None
    text = "".join(traceback.format_exception(outer, chain=False))
    frames = traceback.TracebackException(
        type(outer), outer, outer.__traceback__, capture_locals=True
    ).stack
    assert any(frame.locals and "marker" in frame.locals for frame in frames), text


async def test_errors_of_a_client_without_secrets_keep_their_locals() -> None:
    def fails(request: httpx.Request) -> httpx.Response:
        detail = "kept for debugging"
        raise httpx.ReadError(detail)

    async with Crossref(
        mailto=MAILTO,
        transport=httpx.MockTransport(fails),
        retry=RetryPolicy.off(),
        pacing=Pacing.off(),
    ) as cr:
        with pytest.raises(ConnectionFailedError) as info:
            await cr.work("10.5555/1")
    cause = info.value.__cause__
    assert cause is not None and cause.__traceback__ is not None
    frames = traceback.TracebackException(
        type(cause), cause, cause.__traceback__, capture_locals=True
    ).stack
    assert any(frame.locals and "detail" in frame.locals for frame in frames)


# -- credentials in base_url ------------------------------------------------------------------


class Recorder:
    def __init__(self, redirect: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.redirect = redirect or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = self.redirect.get(str(request.url.copy_with(query=None)))
        if target is not None:
            return httpx.Response(302, headers={"location": target})
        return httpx.Response(200, json=WORK)

    def authorized(self) -> list[bool]:
        return ["authorization" in r.headers for r in self.requests]


def test_the_client_shows_no_credentials() -> None:
    cr = Crossref(mailto=MAILTO, plus_token=TOKEN, base_url=with_credentials("https://p.example"))
    assert cr.base_url == "https://p.example"
    assert repr(cr) == (
        "Crossref(base_url='https://p.example', mailto='tests@example.org', "
        "plus_token=<redacted>, credentials=<redacted>)"
    )
    assert_clean(repr(cr) + str(cr) + repr(vars(cr)), "the client")
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    assert repr(Secret(TOKEN)) == str(Secret(TOKEN)) == "<redacted>"


async def test_credentials_leave_the_url_and_go_as_basic_auth() -> None:
    rec = Recorder()
    async with Crossref(
        mailto=MAILTO,
        base_url=with_credentials("https://proxy.example.org/api"),
        transport=httpx.MockTransport(rec),
        pacing=Pacing.off(),
    ) as cr:
        await cr.work("10.5555/1")
    (request,) = rec.requests
    assert request.headers["authorization"] == f"Basic {BASIC}"
    assert request.url.userinfo == b""
    assert str(request.url).startswith("https://proxy.example.org/api/works/")


async def test_percent_encoded_credentials_are_decoded_once() -> None:
    rec = Recorder()
    base = "https://us%40er:p%3Ass@proxy.example.org"
    async with Crossref(
        mailto=MAILTO, base_url=base, transport=httpx.MockTransport(rec), pacing=Pacing.off()
    ) as cr:
        await cr.work("10.5555/1")
    expected = base64.b64encode(b"us@er:p:ss").decode()
    assert rec.requests[0].headers["authorization"] == f"Basic {expected}"


FIRST = "https://proxy.example.org/works/10.5555%2F1"


def behind_the_proxy(rec: Recorder) -> Crossref:
    """A client with the token and Basic credentials, on the proxy ``rec`` answers for."""
    return Crossref(
        mailto=MAILTO,
        plus_token=TOKEN,
        base_url=with_credentials("https://proxy.example.org"),
        transport=httpx.MockTransport(rec),
        pacing=Pacing.off(),
    )


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("https://proxy.example.org/works/other", True),  # same origin
        ("https://proxy.example.org:443/works/other", True),  # the same, port spelled out
        ("https://proxy.example.org:8443/works/other", False),  # another port
        ("http://proxy.example.org/works/other", False),  # from https to http
    ],
)
async def test_credentials_and_token_follow_redirects_only_within_their_origin(
    target: str, kept: bool
) -> None:
    rec = Recorder({FIRST: target})
    async with behind_the_proxy(rec) as cr:
        await cr.work("10.5555/1")
    assert rec.authorized() == [True, kept]
    assert [PLUS_HEADER.lower() in r.headers for r in rec.requests] == [True, kept]


async def test_a_redirect_to_another_host_is_refused_with_nothing_sent_there() -> None:
    rec = Recorder({FIRST: "https://elsewhere.example.org/works/other"})
    async with behind_the_proxy(rec) as cr:
        with pytest.raises(RedirectError) as info:
            await cr.work("10.5555/1")
    assert [r.url.host for r in rec.requests] == ["proxy.example.org"]
    assert_clean(str(info.value) + repr(info.value), "the RedirectError")


async def test_cite_credentials_go_to_the_cite_service_and_the_token_does_not() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="@article{x}")

    async with Crossref(
        mailto=MAILTO,
        plus_token=TOKEN,
        cite_base_url=with_credentials("https://cite.example.org"),
        transport=httpx.MockTransport(server),
        pacing=Pacing.off(),
    ) as cr:
        assert cr.cite_base_url == "https://cite.example.org"
        await cr.cite("10.5555/1")
    (request,) = seen
    assert request.headers["authorization"] == f"Basic {BASIC}"
    assert PLUS_HEADER.lower() not in request.headers


@pytest.mark.parametrize(
    "bad", ["ftp://user:hunter2-pa55word@host/", "https://user:hunter2-pa55word@"]
)
def test_a_refused_base_url_does_not_echo_its_password(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        Crossref(mailto=MAILTO, base_url=bad)
    assert_clean(str(info.value) + repr(info.value.value), "the ValidationError")


def test_a_refused_token_stays_out_of_the_constructors_frame() -> None:
    secret = "tökén-" + TOKEN
    with pytest.raises(ValidationError) as info:
        Crossref(mailto=MAILTO, plus_token=secret)
    assert info.value.__traceback__ is not None
    formatted = traceback.TracebackException(
        type(info.value), info.value, info.value.__traceback__.tb_next, capture_locals=True
    )
    text = "".join(formatted.format())
    assert "__init__" in text and TOKEN not in text
