"""The small supporting modules: rate limit, heartbeat, logs, per-chat ordering, addressing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from telegram import Message, Update

from bot.maintenance.events import hash_user
from bot.maintenance.storage import Store
from bot.telegram.addressing import addressed_text
from bot.telegram.heartbeat import Heartbeat, is_fresh, touch
from bot.telegram.limits import UserRateLimiter, Verdict
from bot.telegram.logs import Redact, UpdateLogger
from bot.telegram.ordering import PerChatUpdateProcessor
from tests.telegram.factories import BOT_ID, BOT_USERNAME, Factory, group_chat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- rate limit ------------------------------------------------------------------------------


def test_limiter_warns_once_then_drops_then_recovers() -> None:
    clock = Clock()
    limiter = UserRateLimiter(3, 60, clock)
    verdicts = [limiter.check(1) for _ in range(6)]
    assert verdicts == [Verdict.ALLOW] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert limiter.check(2) is Verdict.ALLOW
    assert 59 <= limiter.retry_in(1) <= 60
    clock.now += 61
    assert limiter.check(1) is Verdict.ALLOW
    assert limiter.retry_in(1) == 0
    for _ in range(2):
        limiter.check(1)
    assert limiter.check(1) is Verdict.WARN  # a new flood gets a new (single) warning


def test_limiter_forgets_old_users() -> None:
    limiter = UserRateLimiter(1, 60, Clock(), max_users=10)
    for user in range(100):
        limiter.check(user)
    assert limiter.check(0) is Verdict.ALLOW  # forgotten, so admitted again
    assert len(limiter) <= 10


def test_limiter_expires_users_not_seen_for_a_period() -> None:
    clock = Clock()
    limiter = UserRateLimiter(2, 60, clock)
    for user in range(1000):
        limiter.check(user)
        clock.now += 0.01
    flooder = 5000
    assert [limiter.check(flooder) for _ in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.WARN]
    assert len(limiter) == 1001
    clock.now += 30
    assert limiter.check(flooder) is Verdict.DROP  # still limited half a period later
    clock.now += 31
    limiter.check(7)
    assert len(limiter) == 2  # only the flooder (seen 31 s ago) and the new visit remain
    clock.now += 60
    assert limiter.check(flooder) is Verdict.ALLOW
    assert len(limiter) == 1


# --- heartbeat -------------------------------------------------------------------------------


def test_heartbeat_file_freshness(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "heartbeat"
    assert not is_fresh(path)
    touch(path, now=5000.0)
    assert is_fresh(path, max_age=60, now=5030.0)
    assert not is_fresh(path, max_age=60, now=5061.0)
    path.unlink()
    assert not is_fresh(path)


def test_heartbeat_refresh_writes_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk stops the log, not the answers: refreshing an existing heartbeat needs no free block."""
    path = tmp_path / "heartbeat"
    touch(path, now=5000.0)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    for method in ("write_text", "write_bytes", "open", "touch"):
        monkeypatch.setattr(Path, method, disk_full)
    monkeypatch.setattr("builtins.open", disk_full)
    touch(path, now=6000.0)
    monkeypatch.undo()
    assert is_fresh(path, max_age=60, now=6030.0)


async def test_heartbeat_touches_only_while_alive(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    alive = {"value": False}
    beat = Heartbeat(path, lambda: alive["value"], interval=0.01)
    beat.start()
    await asyncio.sleep(0.05)
    assert not path.exists()
    alive["value"] = True
    await asyncio.sleep(0.05)
    assert is_fresh(path)
    await beat.stop()
    assert not path.exists(), "a clean stop removes the file, so `faqbot health` fails at once"


async def test_an_unwritable_heartbeat_is_logged_once_and_retried_with_back_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("bot.telegram.heartbeat.asyncio.sleep", sleep)
    blocker = tmp_path / "file"
    blocker.write_text("")
    beat = Heartbeat(blocker / "heartbeat", lambda: True, interval=1.0)  # a file's child cannot be created
    with caplog.at_level(logging.WARNING, logger="bot.telegram.heartbeat"):
        beat.start()
        while len(waits) < 12:
            await real_sleep(0)
        await beat.stop()
    assert len([r for r in caplog.records if "cannot write heartbeat" in r.getMessage()]) == 1
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(waits) <= 300.0


# --- logs ------------------------------------------------------------------------------------


def test_log_lines_name_users_as_the_conversation_log_stores_them(tmp_path: Path) -> None:
    logger = UpdateLogger("a")
    assert logger.user(42) == UpdateLogger("a").user(42) != UpdateLogger("b").user(42)
    assert logger.user(42) == hash_user(42, "a") == Store(tmp_path / "log.sqlite3", "a").hash_user(42)  # join a line to its rows
    assert logger.user(None) == "-"


def test_redact_hides_secrets_in_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(Redact(["s3cr3t-token"]))
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("calling https://api/bots3cr3t-token/getMe")
            try:
                raise ValueError("url was https://api/bots3cr3t-token/x")
            except ValueError:
                logger.exception("failed")
        assert "s3cr3t-token" not in caplog.text
        assert "***" in caplog.text
    finally:
        caplog.handler.filters.clear()


def test_log_line_of_an_update() -> None:
    update = Update.de_json(Factory().message("hello there", user_id=777), None)
    logger = UpdateLogger("salt", logging.getLogger("test.lines"))
    with logger.update(update, "text") as record:
        record.intent, record.score, record.reply, record.text = "greeting", 0.987, "smalltalk", "hello there"
    line = logger.line(update, record, 12.345)
    assert line.startswith("update=")
    assert "chat=private" in line
    assert f"user={hash_user(777, 'salt')}" in line
    assert "score=0.99" in line
    assert "latency_ms=12.3" in line
    assert "hello" not in line  # text only at DEBUG


# --- ordering --------------------------------------------------------------------------------


async def test_same_chat_in_order_other_chats_concurrently() -> None:
    processor = PerChatUpdateProcessor(16)
    make = Factory()
    log: list[str] = []

    async def work(name: str, delay: float) -> None:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")

    a1 = Update.de_json(make.message("1", user_id=1), None)
    a2 = Update.de_json(make.message("2", user_id=1), None)
    b1 = Update.de_json(make.message("3", user_id=2), None)
    await asyncio.gather(
        processor.process_update(a1, work("a1", 0.05)),
        processor.process_update(a2, work("a2", 0.0)),
        processor.process_update(b1, work("b1", 0.0)),
    )
    assert log.index("end a1") < log.index("start a2")  # same chat: in order
    assert log.index("end b1") < log.index("end a1")  # other chat: not held up
    assert not processor._locks


# --- addressing ------------------------------------------------------------------------------


def message(data: dict[str, object]) -> Message:
    update = Update.de_json(data, None)
    assert update.message is not None
    return update.message


def test_mention_is_removed_case_insensitively() -> None:
    make = Factory()
    msg = message(make.mention("what is SQL?", username=BOT_USERNAME.upper()))
    assert addressed_text(msg, BOT_ID, BOT_USERNAME) == "what is SQL?"


def test_mention_in_the_middle() -> None:
    make = Factory()
    text = f"hey @{BOT_USERNAME}, what is git"
    data = make.message(text, chat=group_chat(), entities=[{"type": "mention", "offset": 4, "length": len(BOT_USERNAME) + 1}])
    assert addressed_text(message(data), BOT_ID, BOT_USERNAME) == "hey , what is git"


def test_a_mention_in_text_that_is_not_valid_utf16_is_still_read() -> None:
    make = Factory()
    for text, expected in ((f"@{BOT_USERNAME} what is sql \ud800", "what is sql \ud800"), ("hey @someone look \ud800", None)):
        data = make.message(text, chat=group_chat(), entities=[{"type": "mention", "offset": 0, "length": 5}])
        assert addressed_text(message(data), BOT_ID, BOT_USERNAME) == expected


def test_a_mention_of_the_bot_is_not_part_of_a_private_question() -> None:
    make = Factory()
    assert addressed_text(message(make.message(f"@{BOT_USERNAME} what is SQL?")), BOT_ID, BOT_USERNAME) == "what is SQL?"
    assert addressed_text(message(make.message(f"@{BOT_USERNAME}")), BOT_ID, BOT_USERNAME) == ""
    story = "I am a student.\nWhat do juniors earn?"
    assert addressed_text(message(make.message(story)), BOT_ID, BOT_USERNAME) == story, "line breaks still split sentences"


def test_forum_topic_opened_by_the_bot_is_not_a_reply_to_it() -> None:
    make = Factory()
    opener = make.bot_message()
    opener["forum_topic_created"] = {"name": "FAQ", "icon_color": 0}
    data = make.message("chatting", chat=group_chat(), reply_to=opener, is_topic_message=True, message_thread_id=5)
    assert addressed_text(message(data), BOT_ID, BOT_USERNAME) is None
