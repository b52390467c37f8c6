"""The SQLite conversation log: schema and migration, privacy, retention, queued writes, crash safety."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.maintenance.events import FeedbackEvent, QuestionEvent, Scored, hash_user
from bot.maintenance.storage import (
    BUSY_TIMEOUT,
    CLOSING_RETRIES,
    MIGRATIONS,
    SCHEMA_VERSION,
    SaltMismatch,
    StorageError,
    Store,
    _Throttled,
    start_of_day,
)

SALT = "test-salt"
NOW = 1_700_000_000.0


def q(
    user: int = 1,
    text: str = "how much does a backend dev earn",
    *,
    at: float = NOW,
    intent: str | None = "salary",
    score: float = 0.9,
    fallback: bool = False,
    answer_id: str | None = None,
) -> QuestionEvent:
    return QuestionEvent(
        at=at,
        user_id=user,
        chat_type="private",
        text=text,
        normalised=text.lower(),
        intent=intent,
        score=score,
        fallback=fallback,
        suggestions=("salary", "career_path"),
        latency_ms=12.5,
        answer_id=answer_id,
    )


def fb(user: int = 1, answer_id: str = "1:1", intent: str | None = "salary", helpful: bool = True, at: float = NOW) -> FeedbackEvent:
    return FeedbackEvent(at=at, user_id=user, answer_id=answer_id, intent=intent, helpful=helpful)


def rows(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read with a separate, plain connection: what is really on disk."""
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql, params))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "log.sqlite3", SALT, flush_interval=0.05) as opened:
        yield opened


async def test_new_database_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "new.sqlite3"
    async with Store(path, SALT) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    columns = {r[1] for r in rows(path, "PRAGMA table_info(questions)")}
    assert {
        "at",
        "user_hash",
        "chat_type",
        "text",
        "normalised",
        "intent",
        "score",
        "fallback",
        "suggestions",
        "latency_ms",
        "answer_id",
    } <= columns
    assert {"at", "user_hash", "answer_id", "intent", "helpful"} <= {r[1] for r in rows(path, "PRAGMA table_info(feedback)")}
    assert [r[0] for r in rows(path, "SELECT version FROM schema_version ORDER BY version")] == list(range(1, SCHEMA_VERSION + 1))


def make_v1_file(path: Path) -> None:
    """The version-1 layout, written independently of the code under test, with some rows."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL);
            INSERT INTO schema_version VALUES (1, 1600000000);
            CREATE TABLE questions (id INTEGER PRIMARY KEY, at REAL NOT NULL, user_hash TEXT NOT NULL, chat_type TEXT NOT NULL,
                text TEXT, normalised TEXT, intent TEXT, score REAL NOT NULL, fallback INTEGER NOT NULL,
                suggestions TEXT NOT NULL DEFAULT '[]', latency_ms REAL NOT NULL DEFAULT 0);
            CREATE TABLE feedback (id INTEGER PRIMARY KEY, at REAL NOT NULL, user_hash TEXT NOT NULL,
                answer_id TEXT NOT NULL, helpful INTEGER NOT NULL);
            CREATE INDEX questions_at ON questions(at);
        """)
        conn.executemany(
            "INSERT INTO questions (at, user_hash, chat_type, text, normalised, intent, score, fallback, suggestions, latency_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (NOW - i, hash_user(7, SALT), "private", f"old question {i}", f"old question {i}", "salary", 0.5, i % 2, '["salary"]', 3.0)
                for i in range(5)
            ],
        )
        conn.execute("INSERT INTO feedback (at, user_hash, answer_id, helpful) VALUES (?, ?, ?, ?)", (NOW, hash_user(7, SALT), "9:9", 0))


async def test_version_1_file_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    make_v1_file(path)
    async with Store(path, SALT) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        old = await store.questions(0)
        assert sorted(r.text or "" for r in old) == [f"old question {i}" for i in range(5)]
        assert {r.answer_id for r in old} == {None}
        assert sum(r.fallback for r in old) == 2
        assert old[0].suggestions == ("salary",)
        await store.question(q(user=8, answer_id="5:6"))
        await store.feedback(fb(user=8, answer_id="5:6", intent="salary"))
    assert rows(path, "SELECT COUNT(*) FROM questions") == [(6,)]
    assert rows(path, "SELECT answer_id, intent, helpful FROM feedback ORDER BY id") == [("9:9", None, 0), ("5:6", "salary", 1)]
    # A second start on the upgraded file changes nothing.
    async with Store(path, SALT) as store:
        assert len(await store.questions(0)) == 6
    assert rows(path, "SELECT COUNT(*) FROM schema_version") == [(SCHEMA_VERSION,)]


async def test_a_database_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match="newer"):
        await Store(path, SALT).open()


async def test_rows_are_stored_with_a_salted_hash_never_the_raw_id(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT) as store:
        await store.question(q(user=987654321, answer_id="10:20"))
        await store.feedback(fb(user=987654321, answer_id="10:20"))
        stored = await store.questions(0)
    assert len(stored) == 1
    assert stored[0].user_hash == hash_user(987654321, SALT) != hash_user(987654321, "other-salt")
    assert stored[0].suggestions == ("salary", "career_path")
    assert stored[0].answer_id == "10:20"
    for name in os.listdir(tmp_path):
        assert b"987654321" not in (tmp_path / name).read_bytes()


async def test_forget_deletes_every_row_of_one_user_including_queued_ones(tmp_path: Path) -> None:
    async with Store(tmp_path / "log.sqlite3", SALT, flush_interval=30) as store:
        for i in range(3):
            await store.question(q(user=1, text=f"mine {i}"))
        await store.question(q(user=2, text="theirs"))
        await store.feedback(fb(user=1))
        await store.feedback(fb(user=2))
        assert await store.forget(1) == 4
        assert await store.forget(1) == 0
        remaining = await store.questions(0)
        assert [r.text for r in remaining] == ["theirs"]
        assert [(c.intent, c.helpful, c.unhelpful) for c in await store.feedback_counts(0)] == [("salary", 1, 0)]


async def test_purge_blanks_only_texts_older_than_the_retention(store: Store) -> None:
    await store.question(q(text="ancient", at=NOW - 100 * 86400))
    await store.question(q(text="old", at=NOW - 91 * 86400))
    await store.question(q(text="recent", at=NOW - 10 * 86400))
    assert await store.purge(90, now=NOW) == 2
    assert await store.purge(90, now=NOW) == 0
    stored = await store.questions(0)
    assert [(r.text, r.normalised) for r in stored] == [(None, None), (None, None), ("recent", "recent")]
    assert [r.intent for r in stored] == ["salary"] * 3  # the statistics stay


async def test_retention_setting_purges_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT) as store:
        await store.question(q(text="too old", at=time.time() - 40 * 86400))
        await store.question(q(text="fresh", at=time.time()))
    async with Store(path, SALT, retention_days=30, purge_every=0.05) as store:
        for _ in range(100):
            if rows(path, "SELECT COUNT(*) FROM questions WHERE text IS NULL") == [(1,)]:
                break
            await asyncio.sleep(0.02)
        assert sorted(str(r.text) for r in await store.questions(0)) == ["None", "fresh"]


async def test_writes_are_queued_and_flushed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=0.1, batch_size=1000) as store:
        for i in range(20):
            await store.question(q(text=f"q{i}"))
        assert rows(path, "SELECT COUNT(*) FROM questions") == [(0,)]  # nothing waited on disk
        deadline = time.monotonic() + 3
        while rows(path, "SELECT COUNT(*) FROM questions") != [(20,)]:
            assert time.monotonic() < deadline, "the background writer did not flush"
            await asyncio.sleep(0.02)


async def test_a_full_batch_is_written_without_waiting_for_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=60, batch_size=10) as store:
        for i in range(10):
            await store.question(q(text=f"q{i}"))
        deadline = time.monotonic() + 3
        while rows(path, "SELECT COUNT(*) FROM questions") != [(10,)]:
            assert time.monotonic() < deadline, "a full batch was not written"
            await asyncio.sleep(0.02)
        await store.question(q(text="one more"))
        await asyncio.sleep(0.1)
        assert rows(path, "SELECT COUNT(*) FROM questions") == [(10,)]


async def test_close_writes_everything_still_queued(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    store = await Store(path, SALT, flush_interval=60).open()
    for i in range(250):
        await store.question(q(text=f"q{i}"))
    await store.feedback(fb())
    await store.close()
    assert rows(path, "SELECT COUNT(*) FROM questions") == [(250,)]
    assert rows(path, "SELECT COUNT(*) FROM feedback") == [(1,)]
    await store.question(q(text="after close"))  # dropped, never raises
    assert store.dropped == 1


async def test_many_concurrent_writers_all_rows_stored(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    tasks, per_task = 60, 50

    async def user(recorder: Store, n: int) -> None:
        for i in range(per_task):
            await recorder.question(q(user=n, text=f"user {n} question {i}", answer_id=f"{n}:{i}"))
            if i % 10 == 0:
                await recorder.feedback(fb(user=n, answer_id=f"{n}:{i}", helpful=i % 20 == 0))
            await asyncio.sleep(0)

    async with Store(path, SALT, flush_interval=0.02, batch_size=64) as opened:
        await asyncio.gather(*(user(opened, n) for n in range(tasks)))
    texts = {r[0] for r in rows(path, "SELECT text FROM questions")}
    assert len(texts) == rows(path, "SELECT COUNT(*) FROM questions")[0][0] == tasks * per_task
    assert rows(path, "SELECT COUNT(*) FROM feedback") == [(tasks * per_task // 10,)]
    assert rows(path, "SELECT COUNT(DISTINCT user_hash) FROM questions") == [(tasks,)]


async def test_stats_and_feedback_counts(store: Store) -> None:
    today = start_of_day(NOW)
    now = today + 3600 * 5
    events = [
        q(intent="salary", at=now - 60),
        q(intent="salary", at=now - 120),
        q(intent="git", at=now - 180),
        q(intent=None, fallback=True, score=0.1, at=now - 240),
        q(intent="salary", at=today - 3600),  # yesterday
        q(intent="git", at=today - 2 * 86400),
        q(intent=None, fallback=True, score=0.2, at=today - 3 * 86400),
        q(intent="salary", at=now - 30 * 86400),  # outside the week
    ]
    for event in events:
        await store.question(event)
    for user, helpful in enumerate((True, True, False)):
        await store.feedback(fb(user, intent="salary", helpful=helpful, at=now - 10))
    await store.feedback(fb(answer_id="1:2", intent="git", helpful=False, at=now - 10))
    await store.feedback(fb(answer_id="1:3", intent="git", helpful=False, at=now - 40 * 86400))
    stats = await store.stats(now=now)
    assert (stats.questions_today, stats.questions_week, stats.fallbacks_week) == (4, 7, 2)
    assert stats.fallback_rate == pytest.approx(2 / 7)
    assert [(t.intent, t.count) for t in stats.top_intents] == [("salary", 3), ("git", 2)]
    counts = await store.feedback_counts(now - 86400, now)
    assert [(c.intent, c.helpful, c.unhelpful) for c in counts] == [("salary", 2, 1), ("git", 0, 1)]
    period = await store.questions(today, now)
    assert len(period) == 4
    assert period == sorted(period, key=lambda r: r.at)


async def test_stats_of_an_empty_database(store: Store) -> None:
    stats = await store.stats()
    assert (stats.questions_today, stats.questions_week, stats.fallback_rate, stats.top_intents) == (0, 0, 0.0, ())


def test_killed_writer_never_corrupts_the_file_and_loses_nothing_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    script = Path(__file__).with_name("crash_writer.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    total_confirmed = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), str(round_ * 10_000_000)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        confirmed = 0
        try:
            while confirmed < 1500 + 300 * round_:
                line = proc.stdout.readline()
                assert line, f"writer died: {proc.stderr.read() if proc.stderr else ''}"
                confirmed = int(line)
            time.sleep(0.05 * round_)  # kill at different moments of the write cycle
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        total_confirmed += confirmed
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            count = conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
            # every confirmed row survived; unconfirmed ones at most one batch cycle's worth
            assert count >= total_confirmed
            complete = conn.execute(
                "SELECT COUNT(*) FROM questions WHERE text LIKE 'question % lorem%' AND suggestions = ?", ('["salary", "career_path"]',)
            ).fetchone()[0]
            assert complete == count  # no half-written row
        total_confirmed = count


async def test_a_handled_update_is_committed_at_once_with_the_rows_queued_before_it(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=60.0) as store:  # the timer alone would wait a minute
        await store.question(q(user=1, text="first"))
        async with asyncio.timeout(5):
            await store.mark_handled(41)
        # on disk now, read by another connection, row and id together
        assert rows(path, "SELECT text FROM questions") == [("first",)]
        assert rows(path, "SELECT update_id FROM handled_updates") == [(41,)]
        assert await store.handled_among([40, 41, 42]) == {41}
        await store.mark_handled(41)  # handled twice: still one row
    assert rows(path, "SELECT count(*) FROM handled_updates") == [(1,)]
    async with Store(path, SALT) as reopened:  # a restarted bot knows what was handled
        assert await reopened.handled_among([41, 42]) == {41}


async def test_old_handled_update_ids_are_pruned(store: Store) -> None:
    await store.mark_handled(1)
    await store.mark_handled(2)
    assert await store.prune_handled(older_than_days=1, now=time.time() + 2 * 86400) == 2
    assert await store.handled_among([1, 2]) == set()


async def test_a_closed_store_does_not_wait_to_mark_an_update(tmp_path: Path) -> None:
    store = Store(tmp_path / "log.sqlite3", SALT)
    async with asyncio.timeout(1):
        await store.mark_handled(5)  # never opened: returns at once, records nothing
    assert await store.handled_among([5]) == set()


async def test_the_reason_and_the_real_candidates_are_kept(tmp_path: Path) -> None:
    event = QuestionEvent(
        NOW, 1, "console", "weather in paris?", "weather in paris", None, 0.1, True, (), reason="off_topic",
        candidates=(Scored("salary_abroad", 0.26), Scored("__out_of_scope__", 0.31)),
    )  # fmt: skip
    async with Store(tmp_path / "log.sqlite3", SALT) as store:
        await store.question(event)
        await store.question(q())  # a record without them
        stored = sorted(await store.questions(0), key=lambda r: r.text or "")
    assert (stored[1].reason, stored[1].candidates) == ("off_topic", event.candidates)
    assert (stored[1].nearest, stored[1].out_of_scope) == (Scored("salary_abroad", 0.26), 0.31)
    assert (stored[0].reason, stored[0].candidates, stored[0].nearest, stored[0].out_of_scope) == (None, (), None, None)


# --- feedback once, salt, failures, bounded queue ----------------------------------------------


async def test_feedback_is_one_row_per_user_and_answer(store: Store) -> None:
    for _ in range(25):
        await store.feedback(fb(answer_id="7:1", helpful=True))
    await store.feedback(fb(answer_id="7:2", helpful=True))  # another answer
    await store.feedback(fb(user=2, answer_id="7:1", helpful=True))  # another user
    await store.flush()
    assert rows(store.path, "SELECT COUNT(*) FROM feedback") == [(3,)]
    await store.feedback(fb(answer_id="7:1", helpful=False))  # a change of mind replaces the rating
    counts = await store.feedback_counts(0, NOW + 1)
    assert [(c.helpful, c.unhelpful) for c in counts] == [(2, 1)]


async def test_a_vote_on_an_answer_to_two_questions_rates_both_once(store: Store) -> None:
    for helpful in (True, False):  # a change of mind replaces both ratings
        for intent in ("salary", "git"):
            await store.feedback(fb(answer_id="7:1", intent=intent, helpful=helpful))
    counts = await store.feedback_counts(0, NOW + 1)
    assert sorted((c.intent, c.helpful, c.unhelpful) for c in counts) == [("git", 0, 1), ("salary", 0, 1)]


async def test_upgrade_keeps_the_latest_of_duplicate_feedback(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        for version, statements in enumerate(MIGRATIONS[:2], start=1):
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
        for helpful in (1, 1, 0):
            conn.execute("INSERT INTO feedback (at, user_hash, answer_id, helpful) VALUES (1, 'u', '1:1', ?)", (helpful,))
    async with Store(path, SALT):
        pass
    assert rows(path, "SELECT helpful FROM feedback") == [(0,)]


async def test_forget_with_another_salt_says_so(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=0.05) as store:
        await store.question(q(user=5))
    async with Store(path, "another-salt") as other:
        assert not other.salt_matches
        with pytest.raises(SaltMismatch, match="USER_HASH_SALT"):
            await other.forget(5)
    async with Store(path, SALT) as store:
        assert store.salt_matches
        assert await store.forget(5) == 1


async def test_a_lone_surrogate_costs_nothing_but_itself(store: Store) -> None:
    for i in range(50):
        await store.question(q(user=i, text="bad \ud800 text" if i == 7 else f"question {i}"))
    await store.flush()
    assert rows(store.path, "SELECT COUNT(*) FROM questions") == [(50,)]
    assert rows(store.path, "SELECT text FROM questions WHERE text LIKE 'bad%'") == [("bad \ufffd text",)]
    assert store.dropped == 0


async def test_a_batch_meeting_a_locked_database_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.05) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        for i in range(110):
            await store.question(q(user=i))
        await asyncio.sleep(0.5)  # several attempts meet the lock (longer than the busy timeout)
        blocker.execute("COMMIT")
        blocker.close()
        await store.flush()
        assert store.dropped == 0
    assert rows(path, "SELECT COUNT(*) FROM questions") == [(110,)]


async def test_only_the_rows_that_cannot_be_written_are_dropped(store: Store) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute("CREATE TRIGGER poison BEFORE INSERT ON questions WHEN NEW.text = 'poison' BEGIN SELECT RAISE(ABORT, 'no'); END")
    for i in range(20):
        await store.question(q(user=i, text="poison" if i in (3, 11) else f"question {i}"))
    await store.flush()
    assert rows(store.path, "SELECT COUNT(*) FROM questions") == [(18,)]
    assert store.dropped == 2


async def test_the_queue_is_bounded_in_bytes_while_the_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    limit = 2**20
    async with Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.05, max_queue_bytes=limit) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        sent = 2000
        for i in range(sent):
            await store.question(q(user=i, text=f"{i} " + "é" * 4000))
            assert store.queued_bytes <= limit
            if i % 100 == 0:
                await asyncio.sleep(0)
        assert store.dropped > 0
        blocker.execute("COMMIT")
        blocker.close()
        await store.flush()
        written = rows(path, "SELECT COUNT(*) FROM questions")[0][0]
        assert isinstance(written, int)
        assert written + store.dropped == sent


async def test_mark_handled_does_not_wait_while_the_database_cannot_be_written(tmp_path: Path) -> None:
    """A locked or full database holds up no update: the marks are written with their rows once it can be written."""
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.05) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        await store.question(q(user=1))
        await asyncio.wait_for(store.mark_handled(1), 5)  # returns though nothing can be committed (locked for good)
        await store.question(q(user=2))
        await asyncio.wait_for(store.mark_handled(2), 5)
        blocker.execute("COMMIT")
        blocker.close()
        await store.flush()
        assert store.dropped == 0
    assert rows(path, "SELECT update_id FROM handled_updates ORDER BY update_id") == [(1,), (2,)]
    assert rows(path, "SELECT COUNT(*) FROM questions") == [(2,)]


async def test_closing_on_a_locked_database_retries_one_batch_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Later batches get one attempt each, so a stop with much queued on a locked or full database stays short."""
    path = tmp_path / "log.sqlite3"
    store = await Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.01, batch_size=10).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(50):
            await store.question(q(user=i))
        with caplog.at_level(logging.WARNING, logger="bot.maintenance.storage"):
            await asyncio.wait_for(store.close(), 5)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert store.dropped == 50
    assert store.retries == CLOSING_RETRIES
    assert len([r for r in caplog.records if "; retry" in r.getMessage()]) == 1  # the rest within LOG_EVERY


async def test_closing_on_a_locked_database_gives_up_and_counts_the_loss(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    store = await Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.01).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(10):
            await store.question(q(user=i))
        await asyncio.wait_for(store.close(), 5)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert store.dropped == 10


async def test_a_long_outage_logs_a_line_a_minute_not_one_per_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A locked database under load: every record past the queue's bound is dropped and counted, and logged once."""
    path = tmp_path / "log.sqlite3"
    async with Store(path, SALT, flush_interval=0.02, busy_timeout=0.05, retry_backoff=0.01, max_queue_bytes=2**14) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with caplog.at_level(logging.WARNING, logger="bot.maintenance.storage"):
                for i in range(500):
                    await store.question(q(user=i, text=f"{i} " + "x" * 500))
                    await asyncio.sleep(0)
                await asyncio.sleep(0.3)  # several retries of the first batch
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        assert store.dropped > 400
        assert store.retries > 3
        full = [r for r in caplog.records if "queue is full" in r.getMessage()]
        retried = [r for r in caplog.records if "; retry" in r.getMessage()]
        assert len(full) == 1
        assert len(retried) == 1


def test_throttled_warnings_count_what_they_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    throttled = _Throttled(every=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="bot.maintenance.storage"):
        for second in range(0, 125, 5):
            now[0] = 100.0 + second
            throttled.warning("dropped record %d", second)
    lines = [r.getMessage() for r in caplog.records]
    summary = "(11 more like it in the last 60 s)"
    assert lines == ["dropped record 0", f"dropped record 60 {summary}", f"dropped record 120 {summary}"]


async def test_a_stop_on_a_locked_database_ends_well_within_the_grace_period(tmp_path: Path) -> None:
    """Default waits: the write under way waits BUSY_TIMEOUT at most, the closing attempts much less (Docker gives 10 s)."""
    path = tmp_path / "log.sqlite3"
    store = await Store(path, SALT, flush_interval=0.02).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(50):
            await store.question(q(user=i))
        await asyncio.sleep(0.1)  # the first write is under way, waiting for the lock
        await asyncio.wait_for(store.close(), BUSY_TIMEOUT + 3)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert store.dropped == 50


async def test_every_closing_attempt_waits_less_even_for_a_batch_retried_for_long(tmp_path: Path) -> None:
    """A batch that used up its closing attempts before the stop, and the batches after it, all wait the short time."""
    path = tmp_path / "log.sqlite3"
    store = await Store(
        path, SALT, flush_interval=0.02, busy_timeout=1.0, closing_busy_timeout=0.05, retry_backoff=0.01, batch_size=10
    ).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(50):
            await store.question(q(user=i))
        await asyncio.sleep(3.2)  # the first batch: more attempts than CLOSING_RETRIES already
        assert store.retries >= CLOSING_RETRIES
        await asyncio.wait_for(store.close(), 3.0)  # 1 s for the attempt under way, not 1 s for each of 5 batches
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert store.dropped == 50


def test_a_log_that_cannot_be_opened_leaves_no_thread_behind_to_post_to_a_closed_loop(tmp_path: Path) -> None:
    # aiosqlite queues the stop of its worker thread without waiting for it when the connection fails; if the caller's
    # event loop is closed first (the console commands close theirs at once), the thread dies with "Event loop is closed".
    folder = tmp_path / "log.sqlite3"
    folder.mkdir()
    before = set(threading.enumerate())
    with pytest.raises(sqlite3.Error):
        asyncio.run(Store(folder, "salt").open())
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
