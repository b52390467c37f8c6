"""The conversation log: every handled question and every 👍/👎, in SQLite.

`Store` implements `bot.maintenance.events.Recorder`. Writes never wait on disk: `question()` and
`feedback()` put the event in an asyncio queue and return; a background task writes
what has queued up in one transaction at least every `flush_interval` seconds (or as
soon as `batch_size` rows are waiting). `close()` writes everything still queued.

Crash safety: the database runs in WAL mode with `synchronous=NORMAL`, so a killed
process loses at most the rows queued since the last flush (half a second by default)
and never leaves a corrupt file: a batch is committed whole or not at all.

Failures: texts are cleaned before writing (a lone surrogate becomes U+FFFD). A batch that meets a
locked or full database is retried with backoff for as long as the bot runs, and meanwhile
`mark_handled` does not wait for it (answering never waits on the log). Once the store is closing,
the first such batch gets a few attempts and every later one a single attempt, then each is dropped
and counted, so a stop on a full disk stays within a stop's grace period. A batch that fails
otherwise is written row by row, so only the rows that cannot be written are dropped. Meanwhile
the queue is bounded in bytes (`max_queue_bytes`, texts included) and by count: what does not fit
is dropped and counted in `dropped`, never blocking a reply.

Feedback is one row per user and answer: tapping 👍 again (or 👎 after 👍) updates that row.

Updates handled: `mark_handled(update_id)` records that a Telegram update was handled
(answered, or deliberately dropped) and returns once that is committed, in the same
transaction as the rows the update queued before, so after a crash an update is either
recorded with its rows (a restarted bot skips it: `handled_among`) or not at all (it is
handled again, its rows written once). Ids are kept `HANDLED_KEEP_DAYS` (Telegram keeps an
unconfirmed update for 24 hours).

Privacy: users are stored as a salted HMAC-SHA256 of their id (`events.hash_user`, the
same value the update log lines print), never the raw id, name or username. `forget()`
deletes one user's rows; `purge()` blanks question texts older than the retention period.
The database keeps a fingerprint of the salt it was first written with (`salt_matches`), so
`forget()` with another salt raises `SaltMismatch` instead of quietly deleting nothing.

The schema is created and upgraded by `MIGRATIONS` (an ordered list; the number of
applied steps is kept in `schema_version`), so an older database file is upgraded in
place on start, nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.engine.text import clean
from bot.maintenance.events import (
    FeedbackCount,
    FeedbackEvent,
    IntentCount,
    QuestionEvent,
    Scored,
    Stats,
    StoredQuestion,
    hash_user,
)

log = logging.getLogger(__name__)

LOG_EVERY = 60.0
"""A problem that repeats (a full queue drops every new record; a locked or full database is retried every few
seconds) is logged at once, then in one line a minute with how often it happened meanwhile: an hour's outage
under load would otherwise write one line per record."""


class _Throttled:
    """Logs the first of a run of like warnings at once, then at most one line per `every` seconds with a count."""

    def __init__(self, every: float = LOG_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last: float | None = None
        self._since = 0

    def warning(self, message: str, *args: object) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.every:
            self._since += 1
            return
        more = f" ({self._since} more like it in the last {now - self._last:.0f} s)" if self._since and self._last is not None else ""
        log.warning("%s%s", message % args, more)
        self._last, self._since = now, 0


DATABASE_FILE = "faqbot.sqlite3"
PAGE_CACHE_KIB = 256
"""SQLite's page cache for the log's connection (its default is 2,000 KiB): the bot appends rows and the report
reads them through once, which the operating system's file cache serves as well; 1 MB less after 100,000 users."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first layout.
    (
        """CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            user_hash TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            text TEXT,
            normalised TEXT,
            intent TEXT,
            score REAL NOT NULL,
            fallback INTEGER NOT NULL,
            suggestions TEXT NOT NULL DEFAULT '[]',
            latency_ms REAL NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            user_hash TEXT NOT NULL,
            answer_id TEXT NOT NULL,
            helpful INTEGER NOT NULL
        )""",
        "CREATE INDEX questions_at ON questions(at)",
    ),
    # 2: link feedback to answers and intents; indexes for forget() and reports.
    (
        "ALTER TABLE questions ADD COLUMN answer_id TEXT",
        "ALTER TABLE feedback ADD COLUMN intent TEXT",
        "CREATE INDEX questions_user ON questions(user_hash)",
        "CREATE INDEX feedback_user ON feedback(user_hash)",
        "CREATE INDEX feedback_at ON feedback(at)",
    ),
    # 3: one feedback row per user and answer (the latest tap wins); facts about the log (the salt's fingerprint).
    (
        "DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY user_hash, answer_id)",
        "CREATE UNIQUE INDEX feedback_once ON feedback(user_hash, answer_id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 4: the Telegram updates already handled, so a restarted bot does not answer them twice.
    ("CREATE TABLE handled_updates (update_id INTEGER PRIMARY KEY, at REAL NOT NULL)",),
    # 5: the decision's reason and the matcher's real candidates ([[intent, score], ...], out-of-scope last).
    (
        "ALTER TABLE questions ADD COLUMN reason TEXT",
        "ALTER TABLE questions ADD COLUMN candidates TEXT NOT NULL DEFAULT '[]'",
    ),
    # 6: one row per user, answer and intent: a vote on a message that answered two questions rates both
    # (with one row per user and answer, the second intent's row replaced the first's).
    (
        "DROP INDEX feedback_once",
        "CREATE UNIQUE INDEX feedback_once ON feedback(user_hash, answer_id, COALESCE(intent, ''))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_INSERT_QUESTION = (
    "INSERT INTO questions (at, user_hash, chat_type, text, normalised, intent, score, fallback, suggestions, latency_ms, answer_id, "
    "reason, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FEEDBACK = (
    "INSERT INTO feedback (at, user_hash, answer_id, intent, helpful) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (user_hash, answer_id, COALESCE(intent, '')) DO UPDATE SET at = excluded.at, helpful = excluded.helpful"
)
_SALT_KEY = "salt_fingerprint"
_RETRYABLE = ("locked", "busy", "disk is full", "disk i/o error")
CLOSING_RETRIES = 3
"""Attempts left for a batch meeting a locked or full database once the store is closing (after one is dropped: one each)."""
BUSY_TIMEOUT = 2.0
"""Seconds a write waits for another connection's lock before it is retried with backoff: long enough for another
program's short transaction (`faqbot forget`; in WAL mode readers never block), short enough that a stop never
waits behind it for long (it was 10 s, and a stop on a locked database then outlasted Docker's 10 s grace)."""
CLOSING_BUSY_TIMEOUT = 0.5
"""The same wait once the store is closing, with at most CLOSING_BACKOFF between attempts: all the closing attempts
of a locked database fit in about 2 s after the one under way."""
CLOSING_BACKOFF = 0.2
MAX_BACKOFF = 5.0
_INSERT_HANDLED = "INSERT OR IGNORE INTO handled_updates (update_id, at) VALUES (?, ?)"
HANDLED_KEEP_DAYS = 2.0
"""How long handled update ids are remembered (Telegram re-sends an unconfirmed update for up to 24 hours)."""
_QUESTION_COLUMNS = (
    "at, user_hash, chat_type, text, normalised, intent, score, fallback, suggestions, latency_ms, answer_id, reason, candidates"
)


class StorageError(Exception):
    """The database cannot be used (e.g. it was written by a newer version of the bot)."""


class SaltMismatch(StorageError):
    """The log was written with another USER_HASH_SALT: its user hashes cannot be matched with this one."""


def salt_fingerprint(salt: str) -> str:
    """Identifies a salt without revealing it (HMAC-SHA256 of a fixed text, keyed with the salt; 16 hex digits)."""
    return hmac.new(salt.encode("utf-8"), b"faqbot salt fingerprint", hashlib.sha256).hexdigest()[:16]


def event_size(event: QuestionEvent | FeedbackEvent) -> int:
    """Roughly the bytes an event holds in memory while it is queued (its texts included)."""
    if isinstance(event, FeedbackEvent):
        return 400
    return 600 + sys.getsizeof(event.text) + sys.getsizeof(event.normalised) + 80 * len(event.suggestions)


@dataclass(frozen=True)
class _Barrier:
    done: asyncio.Future[None]


@dataclass(frozen=True)
class _Handled:
    update_id: int
    done: asyncio.Future[None]


class _Stop:
    pass


_Item = QuestionEvent | FeedbackEvent | _Barrier | _Stop | _Handled


def start_of_day(now: float) -> float:
    """Unix time of the last local midnight before `now`."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class Store:
    """The SQLite conversation log. Use `async with Store(path, salt) as store:` or `await store.open()` / `await store.close()`."""

    def __init__(
        self,
        path: Path,
        salt: str,
        *,
        flush_interval: float = 0.5,
        batch_size: int = 500,
        max_queue: int = 100_000,
        max_queue_bytes: int = 16 * 2**20,
        busy_timeout: float = BUSY_TIMEOUT,
        closing_busy_timeout: float = CLOSING_BUSY_TIMEOUT,
        retry_backoff: float = 0.5,
        retention_days: int | None = None,
        purge_every: float = 3600.0,
    ) -> None:
        if not salt:
            raise ValueError("the user hash salt must not be empty")
        self.path = Path(path)
        self._salt = salt
        self._interval = flush_interval
        self._batch_size = batch_size
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_queue)
        self._max_bytes = max_queue_bytes
        self.queued_bytes = 0
        """Estimated bytes of the events waiting in the queue (see `event_size`)."""
        self._busy_timeout = busy_timeout
        self._closing_busy_timeout = closing_busy_timeout
        self._backoff = retry_backoff
        self._drop_log = _Throttled()
        self._waits_less = False
        self._retry_log = _Throttled()
        self.salt_matches = True
        """False when the database was first written with another salt (see `SaltMismatch`)."""
        self._wake = asyncio.Event()
        self._conn: aiosqlite.Connection | None = None
        self._writer: asyncio.Task[None] | None = None
        self._janitor: asyncio.Task[None] | None = None
        self._retention_days = retention_days
        self._purge_every = purge_every
        self._closing = False
        self._gave_up = False
        """Closing, a batch was dropped on a locked or full database: the later ones get one attempt each."""
        self._stuck = asyncio.Event()
        """Set while a batch meets a locked or full database (it is being retried): `mark_handled` stops waiting."""
        self.dropped = 0
        """Events dropped: the queue was full, the store closed, or a row could not be written (never blocking a reply)."""
        self.retries = 0
        """Batches retried on a locked or full database (each retry; logged once a minute, see LOG_EVERY)."""

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> Store:
        """Connect, create or upgrade the schema, and start the background writer."""
        if self._conn is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connecting = aiosqlite.connect(self.path, isolation_level=None, timeout=self._busy_timeout)
        try:
            conn = await connecting
        except BaseException:
            await _worker_stopped(connecting)
            raise
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            await migrate(conn)
            self.salt_matches = await _check_salt(conn, salt_fingerprint(self._salt))
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._closing = self._gave_up = self._waits_less = False
        self._stuck.clear()
        with contextlib.suppress(sqlite3.Error):
            await self.prune_handled()
        self._writer = asyncio.create_task(self._write_loop(), name="faqbot-store-writer")
        if self._retention_days is not None:
            self._janitor = asyncio.create_task(self._purge_loop(self._retention_days), name="faqbot-store-purge")
        return self

    async def close(self) -> None:
        """Write everything queued, stop the writer and close the database."""
        if self._conn is None:
            return
        self._closing = True
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        if self._writer is not None:
            if not self._writer.done():
                await self._queue.put(_Stop())
                self._wake.set()
            await self._writer
            self._writer = None
        await self._conn.close()
        self._conn = None

    async def __aenter__(self) -> Store:
        return await self.open()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- Recorder ------------------------------------------------------------------------

    async def question(self, event: QuestionEvent) -> None:
        """Queue a handled question; returns at once."""
        self._enqueue(event)

    async def feedback(self, event: FeedbackEvent) -> None:
        """Queue a 👍/👎; returns at once."""
        self._enqueue(event)

    async def forget(self, user_id: int) -> int:
        """Delete every question and feedback row of this user (queued ones too); return how many.

        Raises `SaltMismatch` if the log was written with another salt (the user's rows could not be found).
        """
        if not self.salt_matches:
            raise SaltMismatch(
                f"the conversation log {self.path} was written with another USER_HASH_SALT: "
                "its user hashes cannot be matched; set the salt it was written with"
            )
        conn = await self._flushed()
        user = self.hash_user(user_id)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            questions = await conn.execute("DELETE FROM questions WHERE user_hash = ?", (user,))
            feedback = await conn.execute("DELETE FROM feedback WHERE user_hash = ?", (user,))
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
        return max(questions.rowcount, 0) + max(feedback.rowcount, 0)

    # -- maintenance -----------------------------------------------------------------------

    # -- handled updates -------------------------------------------------------------------

    async def mark_handled(self, update_id: int) -> None:
        """Record that update `update_id` was handled; return once it is committed with the rows queued before it.

        Written at once (not after `flush_interval`), together with whatever else is queued.
        Returns at once, recording nothing, when the store is closed or its queue is full; a
        failed write is logged and counted in `dropped` (the update then counts as handled
        in this process only). While the database is locked or full (a batch is being
        retried) it returns without waiting: the id is written with the update's rows once
        the database can be written again, or lost with them if the bot stops first.
        """
        if self._closing or self._writer is None or self._writer.done():
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Handled(update_id, done))
        except asyncio.QueueFull:
            self.dropped += 1
            self._drop_log.warning("store queue is full (%d): update %d not recorded as handled", self._queue.maxsize, update_id)
            return
        self._wake.set()
        stuck = asyncio.ensure_future(self._stuck.wait())
        try:  # like a shield: being cancelled does not cancel the write
            await asyncio.wait((done, stuck), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stuck.cancel()

    async def handled_among(self, update_ids: Sequence[int]) -> set[int]:
        """Those of `update_ids` recorded as handled (committed), e.g. by a previous run of the bot."""
        if not update_ids or self._conn is None:
            return set()
        marks = ",".join("?" * len(update_ids))
        cursor = await self._conn.execute(f"SELECT update_id FROM handled_updates WHERE update_id IN ({marks})", tuple(update_ids))
        return {int(row[0]) for row in await cursor.fetchall()}

    async def prune_handled(self, older_than_days: float = HANDLED_KEEP_DAYS, now: float | None = None) -> int:
        """Forget handled update ids older than `older_than_days`; return how many."""
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        cursor = await self._connection().execute("DELETE FROM handled_updates WHERE at < ?", (cutoff,))
        return max(cursor.rowcount, 0)

    # -- maintenance -----------------------------------------------------------------------

    def hash_user(self, user_id: int) -> str:
        return hash_user(user_id, self._salt)

    async def flush(self) -> None:
        """Return once everything queued before this call is written."""
        if self._writer is None or self._writer.done():
            raise RuntimeError("the store is not open")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Barrier(done))
        self._wake.set()
        await done

    async def purge(self, older_than_days: float, now: float | None = None) -> int:
        """Blank the text of questions older than `older_than_days`; return how many were blanked."""
        conn = await self._flushed()
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        cursor = await conn.execute(
            "UPDATE questions SET text = NULL, normalised = NULL WHERE at < ? AND (text IS NOT NULL OR normalised IS NOT NULL)", (cutoff,)
        )
        return max(cursor.rowcount, 0)

    async def schema_version(self) -> int:
        return await _version(self._connection())

    # -- queries ---------------------------------------------------------------------------

    async def questions(self, since: float, until: float | None = None) -> list[StoredQuestion]:
        """The questions asked in [since, until), oldest first."""
        conn = await self._flushed()
        until = time.time() + 1 if until is None else until
        cursor = await conn.execute(f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE at >= ? AND at < ? ORDER BY at, id", (since, until))
        rows = await cursor.fetchall()
        return [_stored_question(row) for row in rows]

    async def feedback_counts(self, since: float, until: float | None = None) -> list[FeedbackCount]:
        """👍/👎 per intent in [since, until), most feedback first."""
        conn = await self._flushed()
        until = time.time() + 1 if until is None else until
        cursor = await conn.execute(
            "SELECT intent, SUM(helpful != 0), SUM(helpful = 0) FROM feedback WHERE at >= ? AND at < ? "
            "GROUP BY intent ORDER BY COUNT(*) DESC, intent",
            (since, until),
        )
        return [FeedbackCount(row[0], int(row[1]), int(row[2])) for row in await cursor.fetchall()]

    async def stats(self, now: float | None = None, top: int = 5) -> Stats:
        """Questions today and in the last 7 days, fallbacks, and the most asked intents."""
        conn = await self._flushed()
        now = time.time() if now is None else now
        week = now - 7 * 86400
        cursor = await conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(fallback != 0), 0), COALESCE(SUM(at >= ?), 0) FROM questions WHERE at >= ? AND at <= ?",
            (start_of_day(now), week, now),
        )
        row = await cursor.fetchone()
        total, fallbacks, today = (int(v) for v in row) if row else (0, 0, 0)
        cursor = await conn.execute(
            "SELECT intent, COUNT(*) AS n FROM questions WHERE at >= ? AND at <= ? AND intent IS NOT NULL AND fallback = 0 "
            "GROUP BY intent ORDER BY n DESC, intent LIMIT ?",
            (week, now, top),
        )
        top_intents = tuple(IntentCount(r[0], int(r[1])) for r in await cursor.fetchall())
        return Stats(today, total, fallbacks, top_intents)

    # -- internals -------------------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("the store is not open")
        return self._conn

    async def _flushed(self) -> aiosqlite.Connection:
        conn = self._connection()
        await self.flush()
        return conn

    def _enqueue(self, event: QuestionEvent | FeedbackEvent) -> None:
        if self._closing or self._writer is None or self._writer.done():
            self.dropped += 1
            self._drop_log.warning("store is closed: dropped a %s event", type(event).__name__)
            return
        size = event_size(event)
        if self.queued_bytes + size > self._max_bytes:
            self.dropped += 1
            self._drop_log.warning("store queue is full (%d bytes): dropped a %s event", self._max_bytes, type(event).__name__)
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            self._drop_log.warning("store queue is full (%d): dropped a %s event", self._queue.maxsize, type(event).__name__)
            return
        self.queued_bytes += size
        if self._queue.qsize() >= self._batch_size:
            self._wake.set()

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = self._taken(await self._queue.get())
            items = [first]
            deadline = loop.time() + self._interval
            urgent = isinstance(first, _Handled)  # a handled update waits for its commit: write now
            while not isinstance(items[-1], _Barrier | _Stop):
                self._wake.clear()
                while len(items) < self._batch_size and not isinstance(items[-1], _Barrier | _Stop):
                    try:
                        items.append(self._taken(self._queue.get_nowait()))
                    except asyncio.QueueEmpty:
                        break
                    urgent = urgent or isinstance(items[-1], _Handled)
                remaining = deadline - loop.time()
                if urgent or len(items) >= self._batch_size or isinstance(items[-1], _Barrier | _Stop) or remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), remaining)
            events = [i for i in items if isinstance(i, QuestionEvent | FeedbackEvent)]
            handled = [i for i in items if isinstance(i, _Handled)]
            if events or handled:
                await self._write(events, [h.update_id for h in handled])
            for mark in handled:
                if not mark.done.done():
                    mark.done.set_result(None)
            last = items[-1]
            if isinstance(last, _Barrier) and not last.done.done():
                last.done.set_result(None)
            if isinstance(last, _Stop):
                return

    def _taken(self, item: _Item) -> _Item:
        if isinstance(item, QuestionEvent | FeedbackEvent):
            self.queued_bytes = max(0, self.queued_bytes - event_size(item))
        return item

    def _rows(self, event: QuestionEvent | FeedbackEvent) -> tuple[str, tuple[object, ...]]:
        """The INSERT statement and parameters of one event, texts cleaned."""
        if isinstance(event, FeedbackEvent):
            user = self.hash_user(event.user_id)
            return _INSERT_FEEDBACK, (event.at, user, clean(event.answer_id), clean(event.intent), int(event.helpful))
        suggestions = json.dumps([clean(s) for s in event.suggestions], ensure_ascii=False)
        return _INSERT_QUESTION, (
            event.at,
            self.hash_user(event.user_id),
            clean(event.chat_type),
            clean(event.text),
            clean(event.normalised),
            clean(event.intent),
            float(event.score),
            int(event.fallback),
            suggestions,
            float(event.latency_ms),
            clean(event.answer_id),
            clean(event.reason),
            json.dumps([[clean(c.intent), c.score] for c in event.candidates], ensure_ascii=False),
        )

    async def _write(self, events: Sequence[QuestionEvent | FeedbackEvent], handled: Sequence[int] = ()) -> None:
        """Write `events` (and the `handled` update ids) in one transaction; retry while the database is locked
        or full (`_stuck` set meanwhile); else row by row."""
        rows = [self._rows(e) for e in events]
        now = time.time()
        rows += [(_INSERT_HANDLED, (update_id, now)) for update_id in handled]
        attempt = 0
        while True:
            if self._closing and not self._waits_less:  # every attempt from now on, this batch's and the later ones'
                await self._wait_less(self._closing_busy_timeout)
            try:
                await self._commit(rows)
                self._stuck.clear()
                if attempt:
                    log.info("the conversation log can be written again: %d records written after %d retries", len(rows), attempt)
                return
            except sqlite3.OperationalError as exc:
                if not _retryable(exc):
                    log.warning("could not write %d conversation records (%s); writing them one by one", len(rows), exc)
                    break
                self._stuck.set()
                if self._closing and (attempt >= CLOSING_RETRIES or self._gave_up):  # one by one would meet the same
                    self._gave_up = True
                    self.dropped += len(rows)
                    log.error("closing: could not write %d conversation records (%s); they are lost", len(rows), exc)
                    return
                delay = min(CLOSING_BACKOFF if self._closing else MAX_BACKOFF, self._backoff * 2**attempt)
                attempt += 1
                self.retries += 1
                self._retry_log.warning("could not write %d conversation records (%s); retry %d in %.1f s", len(rows), exc, attempt, delay)
                await asyncio.sleep(delay)
            except Exception as exc:
                log.warning("could not write %d conversation records (%s); writing them one by one", len(rows), exc)
                break
        lost = 0
        for row in rows:
            try:
                await self._commit([row])
            except Exception:
                lost += 1
                log.exception("could not write a conversation record; it is lost")
        self.dropped += lost

    async def _wait_less(self, seconds: float) -> None:
        """Lower the connection's wait for a lock (SQLite's busy timeout) to `seconds`, for the closing attempts."""
        self._waits_less = True
        if seconds < self._busy_timeout:
            with contextlib.suppress(sqlite3.Error):
                await self._connection().execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    async def _commit(self, rows: Sequence[tuple[str, tuple[object, ...]]]) -> None:
        conn = self._connection()
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in (_INSERT_QUESTION, _INSERT_FEEDBACK, _INSERT_HANDLED):
                params = [p for s, p in rows if s == statement]
                if params:
                    await conn.executemany(statement, params)
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise

    async def _purge_loop(self, days: int) -> None:
        while True:
            try:
                blanked = await self.purge(days)
                await self.prune_handled()
                if blanked:
                    log.info("retention: blanked the text of %d questions older than %d days", blanked, days)
            except (sqlite3.Error, RuntimeError):
                log.exception("retention purge failed")
            await asyncio.sleep(self._purge_every)


def _stored_question(row: sqlite3.Row | Sequence[object]) -> StoredQuestion:
    at, user_hash, chat_type, text, normalised, intent, score, fallback, suggestions, latency_ms, answer_id, reason, candidates = tuple(row)
    parsed = _json_list(suggestions)
    return StoredQuestion(
        at=float(at),
        user_hash=str(user_hash),
        chat_type=str(chat_type),
        text=None if text is None else str(text),
        normalised=None if normalised is None else str(normalised),
        intent=None if intent is None else str(intent),
        score=float(score),
        fallback=bool(fallback),
        suggestions=tuple(str(s) for s in parsed) if isinstance(parsed, list) else (),
        latency_ms=float(latency_ms or 0.0),
        answer_id=None if answer_id is None else str(answer_id),
        reason=None if reason is None else str(reason),
        candidates=tuple(
            Scored(str(c[0]), float(c[1]))
            for c in _json_list(candidates)
            if isinstance(c, list) and len(c) == 2 and isinstance(c[1], int | float)
        ),
    )


def _is_pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int | float)


def _json_list(value: object) -> list[object]:
    """A JSON list column read back ([] when missing or malformed)."""
    try:
        parsed = json.loads(str(value)) if value else []
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


async def _rollback(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        await conn.execute("ROLLBACK")


def _retryable(exc: sqlite3.OperationalError) -> bool:
    """A failure that may pass: the database is locked or busy, or the disk is full."""
    return any(word in str(exc).lower() for word in _RETRYABLE)


async def _check_salt(conn: aiosqlite.Connection, fingerprint: str) -> bool:
    """Record the salt's fingerprint in a log that has none; say whether the log's fingerprint is this one."""
    await conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_SALT_KEY, fingerprint))
    cursor = await conn.execute("SELECT value FROM meta WHERE key = ?", (_SALT_KEY,))
    row = await cursor.fetchone()
    matches = row is None or str(row[0]) == fingerprint
    if not matches:
        log.warning("USER_HASH_SALT differs from the salt this conversation log was written with: older rows cannot be matched to users")
    return matches


async def _version(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the schema of `conn` (autocommit mode) up to `SCHEMA_VERSION`, one transaction per step; return the version."""
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
    current = await _version(conn)
    if current > SCHEMA_VERSION:
        raise StorageError(f"the database has schema version {current}, newer than this bot's {SCHEMA_VERSION}: upgrade the bot")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if await _version(conn) >= version:  # another process got there first
                await conn.execute("ROLLBACK")
                continue
            for statement in MIGRATIONS[version - 1]:
                await conn.execute(statement)
            await conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, time.time()))
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
        log.info("database schema upgraded to version %d", version)
    return SCHEMA_VERSION


WORKER_STOP_S = 5.0
"""How long to wait for the worker thread of a connection that failed to open (it has nothing to close: milliseconds)."""


async def _worker_stopped(connection: aiosqlite.Connection) -> None:
    """Wait for the worker thread of a connection that failed to open. aiosqlite queues its stop without waiting for
    it, and the thread then posts to the event loop: if the caller closed the loop first (the console commands close
    theirs at once), the thread dies with "Event loop is closed", printed over the caller's clean error."""
    thread = getattr(connection, "_thread", None)  # aiosqlite keeps it private; without it there is nothing to wait for
    if isinstance(thread, threading.Thread) and thread.is_alive():
        await asyncio.to_thread(thread.join, WORKER_STOP_S)
    await asyncio.sleep(0)  # run what the thread posted while the loop is still open
