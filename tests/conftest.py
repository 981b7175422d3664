"""Shared fixtures: a client with a fixed identity, and respx routes on the default base URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from crossref_async import Crossref

BASE = "https://api.crossref.org"
MAILTO = "tests@example.org"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes for the real API's base URL; every request must hit a declared route."""
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def cr(router: respx.MockRouter) -> AsyncIterator[Crossref]:
    """A polite client talking to the respx routes."""
    async with Crossref(mailto=MAILTO) as client:
        yield client
