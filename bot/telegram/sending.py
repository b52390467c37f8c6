"""Bot API calls that survive a flaky network and Telegram's bad minutes.

429 (RetryAfter) is first retried by AIORateLimiter (configured in `bot.telegram.app`, which
also pauses every other request meanwhile); here we retry the rest: timeouts, dropped
connections and 5xx answers (NetworkError) with exponential backoff, and a 429 that outlasted
the rate limiter's retries after its `retry_after`, never a BadRequest, which would fail again.
A reply is retried for up to PATIENCE seconds: a user rather gets the answer a minute late
than an apology, and the update is confirmed to Telegram only once this returns or gives up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram.rendering import Chunk

T = TypeVar("T")
BACKOFF = 0.5
"""Seconds before the first retry; doubled each time, up to BACKOFF_CAP."""
BACKOFF_CAP = 8.0
PATIENCE = 60.0
"""Seconds after the first attempt past which a call is given up (its error raised): Telegram's 5xx and
flood waits seldom last longer, and a stop's grace period need not wait for it (the update stays unconfirmed)."""

TIMEOUTS = 4
"""Calls that may time out before one is given up: a request that timed out may have been carried out (sent
twice), so timeouts keep the old short count; errors that say the request was not carried out (5xx, 429,
a refused connection) get the whole PATIENCE."""

_LOG = logging.getLogger(__name__)


async def retrying(
    call: Callable[[], Awaitable[T]], what: str, attempts: int | None = None, backoff: float | None = None, patience: float | None = None
) -> T:
    """Await `call()`, retrying on NetworkError (timeouts, 5xx, dropped connections; exponential backoff) and
    RetryAfter (after its `retry_after`) until `attempts` calls were made (None: no count), TIMEOUTS calls timed
    out, or the next try would start more than `patience` seconds (default PATIENCE) after the first; then the
    last error is raised."""
    delay = BACKOFF if backoff is None else backoff
    deadline = time.monotonic() + (PATIENCE if patience is None else patience)
    attempt = timeouts = 0
    while True:
        attempt += 1
        try:
            return await call()
        except BadRequest:
            raise
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after) + 0.1
            if attempt == attempts or time.monotonic() + wait > deadline:
                raise
            _LOG.warning("%s: flood control, retrying in %.1fs (attempt %d)", what, wait, attempt)
        except NetworkError as exc:
            wait, delay = delay, min(delay * 2, BACKOFF_CAP)
            timeouts += isinstance(exc, TimedOut)
            if attempt == attempts or timeouts >= TIMEOUTS or time.monotonic() + wait > deadline:
                raise
            _LOG.warning("%s: %s: %s, retrying in %.1fs (attempt %d)", what, type(exc).__name__, exc, wait, attempt)
        await asyncio.sleep(wait)


def _seconds(retry_after: float | dt.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)


async def send_chunks(
    bot: Bot,
    chat_id: int,
    chunks: Sequence[Chunk],
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> list[Message]:
    """Send the chunks in order; the keyboard goes under the last one, the quote on the first."""
    sent: list[Message] = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        quote = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to is not None and index == 0 else None

        async def call(chunk: Chunk = chunk, last: bool = last, quote: ReplyParameters | None = quote) -> Message:
            return await bot.send_message(
                chat_id,
                chunk.text,
                entities=chunk.entities or None,
                reply_markup=reply_markup if last else None,
                reply_parameters=quote,
                message_thread_id=thread_id,
            )

        sent.append(await retrying(call, "sendMessage"))
    return sent
