"""Where updates come from: long polling (`Poller`) or a webhook (`WebhookServer`), both feeding a `Delivery`.

Both replace python-telegram-bot's Updater, which confirms updates as soon as it has
fetched them (polling) or answers Telegram's POST once the update is in memory (webhook).

Polling: `getUpdates` is called with the offset of `Delivery.offset()` (the lowest update
not yet handled), so nothing unhandled is ever confirmed; at most `POLL_LIMIT` updates are
in memory at once (one `getUpdates` answer), which a stop drains within `DRAIN_TIMEOUT`.
Errors back off exponentially (`BACKOFF_START` doubling up to `BACKOFF_MAX`, or Telegram's
`retry_after`), whatever they are: a network error, a 5xx, a 401, or a 200 `{"ok": false}`.

Webhook: Telegram's POST is answered 200 only once the update is handled (or dropped as
unparseable, or found already handled). A request cut off by a crash or a stop gets no
answer, and Telegram sends the update again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from bot.telegram.delivery import Delivery

if TYPE_CHECKING:  # imported where it is used: a polling bot does without aiohttp's server (1.8 MB)
    from aiohttp import web

POLL_LIMIT = 100
"""Updates fetched per `getUpdates` (Telegram's maximum): the in-memory backlog when polling."""
DRAIN_TIMEOUT = 6.0
"""Seconds a stop waits for updates under way before leaving them to Telegram (within Docker's 10 s grace)."""
CONFIRM_TIMEOUT = 1.5
"""Seconds for the last `getUpdates` of a stop, which confirms what was handled."""
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
RECHECK = 0.25
"""When a `getUpdates` brought nothing new (all under way), wait this long at most for one to finish before asking again."""
REPOLL_GAP = 0.02
"""...and at least this long, so a burst of finished updates costs one `getUpdates`, not one each."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1 << 20

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Stopped(Exception):
    """The source was asked to stop while it waited."""


async def until_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T:
    """Await `awaitable`, unless `stop` is set first (then cancel it and raise Stopped)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise Stopped


class Poller:
    """Long-polls `getUpdates` into `delivery` from `start()` until `stop()`."""

    def __init__(
        self,
        bot: Bot,
        delivery: Delivery,
        *,
        poll_timeout: int,
        request_timeout: float,
        allowed_updates: Sequence[str],
        limit: int = POLL_LIMIT,
        drain_timeout: float = DRAIN_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.delivery = delivery
        self.poll_timeout = poll_timeout
        self.request_timeout = request_timeout
        self.allowed_updates = list(allowed_updates)
        self.limit = limit
        self.drain_timeout = drain_timeout
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        """Failed `getUpdates` calls in a row."""

    async def bootstrap(self) -> None:
        """Polling needs no webhook: remove one left registered (a TelegramError ends the start-up)."""
        await self.bot.delete_webhook()

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="faqbot-polling")

    async def stop(self) -> None:
        """Stop fetching, let the updates under way finish (up to `drain_timeout`), confirm what was handled."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.delivery.drain(self.drain_timeout)
        offset = self.delivery.offset()
        if offset is not None:
            try:
                await asyncio.wait_for(self.fetch(offset, 0, 1), CONFIRM_TIMEOUT)
            except Exception as exc:
                _LOG.warning("could not confirm the handled updates (%s): Telegram will send them again, and they will be skipped", exc)

    async def fetch(self, offset: int | None, wait: int, limit: int) -> list[Any]:
        """One `getUpdates` call (long-polling `wait` seconds): the raw updates (dicts), unparsed. Raises on any failure."""
        data: dict[str, Any] = {"timeout": wait, "limit": limit, "allowed_updates": self.allowed_updates}
        if offset is not None:
            data["offset"] = offset
        # Bot._post returns the raw "result": parsing is left to Delivery, one update at a time,
        # so one update that cannot be parsed does not fail the whole answer.
        result = await self.bot._post("getUpdates", data, read_timeout=self.request_timeout + wait)
        if not isinstance(result, list):
            raise TelegramError("getUpdates did not answer a list")
        return result

    async def _run(self) -> None:
        delay = BACKOFF_START
        while not self._stop.is_set():
            offset = self.delivery.offset()
            try:
                raw = await until_stopped(self.fetch(offset, self.poll_timeout, self.limit), self._stop)
            except Stopped:
                return
            except Exception as exc:
                self.failures += 1
                wait = delay
                if isinstance(exc, RetryAfter):
                    wait = max(delay, _seconds(exc.retry_after))
                else:
                    delay = min(delay * 2, BACKOFF_MAX)
                _LOG.warning(
                    "getUpdates failed (%s: %s): retrying in %.1fs (failure %d in a row)", type(exc).__name__, exc, wait, self.failures
                )
                with contextlib.suppress(Stopped):
                    await until_stopped(asyncio.sleep(wait), self._stop)
                continue
            self.failures = 0
            delay = BACKOFF_START
            self.delivery.last_fetch = time.monotonic()
            accepted = await self.delivery.accept(raw)
            if raw and not accepted.started and self.delivery.offset() == offset:
                # Everything Telegram returned is under way, so it would return it again at once (the
                # offset cannot move past an update under way): ask again when one finishes, or after
                # RECHECK for updates sent meanwhile (a slow chat must not hold up the others).
                with contextlib.suppress(Stopped, TimeoutError):
                    await until_stopped(asyncio.wait_for(self.delivery.changed(), RECHECK), self._stop)
                with contextlib.suppress(Stopped):
                    await until_stopped(asyncio.sleep(REPOLL_GAP), self._stop)


class WebhookServer:
    """An HTTP server for Telegram's webhook POSTs at `path`, answering each once its update is handled."""

    def __init__(
        self,
        bot: Bot,
        delivery: Delivery,
        *,
        listen: str,
        port: int,
        path: str,
        url: str,
        secret: str,
        allowed_updates: Sequence[str],
        max_connections: int = 40,
        drain_timeout: float = DRAIN_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.delivery = delivery
        self.listen = listen
        self.port = port
        self.path = "/" + path.strip("/")
        self.url = url
        self.secret = secret
        self.allowed_updates = list(allowed_updates)
        self.max_connections = max_connections
        self.drain_timeout = drain_timeout
        self.running = False
        self._stopping = False
        self._runner: web.AppRunner | None = None

    async def bootstrap(self) -> None:
        """Register the webhook with Telegram (a TelegramError ends the start-up)."""
        await self.bot.set_webhook(
            self.url, secret_token=self.secret, allowed_updates=self.allowed_updates, max_connections=self.max_connections
        )

    async def start(self) -> None:
        """Listen (raises OSError when the port cannot be bound)."""
        from aiohttp import web

        app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
        app.router.add_post(self.path, self._post)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.running = True
        self.delivery.source_alive = lambda: self.running

    async def stop(self) -> None:
        """Refuse new requests (503: Telegram retries), let the updates under way finish, then close."""
        self._stopping = True
        await self.delivery.drain(self.drain_timeout)
        self.running = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self.secret.encode()):
            return web.Response(status=403)
        if self._stopping:
            return web.Response(status=503)
        try:
            raw = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400)
        try:
            await self.delivery.deliver(raw)
        except asyncio.CancelledError:
            if self._stopping:  # cut off by a stop: not handled, so Telegram must send it again
                return web.Response(status=503)
            raise
        return web.Response(status=200)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    if callable(total):
        return float(total())
    return float(value) if isinstance(value, int | float) else BACKOFF_START
