"""Async background work (_compat.Background): its task made on the loop's next turn,
off the caller's path, and still waited for, counted and forgotten as a task is."""

from __future__ import annotations

import asyncio

from redmemo._compat import Background, Soon


def test_work_is_spawned_on_the_next_turn_and_drain_waits_for_it() -> None:
    background = Background()
    ran: list[int] = []

    async def work(n: int) -> None:
        await asyncio.sleep(0.01)
        ran.append(n)

    async def scenario() -> None:
        handle = background.async_spawn(work, 1)
        assert handle.task is None  # not made on the caller's path
        assert background.running(handle)
        await background.drain()  # spawned just before: still waited for
        assert ran == [1]
        assert handle.task is not None
        assert handle.task.done()
        assert not background.running(handle)
        assert not background._tasks  # forgotten once done

    asyncio.run(scenario())


def test_work_spawned_by_work_is_drained_too_and_failures_are_logged_not_raised() -> None:
    background = Background()
    ran: list[str] = []

    async def second() -> None:
        ran.append("second")
        raise RuntimeError("broken")

    async def first() -> None:
        ran.append("first")
        background.async_spawn(second)

    async def scenario() -> None:
        background.async_spawn(first)
        await background.drain()
        assert ran == ["first", "second"]

    asyncio.run(scenario())


def test_work_on_a_closed_loop_is_not_running() -> None:
    background = Background()

    async def never() -> None:
        raise AssertionError("ran on a loop that closed first")

    handles: list[Soon] = []
    loop = asyncio.new_event_loop()

    def spawn_then_stop() -> None:
        handles.append(background.async_spawn(never))
        loop.stop()  # this turn ends; the task would be made on the next

    loop.call_soon(spawn_then_stop)
    loop.run_forever()
    loop.close()
    (handle,) = handles
    assert not handle.done()
    assert not background.running(handle)
