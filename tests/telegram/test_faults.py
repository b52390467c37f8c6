"""Fault tests: the real `faqbot run` process against the fake Bot API, killed, stopped, fed poison and error storms.

Every update must be answered exactly once (counted per chat: one update per user), its log
row written once (on a full disk: what the tests there say), and nothing printed may hold the
token or a raw user id.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.engine.semantic import Vectors
from bot.telegram import sending
from bot.telegram.heartbeat import heartbeat_path, is_fresh
from tests.helpers.disk import CAN_LIFT, full_disk_limit, lift_file_size_limit, ready_cache
from tests.helpers.telegram import MemoryRecorder
from tests.telegram.factories import BOT_USER, TOKEN, Factory
from tests.telegram.fake_api import FakeBotAPI, Fault
from tests.telegram.test_e2e_polling import e2e_settings, polling
from tests.telegram.test_e2e_process import SECRET, environment, faqbot_run, free_port

JSON = dict[str, Any]
POISON: JSON = {"message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": "hi"}}  # no "date"


def bot_env(tmp_path: Path, api: FakeBotAPI, **values: str) -> dict[str, str]:
    return environment(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url, TELEGRAM_TIMEOUT="2", TELEGRAM_POLL_TIMEOUT="1", **values
    )


def burst(api: FakeBotAPI, users: range, text: str = "what is git?") -> None:
    make = Factory(start=users.start)
    for user_id in users:
        api.push(make.message(text, user_id=user_id))


def db_count(tmp_path: Path, sql: str) -> int:
    path = tmp_path / "data" / "faqbot.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


async def eventually(condition: Callable[[], bool], within: float) -> None:
    """Poll `condition` (another process changes what it reads) until it holds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def assert_each_answered_once(api: FakeBotAPI, users: range) -> None:
    counts = api.sent_per_chat()
    never = [u for u in users if counts.get(u, 0) == 0]
    twice = [u for u in users if counts.get(u, 0) > 1]
    assert (never, twice) == ([], [])


async def test_kill_9_mid_burst_then_restart_answers_every_update_once(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    users = range(5000, 5060)
    burst(fake_api, users)
    fake_api.hold("sendMessage", after=20)  # 20 answers go out, the next ones hang when the bot is killed
    env = bot_env(tmp_path, fake_api)
    async with faqbot_run(tmp_path, env) as process:
        await eventually(lambda: db_count(tmp_path, "SELECT count(*) FROM handled_updates") >= 20, within=30)
        process.kill()
        await process.wait()
    assert len(fake_api.sent) == 20
    fake_api.release("sendMessage")
    async with faqbot_run(tmp_path, env) as process:
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(users), within=30)
        await asyncio.sleep(0.5)  # would a duplicate follow?
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    assert_each_answered_once(fake_api, users)
    assert db_count(tmp_path, "SELECT count(*) FROM questions") == len(users)  # log rows: none lost, none doubled


async def test_sigterm_with_a_10s_grace_loses_nothing(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    users = range(6000, 6100)
    fake_api.storm("sendMessage", Fault.late(0.05))
    env = bot_env(tmp_path, fake_api)
    async with faqbot_run(tmp_path, env) as process:
        fake_api.push(Factory(start=1).message("what is git?", user_id=users.start - 1))
        await fake_api.wait_for(lambda: bool(fake_api.sent), within=30)  # up and answering
        burst(fake_api, users)
        await fake_api.wait_for(lambda: len(fake_api.sent) >= 10, within=10)
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):  # docker stop's grace period, then SIGKILL
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        assert time.monotonic() - stopped < 10
        assert process.returncode == 0
    fake_api.storm("sendMessage", None)
    async with faqbot_run(tmp_path, env):
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(users) + 1, within=30)
        await asyncio.sleep(0.5)
    assert_each_answered_once(fake_api, users)
    assert db_count(tmp_path, "SELECT count(*) FROM questions") == len(users) + 1


async def test_a_poison_update_is_logged_once_and_skipped(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    fake_api.push(POISON)
    fake_api.push(Factory(start=50).message("what is git?", user_id=7100))
    async with faqbot_run(tmp_path, bot_env(tmp_path, fake_api, LOG_LEVEL="DEBUG")):
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(7100)), within=30)
        await fake_api.wait_for(lambda: not fake_api.pending_updates(), within=5)  # both confirmed
        polls = fake_api.attempts["getUpdates"]
        fake_api.push(Factory(start=60).message("what is sql used for?", user_id=7101))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(7101)), within=10)
        await asyncio.sleep(1.0)
        assert fake_api.attempts["getUpdates"] - polls < 10  # long polling again, not spinning
    log = (tmp_path / "stderr.log").read_text()
    assert log.count("cannot be parsed") == 1
    assert "CRITICAL" not in log
    assert "Traceback" not in log


async def test_an_ok_false_storm_backs_off_and_the_heartbeat_stops(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    fake_api.storm("getUpdates", Fault.not_ok())
    async with faqbot_run(tmp_path, bot_env(tmp_path, fake_api)):
        await eventually(lambda: fake_api.attempts.get("getUpdates", 0) >= 1, within=30)  # faulted calls wake no wait_for
        first = time.monotonic()
        await asyncio.sleep(3.0)
        polls = fake_api.attempts["getUpdates"]
        rate = polls / (time.monotonic() - first)
        assert rate < 3  # backing off (0.5, 1, 2 s...), not 900 requests a second
        assert not is_fresh(heartbeat_path(tmp_path / "data"))  # not fetching: not healthy
        fake_api.storm("getUpdates", None)
        fake_api.push(Factory(start=70).message("what is git?", user_id=7200))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(7200)), within=15)
        await eventually(lambda: is_fresh(heartbeat_path(tmp_path / "data")), within=20)


@pytest.mark.parametrize("fault", [Fault.status_code(500), Fault.status_code(429, retry_after=1), Fault.drop()], ids=str)
async def test_polling_errors_back_off(fake_api: FakeBotAPI, tmp_path: Path, engine: Any, fault: Fault) -> None:
    settings = e2e_settings(tmp_path, fake_api)
    async with polling(settings, engine, MemoryRecorder()):
        await fake_api.wait_for(lambda: fake_api.attempts.get("getUpdates", 0) >= 1)
        fake_api.storm("getUpdates", fault)
        before, started = fake_api.attempts["getUpdates"], time.monotonic()
        await asyncio.sleep(2.0)
        assert (fake_api.attempts["getUpdates"] - before) / (time.monotonic() - started) < 4
        fake_api.storm("getUpdates", None)
        fake_api.push(Factory(start=80).message("what is git?", user_id=7300))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(7300)), within=10)


async def test_a_reply_whose_answer_comes_after_the_timeout_is_sent_twice(
    fake_api: FakeBotAPI, tmp_path: Path, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented choice: a rare duplicate rather than a rare loss (sendMessage is retried after a timeout)."""
    monkeypatch.setattr(sending, "BACKOFF", 0.1)
    settings = e2e_settings(tmp_path, fake_api)  # TELEGRAM_TIMEOUT=1
    async with polling(settings, engine, MemoryRecorder()):
        fake_api.inject("sendMessage", Fault.late(1.5))
        fake_api.push(Factory(start=90).message("what is git?", user_id=7400))
        await fake_api.wait_for(lambda: len(fake_api.messages_to(7400)) >= 2, within=10)


async def test_webhook_answers_the_post_only_once_the_update_is_handled(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = bot_env(
        tmp_path,
        fake_api,
        MODE="webhook",
        WEBHOOK_URL=url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    update = Factory(start=100).message("what is git?", user_id=7500)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with faqbot_run(tmp_path, env), httpx.AsyncClient(timeout=1.0) as client:
        await fake_api.wait_for(lambda: fake_api.webhook is not None, within=30)
        fake_api.hold("sendMessage")
        async with asyncio.timeout(10):
            while True:  # until the server listens
                try:
                    await client.post(url, json=update, headers=headers)
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
                    continue
                except httpx.ReadTimeout:  # not answered: the reply has not gone out
                    break
                pytest.fail("the POST was answered before the update was handled")
        fake_api.release("sendMessage")
        retried = await client.post(url, json=update, headers=headers, timeout=15)  # Telegram sends it again
        assert retried.status_code == 200
        assert len(fake_api.messages_to(7500)) == 1  # answered once, before the 200
        again = await client.post(url, json=update, headers=headers)  # once more: already handled
        assert again.status_code == 200
        await asyncio.sleep(0.3)
        assert len(fake_api.messages_to(7500)) == 1


# --- a full disk --------------------------------------------------------------------------------------


async def full_disk(vectors: Vectors) -> int:
    """`full_disk_limit`, the shared embedding cache readied first (so the limited bot has nothing to write there)."""
    ready_cache(vectors)
    return await full_disk_limit()


def stderr_log(tmp_path: Path) -> str:
    return (tmp_path / "stderr.log").read_text(errors="replace")


@pytest.mark.skipif(not CAN_LIFT, reason="freeing the disk of a running bot needs prlimit (Linux)")
async def test_a_full_disk_holds_up_no_answer_and_the_log_catches_up_once_it_frees(
    fake_api: FakeBotAPI, tmp_path: Path, vectors: Vectors
) -> None:
    """The conversation log fills up a few dozen rows into a burst of more updates than one getUpdates answer
    holds: every update is still answered once and confirmed (answering never waits on the log, so the backlog
    never stalls at POLL_LIMIT unconfirmed updates). The rows that could not be written stay queued (in memory,
    bounded by the store's queue limits) and are written once the disk frees while the bot runs: none lost."""
    first, second = range(8000, 8150), range(8150, 8170)
    async with faqbot_run(tmp_path, bot_env(tmp_path, fake_api), file_size_limit=await full_disk(vectors)) as process:
        burst(fake_api, first)
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(first), within=60)
        await eventually(lambda: "disk I/O error" in stderr_log(tmp_path), within=10)  # the disk is full indeed
        assert db_count(tmp_path, "SELECT count(*) FROM questions") < len(first)
        burst(fake_api, second)  # and the bot goes on answering
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(first) + len(second), within=30)
        await eventually(lambda: not fake_api.pending_updates(), within=10)  # all confirmed
        assert process.returncode is None
        lift_file_size_limit(process.pid)
        total = len(first) + len(second)
        await eventually(lambda: db_count(tmp_path, "SELECT count(*) FROM questions") == total, within=30)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    assert_each_answered_once(fake_api, range(first.start, second.stop))
    assert db_count(tmp_path, "SELECT count(*) FROM questions") == total  # none lost, none doubled
    assert db_count(tmp_path, "SELECT count(*) FROM handled_updates") == total
    log = stderr_log(tmp_path)
    assert "Traceback" not in log
    assert "CRITICAL" not in log
    assert "embedding cache" not in log  # the fault hit the conversation log, nothing else
    assert log.count("could not write") < 50  # retried with back-off, not logged in a loop


async def test_stopped_on_a_full_disk_it_exits_in_time_and_a_restart_logs_again(
    fake_api: FakeBotAPI, tmp_path: Path, vectors: Vectors
) -> None:
    """Stopped before the disk frees, the bot still exits cleanly within Docker's grace period. What is lost: the
    rows queued while the disk was full (retried a few times while closing, then dropped and counted); their
    updates stay answered once and confirmed, so the restarted bot answers them no second time. Restarted with
    room on the disk, it logs again in the same file."""
    first, second = range(8200, 8330), range(8330, 8350)
    env = bot_env(tmp_path, fake_api)
    async with faqbot_run(tmp_path, env, file_size_limit=await full_disk(vectors)) as process:
        burst(fake_api, first)
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(first), within=60)
        await eventually(lambda: "disk I/O error" in stderr_log(tmp_path), within=10)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):  # docker stop's grace period
            assert await process.wait() == 0
    log = stderr_log(tmp_path)
    assert "they are lost" in log
    assert "Traceback" not in log
    kept = db_count(tmp_path, "SELECT count(*) FROM questions")
    assert kept < len(first)
    async with faqbot_run(tmp_path, env) as process:
        burst(fake_api, second)
        await fake_api.wait_for(lambda: len(fake_api.sent_per_chat()) == len(first) + len(second), within=30)
        await eventually(lambda: db_count(tmp_path, "SELECT count(*) FROM questions") == kept + len(second), within=10)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    assert_each_answered_once(fake_api, range(first.start, second.stop))
    assert db_count(tmp_path, "SELECT count(*) FROM questions") == kept + len(second)
    with sqlite3.connect(tmp_path / "data" / "faqbot.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert "Traceback" not in stderr_log(tmp_path)


# --- the token and raw user ids never printed ----------------------------------------------------------

USER = 918_273_645
"""A raw user id that must never be printed."""


async def scan(tmp_path: Path, name: str, env: dict[str, str], slots: asyncio.Semaphore, until: str | None) -> str:
    """Run `faqbot run` with `env` until it exits or, once it printed `until`, a second more (then SIGTERM); return its output."""
    folder = tmp_path / name
    folder.mkdir()
    output = folder / "output.log"
    async with slots:
        with output.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
            try:
                async with asyncio.timeout(60):
                    while process.returncode is None and (until is None or until not in output.read_text(errors="replace")):
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(process.wait(), 0.1)
                    if process.returncode is None:
                        await asyncio.sleep(1.0)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await process.wait()
    return output.read_text(errors="replace")


async def test_no_misconfiguration_prints_the_token_or_a_raw_user_id(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    other = FakeBotAPI("987654321:" + "C" * 35, BOT_USER)  # knows another token: 401 for ours
    await other.start()
    make = Factory(start=500)
    fake_api.push(make.message("what is git?", user_id=USER))
    fake_api.push(POISON | {"message": {**POISON["message"], "chat": {"id": USER, "type": "private"}}})
    fake_api.storm("sendMessage", Fault.status_code(500))
    refused = f"http://127.0.0.1:{free_port()}/bot"
    unwritable = tmp_path / "a-file"
    unwritable.write_text("not a folder")
    base = {"LOG_LEVEL": "DEBUG", "TELEGRAM_TIMEOUT": "1", "TELEGRAM_POLL_TIMEOUT": "1", "TELEGRAM_BOT_TOKEN": TOKEN}
    webhook = {"MODE": "webhook", "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_LISTEN": "127.0.0.1"}
    keeps_running = {"server-errors-on-send": "Injected error 500", "unwritable-data-dir": "serving in"}
    cases: dict[str, dict[str, str]] = {
        "not-a-port": {"TELEGRAM_API_URL": "http://127.0.0.1:notaport/bot"},
        "refused": {"TELEGRAM_API_URL": refused},
        "no-scheme": {"TELEGRAM_API_URL": "127.0.0.1/bot"},
        "unauthorized": {"TELEGRAM_API_URL": other.base_url},
        "server-errors-on-send": {"TELEGRAM_API_URL": fake_api.base_url},
        "malformed-token": {"TELEGRAM_BOT_TOKEN": TOKEN.replace(":", ";"), "TELEGRAM_API_URL": fake_api.base_url},
        "token-with-spaces": {"TELEGRAM_BOT_TOKEN": f"  {TOKEN}  ", "TELEGRAM_API_URL": refused},
        "webhook-without-secret": webhook | {"TELEGRAM_API_URL": fake_api.base_url},
        "webhook-port-taken": webhook
        | {"TELEGRAM_API_URL": fake_api.base_url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": str(fake_api.port)},
        "unwritable-data-dir": {"TELEGRAM_API_URL": fake_api.base_url, "FAQBOT_DATA_DIR": str(unwritable / "data")},
        "missing-kb": {"TELEGRAM_API_URL": fake_api.base_url, "FAQBOT_KB": str(tmp_path / "no-kb")},
        "bad-timeout": {"TELEGRAM_API_URL": fake_api.base_url, "TELEGRAM_TIMEOUT": "-1"},
    }
    slots = asyncio.Semaphore(4)  # a few at a time: a dozen starting at once would crawl
    try:
        outputs = await asyncio.gather(
            *(
                scan(tmp_path, name, environment(tmp_path / name, **(base | values)), slots, keeps_running.get(name))
                for name, values in cases.items()
            )
        )
    finally:
        await other.stop()
    secret_half = TOKEN.split(":", 1)[1]
    leaks = {
        name: [needle for needle in (TOKEN, secret_half, str(USER), SECRET) if needle in out]
        for name, out in zip(cases, outputs, strict=True)
    }
    assert leaks == {name: [] for name in cases}
    silent = [name for name, out in zip(cases, outputs, strict=True) if not out.strip()]
    assert silent == [], outputs  # every misconfiguration says something
    assert fake_api.attempts.get("sendMessage", 0) > 0  # the user's message was fetched and its answer attempted
