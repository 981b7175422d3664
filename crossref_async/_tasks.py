"""Running coroutines side by side and failing like a plain call would.

anyio's task groups wrap a failure in an ``ExceptionGroup``; callers of this library expect
the error itself (``except ServerError``), so the first failure cancels the rest and is
raised on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from typing import TypeVar

import anyio
import anyio.lowlevel
from anyio import CancelScope

__all__ = ["Turns", "run_alongside", "run_beside", "run_concurrently"]

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


class Turns:
    """Starts taken in a fixed order: a key's :meth:`wait` returns once the key before it has
    taken its turn (:meth:`taken`, idempotent), so that concurrent tasks ask for something
    (a place in the budget) in the order planned for them, whichever gets ready first. A key
    not in the order never waits; a task that gives up must still call :meth:`taken`."""

    def __init__(self, keys: Iterable[Hashable]) -> None:
        self._order = list(keys)
        self._taken = {key: anyio.Event() for key in self._order}

    async def wait(self, key: Hashable) -> None:
        """Return once every key before ``key`` has taken its turn."""
        if key in self._taken:
            position = self._order.index(key)
            if position > 0:
                await self._taken[self._order[position - 1]].wait()

    def taken(self, key: Hashable) -> None:
        """``key`` took its turn (or gave it up): the next key may go."""
        event = self._taken.get(key)
        if event is not None:
            event.set()
