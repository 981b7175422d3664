"""pytest fixtures for the Crossref simulator.

Enable them in a ``conftest.py`` (they are not registered automatically)::

    pytest_plugins = ["crossref_async.testing.pytest_plugin"]

Fixtures:

* ``fake_crossref``: a fresh :class:`FakeCrossref` per test (1,000 works, seed 0, no limits,
  no faults). Use it in process: ``httpx.AsyncClient(transport=fake_crossref.transport())``.
* ``fake_crossref_server``: the base URL of ``fake_crossref`` served on a loopback socket by
  uvicorn in a background thread (so it works with any event loop, or none). Use one way of
  talking to a simulator per test, in process or over the socket, not both at once.

Configure the simulator per test with the ``fake_crossref`` marker, whose keyword arguments
go to :class:`FakeCrossref`::

    @pytest.mark.fake_crossref(works=200, limits="polite-2026", faults=Faults(error_rate=0.1))
    async def test_retries(fake_crossref): ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._app import FakeCrossref
from ._server import serve_in_thread

MARKER = "fake_crossref"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker (``--strict-markers`` refuses undeclared ones)."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): keyword arguments for the fake_crossref simulator"
    )


@pytest.fixture
def fake_crossref(request: pytest.FixtureRequest) -> FakeCrossref:
    """A fresh simulator, configured by the test's ``fake_crossref`` marker if any."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return FakeCrossref(**options)


@pytest.fixture
def fake_crossref_server(fake_crossref: FakeCrossref) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:<port>``) of ``fake_crossref`` on a socket."""
    with serve_in_thread(fake_crossref) as url:
        yield url
