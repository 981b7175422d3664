"""Tests on a mock clock: no real waiting, and time that moves only when every task waits."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec

import anyio
from trio.testing import MockClock

P = ParamSpec("P")


def on_mock_clock(test: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    """Run an async test under trio on a mock clock that jumps to the next wake-up as soon as
    every task waits (``anyio.current_time()`` reads it, and so does a governor's default
    clock). Parameters and fixtures pass through; fixtures must not need an event loop."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        clock = MockClock(autojump_threshold=0)
        call = functools.partial(test, *args, **kwargs)
        anyio.run(call, backend="trio", backend_options={"clock": clock})

    return run
