"""The task helpers: side by side, in order, and failing like a plain call."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from crossref_async._tasks import Turns, run_alongside


async def test_turns_are_taken_in_order_whoever_is_ready_first() -> None:
    turns = Turns([0, 1, 2])
    order: list[object] = []

    async def start(key: object, delay: int) -> None:
        for _ in range(delay):
            await anyio.lowlevel.checkpoint()
        await turns.wait(key)
        order.append(key)
        turns.taken(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(start, 2, 0)
        tg.start_soon(start, 1, 0)
        tg.start_soon(start, "other", 0)  # not in the order: never waits
        tg.start_soon(start, 0, 20)
    assert order == ["other", 0, 1, 2]


async def test_the_foreground_runs_even_when_a_cancel_lands_at_the_hand_over() -> None:
    # The write beside a fetch must happen once the fetch is under way: a part and its
    # checkpoint would disagree otherwise.
    ran: list[str] = []

    async def background() -> int:
        await anyio.sleep_forever()
        return 0

    async def foreground() -> None:
        ran.append("written")

    with anyio.CancelScope() as scope:
        scope.cancel()
        await run_alongside(background, foreground, stop=False)
    assert ran == ["written"]


async def test_a_failing_foreground_is_raised_first_and_stops_the_background() -> None:
    stopped: list[bool] = []

    async def background() -> int:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            stopped.append(True)
            raise
        return 0

    async def foreground() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await run_alongside(background, foreground, stop=True)
    assert stopped == [True]


async def test_the_backgrounds_result_comes_back_once_both_ended() -> None:
    order: list[str] = []

    async def background() -> int:
        await anyio.lowlevel.checkpoint()
        order.append("fetched")
        return 7

    async def foreground() -> None:
        order.append("written")

    assert await run_alongside(background, foreground, stop=True) == 7
    assert sorted(order) == ["fetched", "written"]
