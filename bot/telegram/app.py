"""Composition root of the Telegram bot: settings -> engine holder -> recorder -> application.

`faqbot run` calls `run(settings)`, which builds everything in that order and serves
until SIGINT/SIGTERM. Tests and benchmarks call `build_application` with their own
engine holder, recorder and request objects (or a base URL pointing at a fake Bot API).

What runs beside the application is one `Lifecycle`, started by PTB's `post_init` and
stopped by `post_stop`/`post_shutdown`: the conversation log (opened and closed), the
command menu, the heartbeat, the folder watcher and SIGHUP. Hot reload: one `Reloader`
for FAQBOT_KB feeds the engine holder the handlers read from, on /reload (admins), on
SIGHUP and, with FAQBOT_RELOAD_WATCH (the default), whenever a file under intents/ or
content/ changes; a refused reload's problems are sent to the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
import weakref
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.engine.core import EngineHolder
from bot.engine.dialogue import Dialogue
from bot.maintenance.events import Recorder, UpdateLedger
from bot.maintenance.memory import fix_allocator_thresholds, release_free_memory
from bot.maintenance.reload import Reloader
from bot.maintenance.storage import Store
from bot.maintenance.vector_cache import cached_engine
from bot.settings import Settings
from bot.telegram import logs
from bot.telegram.admin import AdminCommands, AdminNotifier
from bot.telegram.delivery import Delivery
from bot.telegram.handlers import Handlers, Services, UpdateEngine
from bot.telegram.heartbeat import INTERVAL, Heartbeat, heartbeat_path
from bot.telegram.keyboards import CallbackCodec
from bot.telegram.limits import UserRateLimiter
from bot.telegram.logs import UpdateLogger
from bot.telegram.ordering import PerChatUpdateProcessor
from bot.telegram.request import AiohttpRequest
from bot.telegram.sending import retrying
from bot.telegram.sources import DRAIN_TIMEOUT, Poller, WebhookServer

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


class StatelessApplication(AnyApplication):
    """python-telegram-bot's Application without its per-user bookkeeping when there is no persistence.

    PTB marks the chat and user of every update "to be saved by the persistence" in two sets that only a
    persistence empties: with none configured (this bot keeps its log in SQLite) they grew by one entry
    per distinct user and chat, forever. Here nothing is marked unless a persistence is set.
    """

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Any = None) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


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


def run(settings: Settings) -> int:
    """`faqbot run`: build the bot from `settings` and serve (polling or webhook, per MODE) until SIGINT/SIGTERM.

    Returns the exit code: 2 for a missing, malformed or rejected token (with a hint),
    1 when the Bot API or the webhook port fails at start-up. Raises KnowledgeBaseError
    when FAQBOT_KB cannot be loaded; the command line reports its problems.
    """
    fix_allocator_thresholds()  # before the model and the engine are loaded
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else ""
    raw_token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token is not None else ""
    logs.protect_output([raw_token, raw_token.strip(), secret])  # before anything can print them
    try:
        token = settings.token()
    except ValueError as exc:
        print(f"faqbot: {exc}. {CHAT_HINT}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, [token, secret])
    if warning := settings.salt_warning():
        _LOG.warning(warning)
    try:
        salt = settings.hash_salt()
    except OSError as exc:
        print(f"faqbot: cannot keep the user hash salt in {settings.faqbot_data_dir}: {exc}", file=sys.stderr)
        return 1
    holder = EngineHolder(cached_engine(settings.faqbot_kb, settings.faqbot_cache_dir, settings.tuning()))
    recorder = Store(settings.database_path(), salt, retention_days=settings.retention_days)
    app = build_application(settings, holder, recorder)
    _LOG.info("starting in %s mode with %d intents", settings.mode, len(holder.get().kb.intents))
    return serve(app, settings)


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
    """The Application answering from `holder`, recording to `recorder`, with its admin commands, hot reload and lifecycle.

    `request`/`updates_request` replace the HTTP clients (tests); by default they are
    TELEGRAM_HTTP clients (aiohttp or httpx) with TELEGRAM_TIMEOUT, the polling one
    tracking Telegram's answers for the heartbeat. `check_confusions=False` skips the
    slowest check of a reload (tests). Raises ValueError if the token is missing or malformed, OSError if the
    generated user hash salt cannot be kept (see `Settings.hash_salt`).
    """
    token = settings.token()
    logs.quiet()  # httpx logs request URLs, which contain the token
    bot: ExtBot[int] = ExtBot(
        token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=request or http_request(settings),
        get_updates_request=updates_request or http_request(settings, connection_pool_size=2),
        rate_limiter=AIORateLimiter(max_retries=RATE_LIMIT_RETRIES),
    )
    services = Services(
        holder=holder,
        dialogue=Dialogue(UpdateEngine(holder)),
        codec=CallbackCodec(callback_secret(token)),
        limiter=UserRateLimiter(settings.user_rate, 60.0),
        tap_limiter=UserRateLimiter(settings.user_tap_rate, 60.0),
        log=UpdateLogger(settings.hash_salt()),
        recorder=recorder,
    )
    handlers = Handlers(services)
    notifier = AdminNotifier(settings.admin_ids, bot)
    reloader = Reloader(settings.faqbot_kb, holder, notifier, check_confusions=check_confusions, cache_dir=settings.faqbot_cache_dir)
    admin = AdminCommands(
        handlers,
        reloader,
        settings.admin_ids,
        report_threshold=settings.faqbot_report_threshold,
        report_similarity=settings.faqbot_report_similarity,
    )
    lifecycle = Lifecycle(settings, services, handlers, reloader, heartbeat_interval=heartbeat_interval)
    processor = PerChatUpdateProcessor()
    app: AnyApplication = (
        Application.builder()
        .application_class(StatelessApplication)
        .bot(bot)
        .updater(None)  # updates come from bot.telegram.sources, through a Delivery
        .concurrent_updates(processor)
        .job_queue(None)
        .post_init(lifecycle.start)
        .post_stop(lifecycle.stop)
        .post_shutdown(lifecycle.shutdown)
        .build()
    )
    handlers.register(app)
    # Other features' handlers are added here, before the fallbacks. Admin commands from
    # non-admins are not accepted by their handlers and reach the unknown-command fallback.
    admin.register(app)
    handlers.register_fallbacks(app)
    delivery = Delivery(app, processor, lambda: _ledger(services.recorder))
    lifecycle.delivery = delivery
    _DELIVERIES[app] = delivery
    return app


_DELIVERIES: weakref.WeakKeyDictionary[AnyApplication, Delivery] = weakref.WeakKeyDictionary()


def delivery_of(app: AnyApplication) -> Delivery:
    """The `Delivery` feeding an application built by `build_application`."""
    return _DELIVERIES[app]


def _ledger(recorder: Recorder | None) -> UpdateLedger | None:
    return recorder if isinstance(recorder, UpdateLedger) else None


def update_source(app: AnyApplication, settings: Settings, drain_timeout: float = DRAIN_TIMEOUT) -> Poller | WebhookServer:
    """The webhook server (MODE=webhook) or the poller feeding `app`."""
    delivery = delivery_of(app)
    if settings.mode == "webhook" and settings.webhook_url and settings.webhook_secret is not None:
        return WebhookServer(
            app.bot,
            delivery,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            path=webhook_path(settings.webhook_url),
            url=settings.webhook_url,
            secret=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            drain_timeout=drain_timeout,
        )
    return Poller(
        app.bot,
        delivery,
        poll_timeout=settings.telegram_poll_timeout,
        request_timeout=settings.telegram_timeout,
        allowed_updates=ALLOWED_UPDATES,
        drain_timeout=drain_timeout,
    )


@contextlib.asynccontextmanager
async def serving(app: AnyApplication, settings: Settings, drain_timeout: float = DRAIN_TIMEOUT) -> AsyncIterator[Poller | WebhookServer]:
    """Run `app` with its update source inside the block; on leaving, drain, confirm and shut down.

    Start-up: `getMe` (InvalidToken for a rejected token, TelegramError when the Bot API
    fails), the webhook removed or registered (retried `BOOTSTRAP_RETRIES` times), the
    lifecycle, then polling or listening (OSError when the port is taken).
    """
    source = update_source(app, settings, drain_timeout)
    try:
        await app.initialize()
    except BaseException:
        # getMe failed: PTB leaves its HTTP clients open when the bot did not initialise
        for request in app.bot._request:
            await request.shutdown()
        raise
    started = False
    try:
        await retrying(source.bootstrap, "deleteWebhook" if isinstance(source, Poller) else "setWebhook", attempts=BOOTSTRAP_RETRIES + 1)
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        started = True
        await source.start()
        try:
            yield source
        finally:
            await source.stop()
    finally:
        if started:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


class Lifecycle:
    """What runs beside the application, from PTB's `post_init` (`start`) to `post_stop` (`stop`) and `post_shutdown` (`shutdown`).

    Start: open the conversation log (if it cannot be opened the bot answers without
    recording), register the command menu, start the heartbeat, reload on SIGHUP (POSIX)
    and, with FAQBOT_RELOAD_WATCH, watch intents/ and content/. Stop undoes the last three;
    shutdown stops them too (PTB skips `post_stop` when start-up fails) and closes the log.
    Stopping twice is harmless.
    """

    def __init__(
        self,
        settings: Settings,
        services: Services,
        handlers: Handlers,
        reloader: Reloader,
        *,
        heartbeat_interval: float = INTERVAL,
    ) -> None:
        self.services = services
        self.recorder = services.recorder
        self.handlers = handlers
        self.reloader = reloader
        self.watcher = Watcher(reloader) if settings.faqbot_reload_watch else None
        self.heartbeat = Heartbeat(heartbeat_path(settings.faqbot_data_dir), self.serving, heartbeat_interval)
        self.delivery: Delivery | None = None
        self.stale_after = settings.telegram_poll_timeout + settings.telegram_timeout + 2 * heartbeat_interval
        """Without a good getUpdates answer, or with an update under way and none finished, for this long the bot is not serving."""
        self._app: AnyApplication | None = None

    def serving(self) -> bool:
        """The heartbeat's test: the application runs and updates are being fetched and handled (`Delivery.healthy`)."""
        app = self._app
        if app is None or not app.running or self.delivery is None:
            return False
        return self.delivery.healthy(self.stale_after)

    async def start(self, app: AnyApplication) -> None:
        self._app = app
        await self._open_recorder()
        try:
            await retrying(lambda: app.bot.set_my_commands(self.handlers.commands()), "setMyCommands", attempts=3)
        except TelegramError as exc:
            _LOG.warning("could not register the command menu: %s: %s", type(exc).__name__, exc)
        self.heartbeat.start()
        if not self.reloader.install_sighup():
            _LOG.info("SIGHUP cannot be handled here: reload with /reload or by editing the files")
        if self.watcher is not None:
            self.watcher.start()
        release_free_memory()  # start-up's garbage (building the engine): 6-7 MB of resident memory

    async def stop(self, app: AnyApplication) -> None:
        self.reloader.remove_sighup()
        if self.watcher is not None:
            await self.watcher.stop()
        await self.heartbeat.stop()

    async def shutdown(self, app: AnyApplication) -> None:
        await self.stop(app)
        await self._close_recorder()
        self._app = None

    async def _open_recorder(self) -> None:
        if self.recorder is None:
            return
        try:
            await self.recorder.open()
        except Exception:
            _LOG.exception("cannot open the conversation log: answering without recording")
            self.services.recorder = None  # answering matters more than logging
        else:
            self.services.recorder = self.recorder

    async def _close_recorder(self) -> None:
        if self.recorder is None:
            return
        try:
            await self.recorder.close()
        except Exception:
            _LOG.exception("the conversation log failed to close")


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


def serve(app: AnyApplication, settings: Settings) -> int:
    """Run `app` (polling or webhook, per MODE) until SIGINT/SIGTERM; return the exit code.

    Exit status: 0 after a clean stop; 2 when Telegram rejects the token; 1 when the Bot API cannot be reached
    at start-up (after BOOTSTRAP_RETRIES) or the webhook port cannot be opened. A start-up failure prints one
    line (no traceback) and closes the HTTP sessions it opened.
    """
    try:
        asyncio.run(_serve_until_signal(app, settings))
    except InvalidToken:
        print(f"faqbot: Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?). {CHAT_HINT}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        reason = logs.redacted(f"{type(exc).__name__}: {exc}")
        where = logs.redacted(settings.telegram_api_url)
        print(f"faqbot: cannot reach the Bot API at {where}: {reason} (check the network or TELEGRAM_API_URL)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"faqbot: cannot listen on {settings.webhook_listen}:{settings.webhook_port}: {exc}", file=sys.stderr)
        return 1
    _LOG.info("stopped")
    return 0


async def _serve_until_signal(app: AnyApplication, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        number = getattr(signal, name, None)
        if number is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, stop.set)
    async with serving(app, settings):
        _LOG.info("serving in %s mode", settings.mode)
        await stop.wait()
        _LOG.info("stopping: finishing the updates under way (at most %.0f s)", DRAIN_TIMEOUT)
