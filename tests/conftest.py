"""Shared fixtures: a client with a fixed identity, and respx routes on the default base URL."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import respx

from crossref_async import Crossref, Pacing, RetryPolicy
from crossref_async.testing import FakeCrossref, serve

BASE = "https://api.crossref.org/v1"
MAILTO = "tests@example.org"


def unit_client(**kwargs: Any) -> Crossref:
    """A client for unit tests against mocks: polite identity, no pacing, no retries."""
    kwargs.setdefault("mailto", MAILTO)
    kwargs.setdefault("pacing", Pacing.off())
    kwargs.setdefault("retry", RetryPolicy.off())
    return Crossref(**kwargs)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes for the real API's base URL; every request must hit a declared route."""
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def cr(router: respx.MockRouter) -> AsyncIterator[Crossref]:
    """A polite client talking to the respx routes."""
    async with unit_client() as client:
        yield client


Connect = Callable[[FakeCrossref], AbstractAsyncContextManager[httpx.AsyncClient]]


@contextlib.asynccontextmanager
async def open_client(sim: FakeCrossref, kind: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client on ``sim``: in process, or over a loopback socket."""
    if kind == "asgi":
        async with sim.client() as http:
            yield http
    else:
        async with serve(sim) as url, httpx.AsyncClient(base_url=url) as http:
            yield http


@pytest.fixture(params=["asgi", "socket"])
def connect(request: pytest.FixtureRequest) -> Connect:
    """Each test that takes it runs twice: in process and over a loopback socket."""
    return functools.partial(open_client, kind=request.param)
