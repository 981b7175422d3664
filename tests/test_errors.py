"""Every error shape: the recorded corpus bodies, 429/403/5xx pages, transport failures."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
import respx
from _corpus import Recording, recordings
from conftest import unit_client

from crossref_async import (
    APIError,
    BadRequestError,
    ConnectionFailedError,
    Crossref,
    CrossrefError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    UnauthorizedError,
    UnexpectedStatusError,
)
from crossref_async._responses import parse_retry_after

EXPECTED: dict[int, type[APIError]] = {
    400: BadRequestError,
    404: NotFoundError,
    500: ServerError,
    504: ServerError,
}


def error_recordings() -> list[Recording]:
    return [r for r in recordings() if r.status is not None and r.status >= 400]


@pytest.mark.parametrize("rec", error_recordings(), ids=lambda r: r.name)
async def test_every_recorded_error_body_maps_to_its_error(
    router: respx.MockRouter, rec: Recording
) -> None:
    headers = {k: v for k, v in rec.headers.items() if k.lower() in ("content-type", "retry-after")}
    router.route().mock(
        return_value=httpx.Response(rec.status or 0, content=rec.body, headers=headers)
    )
    async with unit_client() as cr:
        with pytest.raises(APIError) as info:
            await cr.session.send("GET", "/works", [], "list", lambda answer: answer)
    err = info.value
    assert type(err) is EXPECTED[rec.status or 0]
    assert err.status == rec.status
    assert err.url.startswith("https://api.crossref.org/v1/works")
    assert len(err.body_excerpt) <= 300
    text = str(err)
    assert str(rec.status) in text
    if rec.message_type == "validation-failure":
        # The parsed details name what was wrong, as Crossref said it.
        assert err.message_type == "validation-failure"
        assert err.messages and err.messages[0].type and err.messages[0].value
        assert err.messages[0].message and err.messages[0].message.split()[0] in text
    elif rec.message_type in ("exception", "route-not-found", "resource-failure"):
        assert err.message_type == rec.message_type
        assert err.messages
    elif rec.path.suffix == ".txt":
        assert err.message_type is None
        first_words = " ".join(rec.body.decode().split()[:2])
        assert (
            first_words.replace("<html>", "").strip() in text
            or "Gateway" in text
            or "not found" in text
        )


def test_the_corpus_has_every_error_shape() -> None:
    shapes = {(r.status, r.message_type, r.path.suffix) for r in error_recordings()}
    assert (400, "validation-failure", ".json") in shapes
    assert (404, "resource-failure", ".json") in shapes
    assert (404, "route-not-found", ".json") in shapes
    assert (404, None, ".txt") in shapes
    assert (500, "exception", ".json") in shapes
    assert (504, None, ".txt") in shapes


RATE_HTML = (
    b"<html><body><h1>429 Too Many Requests</h1>\n"
    b"You have sent too many requests in a given amount of time.\n</body></html>"
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, None), ({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5)],
)
async def test_rate_limited(
    router: respx.MockRouter, cr: Crossref, headers: dict[str, str], expected: float | None
) -> None:
    router.route().mock(
        return_value=httpx.Response(
            429, content=RATE_HTML, headers={"content-type": "text/html", **headers}
        )
    )
    with pytest.raises(RateLimitedError) as info:
        await cr.works.page()
    assert info.value.retry_after == expected
    assert "429 Too Many Requests" in str(info.value)
    assert info.value.status == 429


def test_retry_after_http_date() -> None:
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    got = parse_retry_after({"retry-after": date}, now=now)
    assert got is not None and 28 <= got <= 31
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({"retry-after": "-3"}) == 0.0


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            b'{"status":"failed","message-type":"unauthorized","message":"Invalid token"}',
            UnauthorizedError,
        ),
        (
            403,
            b"<html><head><title>403 Forbidden</title></head><body>blocked</body></html>",
            ForbiddenError,
        ),
        (502, b"<html><head><title>502 Bad Gateway</title></head></html>", ServerError),
        (503, b"", ServerError),
        (418, b"teapot", UnexpectedStatusError),
        (304, b"", UnexpectedStatusError),
    ],
)
async def test_other_statuses(
    router: respx.MockRouter, cr: Crossref, status: int, body: bytes, cls: type[APIError]
) -> None:
    router.route().mock(return_value=httpx.Response(status, content=body))
    with pytest.raises(cls) as info:
        await cr.work("10.5555/12345678")
    assert info.value.status == status
    assert "10.5555%2F12345678" in info.value.url


async def test_message_as_a_plain_string_and_as_an_object(
    router: respx.MockRouter, cr: Crossref
) -> None:
    router.route().mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "failed",
                "message-type": "validation-failure",
                "message": "rows too large",
            },
        )
    )
    with pytest.raises(BadRequestError, match="rows too large") as info:
        await cr.works.page()
    assert info.value.messages[0].message == "rows too large"
    router.route().mock(
        return_value=httpx.Response(
            500,
            json={
                "status": "error",
                "message-type": "exception",
                "message": {
                    "name": "class java.lang.NullPointerException",
                    "description": "NPE",
                    "message": None,
                },
            },
        )
    )
    with pytest.raises(ServerError, match="NPE") as info2:
        await cr.works.page()
    assert info2.value.messages[0].type == "class java.lang.NullPointerException"


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), ConnectionFailedError),
        (httpx.ReadError("connection reset by peer"), ConnectionFailedError),
        (
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            ),
            ConnectionFailedError,
        ),
        (httpx.ReadTimeout("read timed out"), RequestTimeoutError),
        (httpx.ConnectTimeout("connect timed out"), RequestTimeoutError),
        (httpx.PoolTimeout("pool"), RequestTimeoutError),
    ],
)
async def test_transport_errors_are_translated(
    router: respx.MockRouter, cr: Crossref, exc: Exception, cls: type[CrossrefError]
) -> None:
    router.route().mock(side_effect=exc)
    with pytest.raises(cls) as info:
        await cr.work("10.5555/12345678")
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert not isinstance(info.value, httpx.HTTPError)
    assert "api.crossref.org" in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b'{"status":"ok","message-type":"work-list","message":{"items":[{"DOI":"10.1/a"},{"DOI":"10.',
        b"<html><body>Service unavailable</body></html>",
        b"",
        b'{"status":"ok","message-type":"work-list","message":{"items":{"not":"a list"}}}',
    ],
)
async def test_bad_bodies_on_success_are_decode_errors(
    router: respx.MockRouter, cr: Crossref, content: bytes
) -> None:
    router.route().mock(
        return_value=httpx.Response(
            200, content=content, headers={"content-type": "application/json"}
        )
    )
    with pytest.raises(DecodeError) as info:
        await cr.works.page()
    assert info.value.message_type
    assert info.value.url is not None and "api.crossref.org/v1/works" in info.value.url


async def test_decode_error_of_a_singleton(router: respx.MockRouter, cr: Crossref) -> None:
    router.route().mock(
        return_value=httpx.Response(
            200, content=b'{"status":"ok","message-type":"work","message":{"title":'
        )
    )
    with pytest.raises(DecodeError) as info:
        await cr.work("10.5555/12345678")
    assert info.value.message_type == "work"


async def test_url_credentials_never_appear() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="boom")

    async with unit_client(
        base_url="https://user:hunter2@proxy.example.org",
        transport=httpx.MockTransport(server),
    ) as cr:
        with pytest.raises(ServerError) as info:
            await cr.works.page()
    assert "hunter2" not in str(info.value) and "hunter2" not in info.value.url


def test_errors_are_named_as_users_import_them() -> None:
    import traceback

    import crossref_async
    from crossref_async import _errors

    errors = [getattr(_errors, n) for n in _errors.__all__]
    errors = [e for e in errors if isinstance(e, type) and issubclass(e, BaseException)]
    assert len(errors) >= 20
    for error in errors:
        assert error.__module__ == "crossref_async", error
        assert getattr(crossref_async, error.__name__) is error
    shown = traceback.format_exception_only(crossref_async.ValidationError("x", "a rule"))
    assert shown[-1].startswith("crossref_async.ValidationError: ")


def test_the_error_tree_drawn_in_the_docs_is_the_real_one() -> None:
    import re

    from crossref_async import _errors

    tree = (_errors.__doc__ or "").split("```")[1]
    drawn = re.findall(r"[├└]── (\w+)", tree)
    # Each node's parent is the nearest node above it one level up (4 columns a level).
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in tree.strip().splitlines()[1:]:
        match = re.search(r"[├└]── (\w+)", line)
        assert match is not None, line
        depth = match.start() // 4
        stack = [*stack[:depth], (depth, match.group(1))]
        parents[match.group(1)] = stack[-2][1] if len(stack) > 1 else "CrossrefError"
    errors = {
        name
        for name in _errors.__all__
        if isinstance(getattr(_errors, name), type)
        and issubclass(getattr(_errors, name), _errors.CrossrefError)
        and name != "CrossrefError"
    }
    assert set(drawn) == errors, "the tree draws every error, under its ...Error name"
    for name, parent in parents.items():
        assert getattr(_errors, parent) in getattr(_errors, name).__bases__, (name, parent)
