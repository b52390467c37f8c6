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
MAX_BACKOFF = 300.0
"""Longest wait between two tries at an unwritable heartbeat file."""

_LOG = logging.getLogger(__name__)


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def touch(path: Path, now: float | None = None) -> None:
    """Mark `path` as refreshed at `now` (default: the current time) through its modification time.

    An existing file only has its time set, no data written: on a full disk the log stops but
    the bot still answers, and its heartbeat must not say otherwise. A missing file is created empty."""
    stamp = time.time() if now is None else now
    try:
        os.utime(path, (stamp, stamp))
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (stamp, stamp))


def is_fresh(path: Path, max_age: float = MAX_AGE, now: float | None = None) -> bool:
    """Whether `path` was refreshed less than `max_age` seconds ago."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return False
    return 0 <= (time.time() if now is None else now) - stamp < max_age


def health_problem(path: Path, max_age: float = MAX_AGE, now: float | None = None) -> str | None:
    """Why the bot does not look healthy (None when `path` is fresh), in one line for `faqbot health`."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        why = "the bot is not running, is still starting, cannot reach Telegram, or uses another FAQBOT_DATA_DIR"
        return f"no heartbeat file at {path}: {why}"
    except OSError as exc:
        return f"cannot read the heartbeat file {path}: {exc}"
    age = (time.time() if now is None else now) - stamp
    if age < 0:
        return f"the heartbeat file {path} is dated in the future (clock change?)"
    if age >= max_age:
        return f"the heartbeat file {path} is {age:.0f}s old (more than {max_age:.0f}s): the bot is stuck, stopped or cannot reach Telegram"
    return None


class Heartbeat:
    """Refreshes the heartbeat file every `interval` seconds while `alive()` is true; removes it on `stop()`.

    An unwritable file is logged once (and once more when it works again), and retried with a
    doubling wait up to MAX_BACKOFF, not every RECHECK.
    """

    def __init__(self, path: Path, alive: Callable[[], bool], interval: float = INTERVAL) -> None:
        self.path = path
        self._alive = alive
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="faqbot-heartbeat")

    async def stop(self) -> None:
        """Stop beating and remove the file, so `faqbot health` fails at once after a clean stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)

    async def _run(self) -> None:
        failing = 0.0  # the current wait after failed writes (0: the last write worked)
        while True:
            beat = False
            try:
                if self._alive():
                    touch(self.path)
                    beat = True
                    if failing:
                        _LOG.info("heartbeat file %s is writable again", self.path)
                        failing = 0.0
            except OSError as exc:
                if not failing:
                    _LOG.warning(
                        "cannot write heartbeat file %s: %s (retrying with back-off; in Docker, `chown 10001` a bind-mounted folder)",
                        self.path,
                        exc,
                    )
                failing = min(MAX_BACKOFF, max(self._interval, failing * 2))
                await asyncio.sleep(failing)
                continue
            # Until the first beat (start-up, or Telegram unreachable) look again soon.
            await asyncio.sleep(self._interval if beat else min(self._interval, RECHECK))
