"""Admin commands in Telegram (/stats, /reload, /report) and reload problems sent to the admins.

Only the user ids in ADMIN_IDS get them. The command handlers carry a filter on the
sender, so for anyone else the command is not accepted at all and falls through to
the unknown-command handler registered after them (`Handlers.register_fallbacks`):
the same reply as any unknown command, in private chats and in groups alike, with no
hint that admin commands exist. They are not in the public command menu either.

The texts come from `bot.maintenance.services` (plain text, written for maintainers); this module only
knows who may ask and how to send the answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from telegram import Bot, Message, ReplyParameters, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.maintenance.events import Recorder
from bot.maintenance.reload import Reloader, ReloadResult
from bot.maintenance.services import WEEK, report_for_chat, stats_text
from bot.telegram.addressing import is_private
from bot.telegram.handlers import Handlers
from bot.telegram.logs import UpdateRecord
from bot.telegram.rendering import split
from bot.telegram.sending import retrying, send_chunks

Context = ContextTypes.DEFAULT_TYPE
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
ADMIN_COMMANDS = ("stats", "reload", "report")
PROBLEM_LINES = 20
"""How many problems of a refused reload the admins are sent (the rest: `faqbot validate`)."""

LogCommand = Callable[[Context, Message, Recorder, UpdateRecord], Awaitable[None]]
"""The body of an admin command that reads the conversation log."""

_LOG = logging.getLogger(__name__)
_RELOAD_REQUESTER: ContextVar[int | None] = ContextVar("faqbot_reload_requester", default=None)


class AdminCommands:
    """The admin command handlers, bound to the bot's handlers (for sending, rate limits and logs) and the reloader."""

    def __init__(
        self,
        handlers: Handlers,
        reloader: Reloader,
        admin_ids: Sequence[int],
        *,
        report_threshold: float,
        report_similarity: float,
    ) -> None:
        self.handlers = handlers
        self.reloader = reloader
        self.admin_ids = frozenset(admin_ids)
        self.report_threshold = report_threshold
        self.report_similarity = report_similarity

    def register(self, app: AnyApplication) -> None:
        """Add /stats, /reload and /report for admins in private chats only; register before `Handlers.register_fallbacks`."""
        # Private chats only: a /report in a group would post every user's questions to the group.
        only_admins = filters.User(user_id=self.admin_ids) & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        pin = self.handlers.current.pin
        app.add_handler(CommandHandler("stats", pin(self.stats), filters=only_admins))
        app.add_handler(CommandHandler("reload", pin(self.reload), filters=only_admins))
        app.add_handler(CommandHandler("report", pin(self.report), filters=only_admins))

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    async def stats(self, update: Update, context: Context) -> None:
        """/stats: questions today and in 7 days, fallback rate, top intents, top unanswered groups."""
        await self._with_log(update, context, "stats", self._send_stats)

    async def report(self, update: Update, context: Context) -> None:
        """/report: the unanswered questions of the last 7 days, grouped, as a message and (if any) a CSV document."""
        await self._with_log(update, context, "report", self._send_report)

    async def _with_log(self, update: Update, context: Context, name: str, body: LogCommand) -> None:
        """Run an admin command that reads the conversation log, or say that there is none."""
        message = update.effective_message
        if message is None or not self.is_admin(update.effective_user.id if update.effective_user else None):
            return
        with self.handlers.s.log.update(update, "admin") as record:
            if not await self.handlers.admit(update, context, record):
                return
            record.reply = name
            recorder = self.handlers.s.recorder  # None: no conversation log, or it could not be opened
            if recorder is None:
                await self.handlers.send_plain(context, message, self.handlers.text_of("admin_no_log"))
                return
            await body(context, message, recorder, record)

    async def _send_stats(self, context: Context, message: Message, recorder: Recorder, record: UpdateRecord) -> None:
        engine = self.handlers.engine
        text = await stats_text(recorder, engine.kb, threshold=self.report_threshold, similarity=self.report_similarity, engine=engine)
        await self.handlers.send_plain(context, message, text)

    async def _send_report(self, context: Context, message: Message, recorder: Recorder, record: UpdateRecord) -> None:
        kb = self.handlers.engine.kb
        text, document = await report_for_chat(
            recorder, kb, WEEK, threshold=self.report_threshold, similarity=self.report_similarity, engine=self.handlers.engine
        )
        await self.handlers.send_plain(context, message, text)
        record.note = f"groups:{document.groups}"
        if document.groups:
            await send_document(context.bot, message, document.filename, document.content, document.caption)

    async def reload(self, update: Update, context: Context) -> None:
        """/reload: reload the knowledge base now and say how it went."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not self.is_admin(user.id):
            return
        with self.handlers.s.log.update(update, "admin") as record:
            if not await self.handlers.admit(update, context, record):
                return
            token = _RELOAD_REQUESTER.set(user.id)  # this admin reads the outcome here, not in a second message
            try:
                result = await self.reloader.reload("/reload")
            finally:
                _RELOAD_REQUESTER.reset(token)
            record.reply, record.note = "reload", "ok" if result.ok else f"refused:{len(result.problems)}"
            await self.handlers.send_plain(context, message, result.summary(limit=PROBLEM_LINES))


async def send_document(bot: Bot, message: Message, filename: str, content: bytes, caption: str) -> Message:
    """Send a file to the chat of `message` (quoting it in groups), retried like messages."""
    quote = None if is_private(message) else ReplyParameters(message.message_id, allow_sending_without_reply=True)
    thread_id = message.message_thread_id if message.is_topic_message else None
    return await retrying(
        lambda: bot.send_document(
            message.chat.id, content, filename=filename, caption=caption[:1024], reply_parameters=quote, message_thread_id=thread_id
        ),
        "sendDocument",
    )


class AdminNotifier:
    """The reload `on_error` callback: sends a refused reload's problems to every admin, in plain text.

    Failures to send (an admin who never started the bot, blocked it, or Telegram being
    down) are logged and never raised. The admin whose /reload caused the reload is
    skipped: the reply to the command already says the same.
    """

    def __init__(self, admin_ids: Sequence[int], bot: Bot) -> None:
        self.admin_ids = tuple(dict.fromkeys(admin_ids))
        self.bot = bot

    @staticmethod
    def text(result: ReloadResult) -> str:
        return result.summary(limit=PROBLEM_LINES)

    async def __call__(self, result: ReloadResult) -> None:
        if result.ok:
            return
        requester = _RELOAD_REQUESTER.get()
        chunks = split(self.text(result), ())
        for admin in self.admin_ids:
            if admin == requester:
                continue
            try:
                await send_chunks(self.bot, admin, chunks)
            except TelegramError as exc:
                _LOG.warning("could not send the reload problems to an admin: %s: %s", type(exc).__name__, exc)
            except Exception:
                _LOG.exception("could not send the reload problems to an admin")
