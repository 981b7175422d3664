"""The library's one clock: the running event loop's (``anyio.current_time()``).

The governor, the breaker, the retry window and a harvest's outage bound all read it, so under
trio's ``MockClock`` every one of them runs on mock time together, and none mixes it with
``time.monotonic`` (whose zero is not trio's).
"""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["NoEventLoopError", "loop_time"]


class NoEventLoopError(RuntimeError):
    """The default clock was read outside any event loop (there is no loop time then)."""


def loop_time() -> float:
    """The running event loop's clock, :func:`anyio.current_time`: the governor's default.

    On trio that is trio's clock (a ``MockClock``'s time, in tests), whose zero is not
    ``time.monotonic``'s, so the governor never mixes it with any other clock. Outside an
    event loop there is no such clock: reading it raises :class:`NoEventLoopError`.

    >>> async def now() -> float:
    ...     return loop_time()
    >>> (await now()) >= 0
    True
    """
    try:
        # What anyio.current_time() reads on asyncio, without the library detection that
        # costs 20 times as much (the governor reads the clock a few times a request), and
        # also from a loop callback (the asyncio REPL runs each line so), where anyio sees
        # no task and so no event loop.
        return asyncio.get_running_loop().time()
    except RuntimeError:
        pass
    try:
        return anyio.current_time()
    except RuntimeError:
        raise NoEventLoopError(
            "the governor's clock is the event loop's (anyio.current_time()): read it inside "
            "one, or give the governor another clock (Governor(clock=...))"
        ) from None
