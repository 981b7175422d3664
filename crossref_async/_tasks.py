"""Running coroutines side by side and failing like a plain call would.

anyio's task groups wrap a failure in an ``ExceptionGroup``; callers of this library expect
the error itself (``except ServerError``), so the first failure cancels the rest and is
raised on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TypeVar

import anyio
import anyio.lowlevel
from anyio import CancelScope

__all__ = ["run_alongside", "run_beside", "run_concurrently"]

T = TypeVar("T")


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


async def run_beside(
    main: Callable[[], Awaitable[T]],
    *helpers: Callable[[CancelScope], Coroutine[object, object, None]],
) -> T | None:
    """Run ``main`` with ``helpers`` beside it (a display ticker, a signal watcher).

    The helpers are cancelled when ``main`` ends; ``main``'s error is raised as itself (not in
    an ``ExceptionGroup``). A helper is given the scope, and cancelling it stops everything:
    then the result is None.
    """
    results: list[T] = []
    failures: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def run_main() -> None:
            try:
                results.append(await main())
            except Exception as exc:
                failures.append(exc)
            finally:
                tg.cancel_scope.cancel()

        for helper in helpers:
            tg.start_soon(helper, tg.cancel_scope)
        tg.start_soon(run_main)
    if failures:
        raise failures[0]
    return results[0] if results else None


async def run_alongside(
    background: Callable[[], Awaitable[T]],
    foreground: Callable[[], Awaitable[None]],
    *,
    stop: bool,
) -> T:
    """Await ``foreground()`` while ``background()`` runs, and return what ``background()``
    returned (a page fetched while the last one is written, or a count taken beside a page).

    ``background`` is started first, so that it queues first (for the budget), and the
    foreground always starts: a cancellation arriving at the hand-over does not skip it.
    A failure is raised, as itself, once both have ended, the foreground's first; with
    ``stop``, a failing foreground cancels the background.
    """
    results: list[T] = []
    failures: list[Exception] = []

    async def run_background() -> None:
        try:
            results.append(await background())
        except Exception as exc:
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_background)
        with CancelScope(shield=True):
            await anyio.lowlevel.checkpoint()
        try:
            await foreground()
        except Exception as exc:
            failures.insert(0, exc)
            if stop:
                tg.cancel_scope.cancel()
    if failures:
        raise failures[0]
    return results[0]
