"""BoundedUpdateQueue: at most `max_in_flight` updates taken and not done; a full queue makes the producer wait."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.ordering import BoundedUpdateQueue


async def test_get_waits_while_max_in_flight_updates_are_not_done() -> None:
    queue = BoundedUpdateQueue(max_in_flight=2, maxsize=10)
    for item in range(3):
        await queue.put(item)
    assert [await queue.get(), await queue.get()] == [0, 1]
    assert queue.in_flight == 2
    third = asyncio.create_task(queue.get())
    await asyncio.sleep(0.05)
    assert not third.done()
    queue.task_done()
    assert await asyncio.wait_for(third, 1) == 2
    assert queue.in_flight == 2


async def test_put_waits_while_the_queue_is_full() -> None:
    queue = BoundedUpdateQueue(max_in_flight=1, maxsize=2)
    await queue.put("a")
    await queue.put("b")
    late = asyncio.create_task(queue.put("c"))
    await asyncio.sleep(0.05)
    assert not late.done()
    assert await queue.get() == "a"
    await asyncio.wait_for(late, 1)
    assert queue.qsize() == 2


async def test_draining_without_waiting_and_task_done_stay_balanced() -> None:
    queue = BoundedUpdateQueue(max_in_flight=1, maxsize=5)
    for item in range(3):
        queue.put_nowait(item)
    assert await queue.get() == 0
    drained = []
    while not queue.empty():  # what Application does with pending updates at shutdown
        drained.append(queue.get_nowait())
        queue.task_done()
    queue.task_done()
    assert drained == [1, 2]
    assert queue.in_flight == 0
    await asyncio.wait_for(queue.join(), 1)
    with pytest.raises(ValueError, match="max_in_flight"):
        BoundedUpdateQueue(max_in_flight=0)
