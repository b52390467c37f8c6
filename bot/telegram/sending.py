"""Bot API calls that survive a flaky network: retried with backoff on network errors and timeouts.

429 (RetryAfter) is retried by AIORateLimiter (configured in `bot.telegram.app`); here we retry
what it does not: timeouts, dropped connections and 5xx answers (NetworkError), but
never a BadRequest, which would fail again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, NetworkError

from bot.telegram.rendering import Chunk

T = TypeVar("T")
ATTEMPTS = 4
BACKOFF = 0.5
"""Seconds before the first retry; doubled each time."""

_LOG = logging.getLogger(__name__)


async def retrying(call: Callable[[], Awaitable[T]], what: str, attempts: int = ATTEMPTS, backoff: float | None = None) -> T:
    """Await `call()`, retrying with exponential backoff on NetworkError (timeouts, 5xx, dropped connections)."""
    delay = BACKOFF if backoff is None else backoff
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError as exc:
            if attempt == attempts:
                raise
            _LOG.warning("%s: %s: %s, retrying in %.1fs (attempt %d/%d)", what, type(exc).__name__, exc, delay, attempt, attempts)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


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
