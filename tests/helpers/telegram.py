"""Helpers for the Telegram tests: an in-memory recorder, settings, and a bot application driven by process_update."""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update

from bot.engine.core import Engine, EngineHolder
from bot.maintenance.events import (
    FeedbackCount,
    FeedbackEvent,
    IntentCount,
    QuestionEvent,
    Recorder,
    Stats,
    StoredQuestion,
    hash_user,
)
from bot.maintenance.reload import Reloader
from bot.maintenance.storage import start_of_day
from bot.settings import Settings
from bot.telegram.app import AnyApplication, build_application
from tests.helpers import FIXTURE_KB, VECTOR_CACHE
from tests.telegram.factories import TOKEN, Factory
from tests.telegram.recording import Call, RecordingRequest


class MemoryRecorder:
    """A `Recorder` keeping its events in lists (`asked`, `feedbacks`); the SQLite one is bot.maintenance.storage.Store."""

    def __init__(self, salt: str = "memory") -> None:
        self.salt = salt
        self.asked: list[QuestionEvent] = []
        self.feedbacks: list[FeedbackEvent] = []
        self.opened = False
        self.closed = False

    async def open(self) -> MemoryRecorder:
        self.opened = True
        return self

    async def close(self) -> None:
        self.closed = True

    async def question(self, event: QuestionEvent) -> None:
        self.asked.append(event)

    async def feedback(self, event: FeedbackEvent) -> None:
        self.feedbacks.append(event)

    async def forget(self, user_id: int) -> int:
        before = len(self.asked) + len(self.feedbacks)
        self.asked = [e for e in self.asked if e.user_id != user_id]
        self.feedbacks = [e for e in self.feedbacks if e.user_id != user_id]
        return before - len(self.asked) - len(self.feedbacks)

    async def questions(self, since: float, until: float | None = None) -> list[StoredQuestion]:
        end = math.inf if until is None else until
        return [
            StoredQuestion(
                e.at,
                hash_user(e.user_id, self.salt),
                e.chat_type,
                e.text,
                e.normalised,
                e.intent,
                e.score,
                e.fallback,
                e.suggestions,
                e.latency_ms,
                e.answer_id,
            )
            for e in sorted(self.asked, key=lambda e: e.at)
            if since <= e.at < end
        ]

    async def feedback_counts(self, since: float, until: float | None = None) -> list[FeedbackCount]:
        end = math.inf if until is None else until
        counts: dict[str | None, list[int]] = {}
        for e in self.feedbacks:
            if since <= e.at < end:
                counts.setdefault(e.intent, [0, 0])[0 if e.helpful else 1] += 1
        ranked = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0] or ""))
        return [FeedbackCount(intent, helpful, unhelpful) for intent, (helpful, unhelpful) in ranked]

    async def stats(self, now: float | None = None, top: int = 5) -> Stats:
        now = time.time() if now is None else now
        week = [e for e in self.asked if now - 7 * 86400 <= e.at <= now]
        today = [e for e in week if e.at >= start_of_day(now)]
        intents = Counter(e.intent for e in week if e.intent is not None and not e.fallback)
        ranked = sorted(intents.items(), key=lambda item: (-item[1], item[0]))[:top]
        return Stats(len(today), len(week), sum(e.fallback for e in week), tuple(IntentCount(i, n) for i, n in ranked))


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "faqbot_data_dir": tmp_path / "data",
        "faqbot_kb": FIXTURE_KB,
        "telegram_api_url": "http://127.0.0.1:9/bot",
        "telegram_file_url": "http://127.0.0.1:9/file/bot",
        "mode": "polling",
        "webhook_url": None,
        "webhook_secret": None,
        "user_rate": 20,
        "user_hash_salt": "test-salt",
        "log_level": "INFO",
        "faqbot_reload_watch": False,  # tests that want the watcher turn it on
        "faqbot_cache_dir": VECTOR_CACHE,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings accepts it (no mypy plugin)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step, so a reload never reads it half-written (the temporary name is not watched)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


@dataclass
class Harness:
    """A bot application whose Bot API calls are recorded, fed updates through process_update."""

    app: AnyApplication
    request: RecordingRequest
    recorder: Any
    """A MemoryRecorder unless `started` was given another recorder (e.g. a bot.maintenance.storage.Store)."""
    holder: EngineHolder
    make: Factory = field(default_factory=Factory)

    async def send(self, data: dict[str, Any]) -> list[Call]:
        """Process one update (Bot API JSON); return the calls it caused."""
        before = len(self.request.calls)
        await self.app.process_update(Update.de_json(data, self.app.bot))
        return self.request.calls[before:]

    async def sent_texts(self, data: dict[str, Any]) -> list[str]:
        return [c.params["text"] for c in await self.send(data) if c.method == "sendMessage"]


class started:
    """`async with started(engine, settings) as harness`: an initialised application with a recording request.

    Reloads skip the slow confusion check unless `check_confusions` is set.
    """

    def __init__(self, engine: Engine, settings: Settings, recorder: Recorder | None = None, *, check_confusions: bool = False) -> None:
        self.holder = EngineHolder(engine)
        self.request = RecordingRequest()
        self.recorder = recorder if recorder is not None else MemoryRecorder()
        self.app = build_application(
            settings,
            self.holder,
            self.recorder,
            request=self.request,
            updates_request=RecordingRequest(),
            check_confusions=check_confusions,
        )

    async def __aenter__(self) -> Harness:
        await self.app.initialize()
        return Harness(self.app, self.request, self.recorder, self.holder)

    async def __aexit__(self, *exc: object) -> None:
        await self.app.shutdown()


def reloader_of(app: AnyApplication) -> Reloader:
    """The `Reloader` of an application built by `build_application` (held by its admin command handlers)."""
    for group in app.handlers.values():
        for handler in group:
            reloader = getattr(getattr(inspect.unwrap(handler.callback), "__self__", None), "reloader", None)
            if isinstance(reloader, Reloader):
                return reloader
    raise LookupError("no handler holds the Reloader")


async def watcher_started(app: AnyApplication, within: float = 5) -> None:
    """Wait until the application's folder watcher sees edits (started by post_init when FAQBOT_RELOAD_WATCH is on)."""
    await asyncio.wait_for(reloader_of(app).watching.wait(), within)
