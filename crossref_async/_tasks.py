"""Running coroutines side by side and failing like a plain call would.

anyio's task groups wrap a failure in an ``ExceptionGroup``; callers of this library expect
the error itself (``except ServerError``), so the first failure cancels the rest and is
raised on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio

__all__ = ["run_concurrently"]


async def run_concurrently(calls: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run every call at once; on the first error cancel the others and raise that error."""
    failures: list[Exception] = []

    async with anyio.create_task_group() as tg:

        async def guarded(call: Callable[[], Awaitable[None]]) -> None:
            try:
                await call()
            except Exception as exc:
                failures.append(exc)
                tg.cancel_scope.cancel()

        for call in calls:
            tg.start_soon(guarded, call)
    if failures:
        raise failures[0]
