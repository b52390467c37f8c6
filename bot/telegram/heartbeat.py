"""A file the running bot refreshes periodically, so a container HEALTHCHECK can tell it is alive.

The bot writes the file only while it is actually serving (the application and its
updater run and, in polling mode, Telegram answered recently), so a stuck or
disconnected bot goes stale and `faqbot health` fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

INTERVAL = 15.0
MAX_AGE = 60.0
FILE_NAME = "heartbeat"
RECHECK = 0.5

_LOG = logging.getLogger(__name__)


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def touch(path: Path, now: float | None = None) -> None:
    """Write the current time to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{time.time() if now is None else now:.3f}\n", encoding="utf-8")
    os.replace(temporary, path)


def is_fresh(path: Path, max_age: float = MAX_AGE, now: float | None = None) -> bool:
    """Whether `path` was refreshed less than `max_age` seconds ago."""
    try:
        stamp = float(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    return 0 <= (time.time() if now is None else now) - stamp < max_age


class Heartbeat:
    """Refreshes the heartbeat file every `interval` seconds while `alive()` is true."""

    def __init__(self, path: Path, alive: Callable[[], bool], interval: float = INTERVAL) -> None:
        self.path = path
        self._alive = alive
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="faqbot-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            beat = False
            try:
                if self._alive():
                    touch(self.path)
                    beat = True
            except OSError as exc:
                _LOG.warning("cannot write heartbeat file %s: %s", self.path, exc)
            # Until the first beat (start-up, or Telegram unreachable) look again soon.
            await asyncio.sleep(self._interval if beat else min(self._interval, RECHECK))
