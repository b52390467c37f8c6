"""Composition root of the Telegram bot: settings + engine + recorder -> a running Application.

`faqbot run` calls `run(settings)`. Tests call `build_application` with their own
request objects (or a base URL pointing at a fake Bot API server).

Hot reload is wired here too: one `Reloader` for FAQBOT_KB feeds the engine holder the
handlers read from. It runs on /reload (admins), on SIGHUP and, with
FAQBOT_RELOAD_WATCH (the default), whenever a file under intents/ or content/ changes;
a refused reload's problems are sent to the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.engine.core import Engine, EngineHolder, build
from bot.engine.dialogue import Dialogue
from bot.maintenance.events import Recorder
from bot.maintenance.reload import Reloader
from bot.maintenance.storage import Store
from bot.settings import Settings
from bot.telegram import logs
from bot.telegram.admin import AdminCommands, AdminNotifier
from bot.telegram.handlers import Handlers, Services, UpdateEngine
from bot.telegram.heartbeat import INTERVAL, Heartbeat, heartbeat_path
from bot.telegram.keyboards import CallbackCodec
from bot.telegram.limits import UserRateLimiter
from bot.telegram.logs import UpdateLogger
from bot.telegram.ordering import BoundedUpdateQueue, PerChatUpdateProcessor
from bot.telegram.request import AiohttpRequest
from bot.telegram.sending import retrying

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
RATE_LIMIT_RETRIES = 3
"""How often AIORateLimiter retries a request that got 429 (RetryAfter)."""
BOOTSTRAP_RETRIES = 3
"""How often deleteWebhook / setWebhook are retried at start-up."""
WATCH_STOP_TIMEOUT = 5.0
"""Seconds to wait at shutdown for the folder watcher (and a reload it started) to end."""
CHAT_HINT = "Without a token you can still try the bot in the console: faqbot chat"

_LOG = logging.getLogger(__name__)
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TrackingRequest(BaseRequest):
    """Wraps a request object and remembers when Telegram last answered (for the heartbeat)."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner
        self.last_ok: float | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

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
        code, payload = await self.inner.do_request(url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout)
        if code < 500:
            self.last_ok = time.monotonic()
        return code, payload


def http_request(settings: Settings, connection_pool_size: int = 256) -> BaseRequest:
    """A Bot API request object of the kind TELEGRAM_HTTP names, every timeout TELEGRAM_TIMEOUT."""
    timeout = settings.telegram_timeout
    if settings.telegram_http == "httpx":
        return HTTPXRequest(
            connection_pool_size=connection_pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
    return AiohttpRequest(
        connection_pool_size=connection_pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )


def callback_secret(token: str) -> bytes:
    """The key that signs callback data: derived from the token, so it is secret and stable across restarts."""
    return hashlib.sha256(b"faqbot-callback-data:" + token.encode()).digest()


def webhook_path(webhook_url: str) -> str:
    """The path the local webhook server listens on: the path of WEBHOOK_URL (a reverse proxy forwards it as is)."""
    return urlsplit(webhook_url).path.strip("/")


def build_application(
    settings: Settings,
    holder: EngineHolder,
    recorder: Recorder | None = None,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    heartbeat_interval: float = INTERVAL,
    check_confusions: bool = True,
) -> AnyApplication:
    """Wire the handlers, admin commands, hot reload, rate limiters, heartbeat and recorder into an Application.

    `request`/`updates_request` replace the HTTP clients (tests); by default they are
    TELEGRAM_HTTP clients (aiohttp or httpx) with TELEGRAM_TIMEOUT, the polling one
    tracking Telegram's answers.
    `check_confusions=False` skips the slowest check of a reload (tests).
    Raises ValueError if the token is missing or malformed.

    Start-up (`post_init`) opens the recorder, registers the command menu, starts the
    heartbeat, reloads on SIGHUP (POSIX) and, with FAQBOT_RELOAD_WATCH, starts watching
    intents/ and content/; `post_stop` undoes the last three, `post_shutdown` closes the
    recorder.
    """
    token = settings.token()
    logs.quiet()  # httpx logs request URLs, which contain the token
    # Opt in to PTB's future timedelta durations; without it a 429 (RetryAfter) emits a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    timeout = settings.telegram_timeout
    if request is None:
        request = http_request(settings)
    tracker: TrackingRequest | None = None
    if updates_request is None:
        tracker = TrackingRequest(http_request(settings, connection_pool_size=2))
        updates_request = tracker

    services = Services(
        holder=holder,
        dialogue=Dialogue(UpdateEngine(holder), settings.dialogue()),
        codec=CallbackCodec(callback_secret(token)),
        limiter=UserRateLimiter(settings.user_rate, 60.0),
        log=UpdateLogger(settings.user_hash_salt.get_secret_value()),
        recorder=recorder,
    )
    handlers = Handlers(services)
    notifier = AdminNotifier(settings.admin_ids)
    reloader = Reloader(settings.faqbot_kb, holder, notifier, check_confusions=check_confusions)
    watcher = Watcher(reloader) if settings.faqbot_reload_watch else None
    heartbeat: Heartbeat | None = None

    async def post_init(app: AnyApplication) -> None:
        if not await open_recorder(recorder):
            services.recorder = None  # answering matters more than logging
        try:
            await retrying(lambda: app.bot.set_my_commands(handlers.commands()), "setMyCommands", attempts=3)
        except TelegramError as exc:
            _LOG.warning("could not register the command menu: %s: %s", type(exc).__name__, exc)
        if heartbeat is not None:
            heartbeat.start()
        if not reloader.install_sighup():
            _LOG.info("SIGHUP cannot be handled here: reload with /reload or by editing the files")
        if watcher is not None:
            watcher.start()

    async def post_stop(app: AnyApplication) -> None:
        reloader.remove_sighup()
        if watcher is not None:
            await watcher.stop()
        if heartbeat is not None:
            await heartbeat.stop()

    async def post_shutdown(app: AnyApplication) -> None:
        reloader.remove_sighup()
        if watcher is not None:
            await watcher.stop()
        await close_recorder(recorder)

    app: AnyApplication = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .request(request)
        .get_updates_request(updates_request)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .update_queue(BoundedUpdateQueue())  # backpressure: a flood waits on Telegram's side, not in memory
        .concurrent_updates(PerChatUpdateProcessor())
        .job_queue(None)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    notifier.bot = app.bot
    handlers.register(app)
    # Other features' handlers are added here, before the fallbacks. Admin commands from
    # non-admins are not accepted by their handlers and reach the unknown-command fallback.
    AdminCommands(
        handlers,
        reloader,
        settings.admin_ids,
        report_threshold=settings.faqbot_report_threshold,
        report_similarity=settings.faqbot_report_similarity,
    ).register(app)
    handlers.register_fallbacks(app)

    stale_after = settings.telegram_poll_timeout + timeout + 2 * heartbeat_interval

    def alive() -> bool:
        updater = app.updater
        if not app.running or updater is None or not updater.running:
            return False
        if settings.mode == "polling" and tracker is not None:
            return tracker.last_ok is not None and time.monotonic() - tracker.last_ok < stale_after
        return True

    heartbeat = Heartbeat(heartbeat_path(settings.faqbot_data_dir), alive, heartbeat_interval)
    return app


class Watcher:
    """Runs `Reloader.watch` as a background task, from `start()` until `stop()`."""

    def __init__(self, reloader: Reloader) -> None:
        self.reloader = reloader
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="faqbot-reload-watch")

    async def _watch(self) -> None:
        try:
            await self.reloader.watch(self._stop)
        except Exception:  # e.g. no inotify watches left: keep serving, reload with /reload or SIGHUP
            _LOG.exception("watching the knowledge base failed: reload with /reload or SIGHUP")

    async def stop(self) -> None:
        """Stop watching; a reload it already started is allowed to finish (bounded by WATCH_STOP_TIMEOUT)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        done, _pending = await asyncio.wait([task], timeout=WATCH_STOP_TIMEOUT)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def open_recorder(recorder: Recorder | None) -> bool:
    """Open the recorder if it has an async `open()` (e.g. the SQLite store); False if that failed."""
    opener: Callable[[], Awaitable[object]] | None = getattr(recorder, "open", None)
    if opener is None:
        return True
    try:
        await opener()
    except Exception:
        _LOG.exception("cannot open the conversation log: answering without recording")
        return False
    return True


async def close_recorder(recorder: Recorder | None) -> None:
    """Flush the recorder on shutdown if it has an async (or plain) `close()`."""
    close: Callable[[], Awaitable[None] | None] | None = getattr(recorder, "close", None)
    if close is None:
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        _LOG.exception("recorder failed to close")


def run(settings: Settings, engine: Engine | None = None, recorder: Recorder | None = None) -> int:
    """Run the bot (polling or webhook, per MODE) until SIGINT/SIGTERM; return the exit code.

    The conversation log defaults to the SQLite store in FAQBOT_DATA_DIR; it is opened at
    start-up and flushed and closed at shutdown.
    """
    try:
        token = settings.token()
    except ValueError as exc:
        print(f"faqbot: {exc}. {CHAT_HINT}", file=sys.stderr)
        return 2
    secrets = [token]
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    logs.configure(settings.log_level, secrets)
    if engine is None:
        engine = build(settings.faqbot_kb)
    elif Path(engine.kb.root).resolve() != Path(settings.faqbot_kb).resolve():
        settings = settings.model_copy(update={"faqbot_kb": engine.kb.root})  # `faqbot run --kb X`: reload from X too
    if recorder is None:
        recorder = Store(settings.database_path(), settings.user_hash_salt.get_secret_value(), retention_days=settings.retention_days)
    app = build_application(settings, EngineHolder(engine), recorder)
    _LOG.info("starting in %s mode with %d intents", settings.mode, len(engine.kb.intents))
    try:
        if settings.mode == "webhook" and settings.webhook_url and settings.webhook_secret is not None:
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=webhook_path(settings.webhook_url),
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=BOOTSTRAP_RETRIES,
            )
        else:
            app.run_polling(
                timeout=settings.telegram_poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=BOOTSTRAP_RETRIES,
            )
    except InvalidToken:
        print(f"faqbot: Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?). {CHAT_HINT}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"faqbot: the Bot API at {settings.telegram_api_url} failed at start-up: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"faqbot: cannot listen on {settings.webhook_listen}:{settings.webhook_port}: {exc}", file=sys.stderr)
        return 1
    _LOG.info("stopped")
    return 0
