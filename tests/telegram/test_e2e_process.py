"""End to end through the `faqbot` command in a subprocess: polling, webhook, SIGTERM, token errors, health."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.maintenance.events import hash_user
from bot.settings import SALT_FILE
from bot.telegram.heartbeat import heartbeat_path, is_fresh, touch
from tests.helpers import FIXTURE_KB, VECTOR_CACHE
from tests.helpers.disk import copy_output, limit_file_size
from tests.telegram.factories import TOKEN, Factory
from tests.telegram.fake_api import FakeBotAPI

SECRET = "webhook-secret_0123456789"
SCRUBBED = ("TELEGRAM_", "WEBHOOK_", "MODE", "FAQBOT_", "LOG_LEVEL", "ADMIN_IDS", "USER_RATE", "USER_HASH_SALT")


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env.update(
        {
            "FAQBOT_KB": str(FIXTURE_KB),
            "FAQBOT_DATA_DIR": str(tmp_path / "data"),
            "FAQBOT_CACHE_DIR": str(VECTOR_CACHE),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(values)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def faqbot_run(
    tmp_path: Path, env: dict[str, str], *, file_size_limit: int | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`faqbot run` in a subprocess (stderr to tmp_path/stderr.log); SIGTERM and a clean exit afterwards.

    `file_size_limit`: no file the process writes may grow beyond that many bytes (a full disk:
    tests.helpers.disk); its output then reaches stderr.log through a pipe, unlimited.
    """
    log = (tmp_path / "stderr.log").open("wb")
    copier: asyncio.Task[None] | None = None
    if file_size_limit is None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    else:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_file_size(file_size_limit),
        )
        assert process.stdout is not None
        copier = asyncio.create_task(copy_output(process.stdout, log))
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if copier is not None:
            await copier  # the pipe closed with the process
        log.close()


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_faqbot_run_polls_answers_and_stops_cleanly_on_sigterm(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake_api.base_url,
        TELEGRAM_TIMEOUT="1",
        TELEGRAM_POLL_TIMEOUT="1",
        LOG_LEVEL="DEBUG",
    )
    make = Factory()
    async with faqbot_run(tmp_path, env) as process:
        fake_api.push(make.message("what is git?", user_id=111))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(111)), within=20)
        assert "Git" in fake_api.messages_to(111)[0]["text"]
        assert fake_api.of("setMyCommands")
        path = heartbeat_path(tmp_path / "data")
        for _ in range(50):  # another process writes it: poll, bounded
            if is_fresh(path):
                break
            await asyncio.sleep(0.1)
        assert is_fresh(path)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    assert not path.exists(), "a clean stop removes the heartbeat: `faqbot health` fails at once"
    with sqlite3.connect(tmp_path / "data" / "faqbot.sqlite3") as db:  # flushed at shutdown
        rows = db.execute("SELECT user_hash, text, intent FROM questions").fetchall()
    assert len(rows) == 1
    assert rows[0][1:] == ("what is git?", "git")
    salt = (tmp_path / "data" / SALT_FILE).read_text(encoding="utf-8").strip()  # generated: USER_HASH_SALT is not set
    assert rows[0][0] == hash_user(111, salt)  # the salted hash, never the raw id
    log = (tmp_path / "stderr.log").read_text()
    assert "kind=text" in log
    assert "text='what is git?'" in log  # DEBUG level shows the question
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log
    assert "Traceback" not in log


async def test_faqbot_run_reloads_on_sighup_and_tells_the_admins_about_problems(
    fake_api: FakeBotAPI, tmp_path: Path, kb_copy: Path
) -> None:
    kb = kb_copy
    admin = 7001
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake_api.base_url,
        TELEGRAM_TIMEOUT="1",
        TELEGRAM_POLL_TIMEOUT="1",
        FAQBOT_KB=str(kb),
        FAQBOT_RELOAD_WATCH="false",
        ADMIN_IDS=str(admin),
    )
    make = Factory()
    async with faqbot_run(tmp_path, env) as process:
        fake_api.push(make.message("what is git?", user_id=111))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(111)), within=20)  # up and answering
        (kb / "content" / "git.md").unlink()
        process.send_signal(signal.SIGHUP)
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(admin)), within=20)
        [notice] = fake_api.messages_to(admin)
        assert notice["text"].startswith("Reload refused (SIGHUP): 1 problem(s)")
        assert "git.md" in notice["text"]
        fake_api.push(make.message("what is git?", user_id=111))  # still answered, from the previous knowledge base
        await fake_api.wait_for(lambda: len(fake_api.messages_to(111)) == 2, within=10)
        assert fake_api.messages_to(111)[1]["text"] == fake_api.messages_to(111)[0]["text"]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    log = (tmp_path / "stderr.log").read_text()
    assert "Reload refused (SIGHUP)" in log
    assert "Traceback" not in log


async def test_webhook_mode_checks_the_secret_token(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake_api.base_url,
        TELEGRAM_TIMEOUT="2",
        MODE="webhook",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    make = Factory()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with faqbot_run(tmp_path, env) as process:
        await fake_api.wait_for(lambda: fake_api.webhook is not None, within=20)
        webhook = fake_api.webhook
        assert webhook is not None
        assert webhook["url"] == url
        assert webhook["secret_token"] == SECRET
        assert "callback_query" in webhook["allowed_updates"]
        async with httpx.AsyncClient(timeout=5) as client:
            response = None
            async with asyncio.timeout(10):
                while response is None:
                    try:
                        response = await client.post(
                            url,
                            json=make.message("what is sql used for?", user_id=111),
                            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                        )
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            assert response.status_code == 200
            await fake_api.wait_for(lambda: bool(fake_api.messages_to(111)), within=10)
            assert "SQL" in fake_api.messages_to(111)[0]["text"]

            wrong = await client.post(
                url, json=make.message("what is git?", user_id=222), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
            missing = await client.post(url, json=make.message("what is git?", user_id=222))
            assert wrong.status_code == 403
            assert missing.status_code == 403
            await asyncio.sleep(0.3)
            assert fake_api.messages_to(222) == []
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    log = (tmp_path / "stderr.log").read_text()
    assert SECRET not in log
    assert TOKEN not in log


@pytest.mark.parametrize(("token", "reason"), [(None, "is not set"), ("not-a-token", "does not look like a bot token")])
def test_a_missing_or_malformed_token_is_one_clear_line(tmp_path: Path, token: str | None, reason: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": token} if token is not None else {}
    result = run_cli(tmp_path, "run", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert reason in lines[0]
    assert "faqbot chat" in lines[0]
    assert "Traceback" not in result.stderr


async def test_a_token_telegram_rejects_is_one_clear_line(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    wrong = "987654321:" + "B" * 35
    env = environment(tmp_path, TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=fake_api.base_url, TELEGRAM_TIMEOUT="2")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    async with asyncio.timeout(30):
        _out, err = await process.communicate()
    assert process.returncode == 2
    assert "rejected TELEGRAM_BOT_TOKEN" in err.decode()
    assert "faqbot chat" in err.decode()
    assert wrong not in err.decode()


def test_a_good_token_without_network_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Nothing listens on the Bot API port: no traceback, no "Unclosed client session", one line naming the address."""
    url = f"http://127.0.0.1:{free_port()}/bot"
    result = run_cli(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url, TELEGRAM_TIMEOUT="1", LOG_LEVEL="WARNING")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [next(line for line in result.stderr.splitlines() if "cannot reach the Bot API" in line)]
    assert url in result.stderr
    assert "Traceback" not in result.stderr
    assert "Unclosed" not in result.stderr
    assert TOKEN not in result.stderr


def test_health_reports_the_heartbeat(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "health").returncode == 1
    touch(heartbeat_path(tmp_path / "data"))
    assert run_cli(tmp_path, "health").returncode == 0
    touch(heartbeat_path(tmp_path / "data"), now=1.0)
    assert run_cli(tmp_path, "health").returncode == 1
