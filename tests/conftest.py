"""Shared fixtures: a client with a fixed identity, and respx routes on the default base URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from crossref_async import Crossref, RetryPolicy

BASE = "https://api.crossref.org/v1"
MAILTO = "tests@example.org"


def unit_client(**kwargs: Any) -> Crossref:
    """A client for unit tests against mocks: polite identity, no pacing, no retries."""
    kwargs.setdefault("mailto", MAILTO)
    kwargs.setdefault("limits", False)
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
