"""Process updates concurrently across chats but in order within one chat.

Context carry-over ("and for Python?") needs a chat's messages answered in the order
they were sent; a slow reply in one chat must not hold up the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT = 64
MAX_IN_FLIGHT = 512
"""Updates taken from the queue and not yet processed (each one is a task in python-telegram-bot)."""
MAX_QUEUED = 512
"""Updates waiting in the queue; when it is full, polling stops fetching (the rest wait on Telegram's side)."""


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of the same chat run one after the other; different chats run concurrently."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


class BoundedUpdateQueue(asyncio.Queue[object]):
    """The application's update queue, bounding the updates in flight: backpressure for a flood.

    python-telegram-bot's Application takes every update off its queue as soon as it arrives
    and makes it a task (the update processor's semaphore only bounds how many run), and its
    Updater fetches as long as it can put into the queue: a 10,000-update burst became 10,000
    tasks at once. Here `get()` waits while `max_in_flight` updates are taken and not yet
    done (the Application calls `task_done()` when an update has been processed), and `put()`
    waits while `maxsize` are queued, so polling stops fetching and the rest of a flood stays
    on Telegram's side; a webhook request waits before it is answered.
    """

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT, maxsize: int = MAX_QUEUED) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        super().__init__(maxsize)
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        """Updates taken and not yet done."""
        self._free = asyncio.Event()
        self._free.set()

    async def get(self) -> object:
        """The next update, once fewer than `max_in_flight` are in flight (meant for one consumer, the Application)."""
        while self.in_flight >= self.max_in_flight:
            self._free.clear()
            await self._free.wait()
        return await super().get()  # takes the item with get_nowait(), which counts it

    def get_nowait(self) -> object:
        item = super().get_nowait()
        self.in_flight += 1
        return item

    def task_done(self) -> None:
        super().task_done()
        if self.in_flight:
            self.in_flight -= 1
        if self.in_flight < self.max_in_flight:
            self._free.set()


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    return None
