"""The bot process of the end-to-end and memory benchmarks: the real Application, polling a (fake) Bot API.

Started by `benchmarks.e2e`: `python -m benchmarks.e2e_bot --api-url http://127.0.0.1:PORT/bot [--factor 100]`.
It is wired as `faqbot run` wires it (`bot.telegram.app.build_application`: handlers, per-chat ordering,
AIORateLimiter with retries, heartbeat, INFO logs with one line per update) plus the SQLite
conversation log, with two changes for the measurement: Telegram's flood limits in
AIORateLimiter are lifted (the limiter still runs on every call) and the per-user limit is
raised so no user is throttled; the folder watcher of hot reload is off (SIGHUP and /reload stay
wired), so an edit of the knowledge base during a run does not add a reload to the figures.
Logs go to stderr (the caller sends them to a file).

Protocol on stdout, one JSON line each: `{"ready": ...}` once polling; then on each stdin
line `stats` the figures so far; on `stop` (or end of input) it shuts down and prints the final figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram.ext import AIORateLimiter

import bot.telegram.app as app_module
from benchmarks.common import ROOT, bench_engine, rss_mb
from bot.engine.core import EngineHolder
from bot.settings import Settings
from bot.telegram import logs
from bot.telegram.app import build_application, serving
from tests.telegram.factories import TOKEN

LIFTED = 1_000_000.0
"""Requests per second the lifted AIORateLimiter allows, overall and per group (Telegram: 30/s and 20/min)."""
USER_RATE = 1_000_000
"""Messages per minute a user may send (production: 20)."""


class LiftedRateLimiter(AIORateLimiter):
    """AIORateLimiter as production configures it (retries on 429), but without Telegram's flood limits."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(overall_max_rate=LIFTED, overall_time_period=1, group_max_rate=LIFTED, group_time_period=1, **kwargs)


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def figures(errors: ErrorCounter, **extra: Any) -> dict[str, Any]:
    gc.collect()
    return {**rss_mb(), "cpu_s": cpu_s(), "errors": errors.count, **extra}


async def main(args: argparse.Namespace) -> None:
    setattr(app_module, "AIORateLimiter", LiftedRateLimiter)  # noqa: B010 - build_application looks it up there
    data_dir = Path(tempfile.mkdtemp(prefix="faqbot-bench-"))
    api_root = args.api_url.rsplit("/bot", 1)[0]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_url=args.api_url,
        telegram_file_url=f"{api_root}/file/bot",
        faqbot_data_dir=data_dir,
        faqbot_kb=ROOT,
        user_rate=USER_RATE,
        log_level="INFO",
        mode="polling",
        webhook_url=None,
        webhook_secret=None,
        faqbot_reload_watch=False,  # the knowledge base is being edited on this machine: no reload mid-measurement
    )
    logs.configure(settings.log_level, [TOKEN])
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)

    started = time.perf_counter()
    if args.factor > 1:
        from benchmarks.synthetic import grown_engine

        engine = grown_engine(ROOT, args.factor)
    else:
        engine = bench_engine()
    load_s = time.perf_counter() - started
    recorder = None
    if args.store:
        from bot.maintenance.storage import Store

        recorder = await Store(settings.database_path(), settings.hash_salt()).open()

    app = build_application(settings, EngineHolder(engine), recorder)
    async with serving(app, settings):
        print(json.dumps(figures(errors, ready=True, load_s=load_s, intents=len(engine.kb.intents))), flush=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if line.strip() == "stats":
                print(json.dumps(figures(errors)), flush=True)
                continue
            break
        running = figures(errors)
    print(json.dumps({**running, "stopped": True, "errors": errors.count}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--factor", type=int, default=1)
    parser.add_argument("--no-store", dest="store", action="store_false", help="run without the SQLite conversation log")
    asyncio.run(main(parser.parse_args()))
