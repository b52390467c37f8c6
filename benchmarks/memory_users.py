"""Memory against many distinct users and against crafted input: what grows with users, chats or input is bounded.

    python -m benchmarks.memory_users                       # both scenarios, 100,000 and 1,000,000 users
    python -m benchmarks.memory_users --users 100000        # fewer users (the checkpoints are 100,000 and the total)
    python -m benchmarks.memory_users --scenario flood --flood 80000   # default 40,000 crafted messages

Each scenario runs in a fresh process: the real Application (`bot.telegram.app.build_application`, production
settings: a per-user limit of 20 a minute, per-chat ordering, the SQLite conversation log in a temporary folder, the
shipped knowledge base), driven through `Application.process_update` with a Bot API request object that answers
every call with canned JSON and keeps nothing (no network, no recording). Logging is at WARNING (the per-update
INFO line would only cost time here); Telegram's 30-a-second flood limit is lifted in AIORateLimiter (as in
`benchmarks.e2e_bot`), which otherwise only waits.

- `users`: each update comes from a new user in a private chat (a new chat too): every 50th asks one of the
  benchmark's questions (benchmarks/questions.py, in turn), the others send /about, as Telegram sends a command
  (with its `bot_command` entity; before 2026-11-30 it came without one and was answered as a question), so a
  million users take minutes, not hours. `--question-every 1`: every user asks a question. RSS (VmRSS after a
  garbage collection) at 100,000 users and at the end.
- `flood`: every message is one 4,000-character word of random letters (unique), from a new user each time, so
  the per-user limit does not drop any: the input the word caches were keyed by. RSS every quarter.

The bot's process runs with PYTHONOPTIMIZE=2, as the Docker image runs it (`--optimize 0`: as a plain `faqbot run`).

Targets (issue 11): RSS <= 150 MB after 100,000 users, <= 200 MB after 1,000,000 and under the flood.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import Update
from telegram.request import BaseRequest, RequestData

from benchmarks.common import ROOT, rss_mb
from benchmarks.e2e_bot import LiftedRateLimiter
from benchmarks.questions import texts
from bot.engine.core import EngineHolder
from bot.maintenance.memory import fix_allocator_thresholds
from bot.maintenance.storage import Store
from bot.maintenance.vector_cache import cached_engine
from bot.settings import Settings
from bot.telegram import app as app_module
from bot.telegram import logs
from bot.telegram.app import build_application

TOKEN = "123456789:AAHbenchmarkbenchmarkbenchmarkbenchmark"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "FAQ", "username": "faq_bench_bot"}
QUESTION_EVERY = 50
"""In the users scenario every 50th user asks a question (matching costs ~15 ms here), the others send /about: still
20,000 questions per million users, twice what the dialogue keeps (max_conversations), so its count bound is reached."""
FILLER = "/about"
TARGETS_MB = {"users_100000": 150.0, "users_end": 200.0, "flood": 200.0}
IMAGE_OPTIMIZE = 2
"""The bot runs as the Docker image runs it, with PYTHONOPTIMIZE=2 (no docstrings or asserts kept in memory: 4 MB);
`--optimize 0` measures a plain `faqbot run`."""


class NullRequest(BaseRequest):
    """Answers every Bot API call with canned JSON and keeps nothing."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        result: Any = True
        if name == "getMe":
            result = BOT_USER
        elif name == "getUpdates":
            result = []
        elif name.startswith(("send", "edit")):
            chat_id = int(str(params.get("chat_id", 1)))
            result = {"message_id": self.calls, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER}
        return 200, json.dumps({"ok": True, "result": result}).encode()


def message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "en"}
    command = text.split()[0] if text.startswith("/") else None
    entities = [{"type": "bot_command", "offset": 0, "length": len(command)}] if command else []
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "User"},
            "from": sender,
            "text": text,
            "entities": entities,
        },
    }


def measured() -> dict[str, float]:
    gc.collect()
    return rss_mb()


async def child(scenario: str, total: int, checkpoints: list[int], question_every: int = QUESTION_EVERY) -> None:
    """Run one scenario in this process; print one JSON line per checkpoint and one at the end."""
    fix_allocator_thresholds()  # as `faqbot run` does first (bot.telegram.app.run)
    setattr(app_module, "AIORateLimiter", LiftedRateLimiter)  # noqa: B010 - as benchmarks.e2e_bot: no 30-a-second wait
    data_dir = Path(tempfile.mkdtemp(prefix="faqbot-memory-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(TOKEN),
        faqbot_data_dir=data_dir,
        faqbot_kb=ROOT,
        log_level="WARNING",
        mode="polling",
        webhook_url=None,
        webhook_secret=None,
        user_hash_salt=None,
        faqbot_reload_watch=False,
    )
    logs.configure(settings.log_level, [TOKEN])
    logging.getLogger().setLevel(logging.WARNING)
    engine = cached_engine(settings.faqbot_kb, settings.faqbot_cache_dir, settings.tuning())
    store = await Store(settings.database_path(), settings.hash_salt()).open()
    request = NullRequest()
    app = build_application(settings, EngineHolder(engine), store, request=request, updates_request=NullRequest())
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    questions = texts()
    rng = random.Random(11)
    started = time.perf_counter()
    print(json.dumps({"scenario": scenario, "at": 0, **measured()}), flush=True)
    try:
        for i in range(1, total + 1):
            if scenario == "flood":
                text = "".join(rng.choices(string.ascii_lowercase, k=4000))
            else:
                text = questions[i % len(questions)] if i % question_every == 0 else FILLER
            await app.process_update(Update.de_json(message(i, 10_000_000 + i, text), app.bot))
            await asyncio.sleep(0)  # the canned answers never suspend: let the log writer and the other tasks run
            if i in checkpoints:
                await store.flush()
                row = {"scenario": scenario, "at": i, "seconds": round(time.perf_counter() - started, 1), **measured()}
                print(json.dumps({**row, "store_dropped": store.dropped, "bot_api_calls": request.calls}), flush=True)
    finally:
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        shutil.rmtree(data_dir, ignore_errors=True)


def run_child(
    scenario: str, total: int, checkpoints: list[int], question_every: int = QUESTION_EVERY, optimize: int = IMAGE_OPTIMIZE
) -> list[dict[str, Any]]:
    command = [sys.executable, "-m", "benchmarks.memory_users", "--child", scenario, "--total", str(total)]
    command += ["--question-every", str(question_every)]
    command += ["--checkpoints", ",".join(str(c) for c in checkpoints)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONOPTIMIZE"} | ({"PYTHONOPTIMIZE": str(optimize)} if optimize else {})
    rows: list[dict[str, Any]] = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        for line in process.stdout:
            row = json.loads(line)
            rows.append(row)
            print(
                f"  {scenario:5} after {row['at']:>9,}: RSS {row['rss_mb']:7.1f} MB (peak {row['peak_rss_mb']:7.1f})"
                + (f", {row['seconds']:.0f} s, log records dropped {row['store_dropped']}" if "seconds" in row else ""),
                flush=True,
            )
    if process.returncode:
        raise SystemExit(f"the {scenario} scenario failed (exit {process.returncode})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)  # None under python -OO
    parser.add_argument("--scenario", choices=("users", "flood", "all"), default="all")
    parser.add_argument("--users", type=int, default=1_000_000, help="distinct users of the users scenario")
    parser.add_argument("--flood", type=int, default=40_000, help="crafted messages of the flood scenario")
    parser.add_argument(
        "--question-every", type=int, default=QUESTION_EVERY, help="in the users scenario, every Nth user asks a question (1: all of them)"
    )
    parser.add_argument(
        "--optimize", type=int, choices=(0, 1, 2), default=IMAGE_OPTIMIZE, help="the bot process's PYTHONOPTIMIZE (2: as in the image)"
    )
    parser.add_argument("--child", choices=("users", "flood"), help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoints", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.total, [int(c) for c in args.checkpoints.split(",") if c], args.question_every))
        return
    verdicts: list[str] = []
    print(f"  PYTHONOPTIMIZE={args.optimize}" + (" (as in the Docker image)" if args.optimize == IMAGE_OPTIMIZE else ""), flush=True)
    if args.scenario in ("users", "all"):
        marks = sorted({min(m, args.users) for m in (100_000, 250_000, 500_000)} | {args.users})
        rows = {r["at"]: r for r in run_child("users", args.users, marks, args.question_every, args.optimize)}
        if 100_000 in rows:
            verdicts.append(verdict("after 100,000 users", rows[100_000]["rss_mb"], TARGETS_MB["users_100000"]))
        verdicts.append(verdict(f"after {args.users:,} users", rows[args.users]["rss_mb"], TARGETS_MB["users_end"]))
    if args.scenario in ("flood", "all"):
        marks = sorted({args.flood * k // 4 for k in (1, 2, 3, 4)})
        rows = {r["at"]: r for r in run_child("flood", args.flood, marks, optimize=args.optimize)}
        worst = max(r["rss_mb"] for r in rows.values())
        verdicts.append(verdict(f"under a flood of {args.flood:,} crafted 4,000-character words (highest)", worst, TARGETS_MB["flood"]))
    print("\n".join(verdicts))


def verdict(what: str, rss: float, target: float) -> str:
    return f"RSS {what}: {rss:.1f} MB (target <= {target:.0f} MB): {'met' if rss <= target else 'NOT met'}"


if __name__ == "__main__":
    main()
