"""`faqbot chat --log` and `faqbot ask --log`: record console replies in the conversation log, as the bot does.

The records are the bot's own (`bot.maintenance.events.question_event`), with chat type
"console" and, as user, a number derived from the conversation id (one per `--jsonl`
conversation, one for a chat session), so `faqbot report` and /stats treat them like
Telegram questions.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import zlib
from pathlib import Path
from types import TracebackType

from bot.engine.models import Reply
from bot.engine.text import normalise
from bot.maintenance.events import question_event
from bot.maintenance.storage import Store


class LogUnavailable(RuntimeError):
    """The conversation log cannot be opened (the message says where and why)."""


class ConsoleLog:
    """A synchronous front to `Store` for the console commands: `with ConsoleLog(path, salt, symbols) as log: log.record(...)`."""

    def __init__(self, path: Path, salt: str, symbols: dict[str, str] | None = None) -> None:
        self.path = path
        self._symbols = symbols or {}
        self._runner = asyncio.Runner()
        self._store = Store(path, salt)
        self.recorded = 0

    def __enter__(self) -> ConsoleLog:
        """Open the log; raises LogUnavailable when the file cannot be a database (a folder, another file, no room)."""
        try:
            self._runner.run(self._store.open())
        except (sqlite3.Error, OSError) as exc:
            self._runner.close()
            raise LogUnavailable(f"cannot open the conversation log {self.path}: {exc}") from exc
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._runner.run(self._store.close())
        finally:
            self._runner.close()

    def record(self, text: str, reply: Reply, conversation: str | None, latency_ms: float = 0.0) -> None:
        """Queue the record of one reply (written at the latest when the log is closed)."""
        user = zlib.crc32((conversation or "console").encode("utf-8"))
        event = question_event(
            reply,
            at=time.time(),
            user_id=user,
            chat_type="console",
            text=text,
            normalised=normalise(text, self._symbols),
            latency_ms=latency_ms,
        )
        self._runner.run(self._store.question(event))
        self.recorded += 1
