"""Command, message, callback and inline handlers: Telegram updates in, `Dialogue` replies out.

`Handlers` receives everything it needs (`Services`) from the composition root
(`bot.telegram.app`); it keeps no global state. Every user-visible text comes from
`content/_messages.yaml` through the knowledge base in service.

Each update is handled by one engine: the engine in service when the update arrived
(`UpdateEngine`). A hot reload swapping the engine meanwhile takes effect from the next
update on, so an answer, its buttons and its log record never mix two knowledge bases.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardMarkup,
    InlineQueryResultsButton,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.engine.core import Engine, EngineHolder
from bot.engine.dialogue import Dialogue
from bot.engine.models import Reason, Reply
from bot.engine.render import plain
from bot.engine.text import normalise
from bot.maintenance.events import ChatType as EventChatType
from bot.maintenance.events import FeedbackEvent, Recorder, question_event
from bot.telegram import inline
from bot.telegram.addressing import addressed_text, is_private, replies_to_bot
from bot.telegram.keyboards import (
    Answer,
    CallbackCodec,
    ExpiredButton,
    Feedback,
    Menu,
    NoneOfThese,
    menu_keyboard,
    reply_keyboard,
    without_feedback,
)
from bot.telegram.limits import UserRateLimiter, Verdict
from bot.telegram.logs import UpdateLogger, UpdateRecord
from bot.telegram.rendering import fill, render, split
from bot.telegram.sending import retrying, send_chunks

Context = ContextTypes.DEFAULT_TYPE
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
COMMANDS = ("start", "help", "topics", "about", "forgetme")
"""The public command menu (set_my_commands); admin commands are deliberately not listed."""
INLINE_CACHE_SECONDS = 300
_EVENT_CHAT_TYPES: dict[str, EventChatType] = {"private": "private", "group": "group", "supergroup": "supergroup", "channel": "channel"}

_LOG = logging.getLogger(__name__)
_PINNED: ContextVar[tuple[EngineHolder, Engine] | None] = ContextVar("faqbot_update_engine", default=None)
U = TypeVar("U")
Callback = Callable[[U, Context], Coroutine[Any, Any, None]]


class UpdateEngine:
    """The engine answering the current update: read from the holder once, when the update's handler starts.

    Call it to get the engine (the holder's current one outside a handler); wrap handler
    callbacks with `pin` so everything an update does (match, buttons, log record) uses
    the same engine even if a reload swaps the holder in the middle of it.
    """

    def __init__(self, holder: EngineHolder) -> None:
        self.holder = holder

    def __call__(self) -> Engine:
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self.holder:
            return pinned[1]
        return self.holder.get()

    def pin(self, callback: Callback[U]) -> Callback[U]:
        """`callback`, running with the engine in service when it is called (kept if one is already pinned)."""

        @functools.wraps(callback)
        async def pinned(update: U, context: Context) -> None:
            token = _PINNED.set((self.holder, self()))
            try:
                await callback(update, context)
            finally:
                _PINNED.reset(token)

        return pinned


class Conversations:
    """The conversation ids each user has had recently (so /forgetme can clear their contexts everywhere).

    Bounded like the dialogue's own contexts: the least recently used ids are dropped first.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._users: OrderedDict[str, int] = OrderedDict()

    def id(self, chat_id: int, user_id: int | None) -> str:
        """The conversation id of this chat and user (see `conversation_id`), remembered for the user."""
        conversation = conversation_id(chat_id, user_id)
        if user_id is not None:
            self._users.pop(conversation, None)
            self._users[conversation] = user_id
            while len(self._users) > self.limit:
                self._users.popitem(last=False)
        return conversation

    def pop_user(self, user_id: int) -> list[str]:
        """Forget and return the user's conversation ids."""
        mine = [conversation for conversation, user in self._users.items() if user == user_id]
        for conversation in mine:
            del self._users[conversation]
        return mine


@dataclass
class Services:
    """What the handlers need, built once by the composition root."""

    holder: EngineHolder
    dialogue: Dialogue
    codec: CallbackCodec
    limiter: UserRateLimiter
    """Messages and commands per user."""
    log: UpdateLogger
    recorder: Recorder | None = None
    tap_limiter: UserRateLimiter | None = None
    """Button taps per user, counted apart from messages (browsing menus is fast); None: taps count as messages."""


def conversation_id(chat_id: int, user_id: int | None) -> str:
    """Context is carried per chat and user: two people in one group have separate threads."""
    return f"{chat_id}:{user_id if user_id is not None else 0}"


def answer_id(message: MaybeInaccessibleMessage) -> str:
    """How an answer is named in QuestionEvent and FeedbackEvent: "<chat id>:<message id>"."""
    return f"{message.chat.id}:{message.message_id}"


class Handlers:
    """The bot's update handlers, bound to one set of services."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.current = UpdateEngine(services.holder)
        self.conversations = Conversations(services.holder.get().tuning.max_conversations)

    # --- registration -------------------------------------------------------------------

    def register(self, app: AnyApplication) -> None:
        """Add the commands, messages, buttons, inline and error handlers (call `register_fallbacks` last)."""
        new = filters.UpdateType.MESSAGE
        pin = self.current.pin
        app.add_handler(CommandHandler("start", pin(self.start), filters=new))
        app.add_handler(CommandHandler("help", pin(self.help), filters=new))
        app.add_handler(CommandHandler("topics", pin(self.topics), filters=new))
        app.add_handler(CommandHandler("about", pin(self.about), filters=new))
        app.add_handler(CommandHandler("forgetme", pin(self.forgetme), filters=new))
        # A photo or document with a caption is a question too ("what is this error?" under a screenshot): its caption is read.
        written = filters.TEXT | filters.CAPTION
        app.add_handler(MessageHandler(written & ~filters.COMMAND & filters.UpdateType.MESSAGES, pin(self.text)))
        app.add_handler(MessageHandler(~written & ~filters.COMMAND & ~filters.StatusUpdate.ALL & new, pin(self.non_text)))
        app.add_handler(CallbackQueryHandler(pin(self.button)))
        app.add_handler(InlineQueryHandler(pin(self.inline_query)))
        app.add_error_handler(pin(self.error))

    def register_fallbacks(self, app: AnyApplication) -> None:
        """Add the catch-all for unknown commands; register it after every other command handler.

        A command no earlier handler accepted ends here: an unknown one, or an admin command
        from someone who is not an admin (`bot.telegram.admin` filters on the sender), so
        both get the very same reply (the help text in a private chat, silence in a group).
        """
        fallback = filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(fallback, self.current.pin(self.unknown_command)))

    def commands(self) -> list[BotCommand]:
        """The command menu, in the knowledge base's words."""
        messages = self.engine.kb.messages
        return [BotCommand(name, plain(messages[f"command_{name}"])[:256]) for name in COMMANDS]

    # --- helpers ------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine of the update being handled (see `UpdateEngine`)."""
        return self.current()

    def text_of(self, key: str, **values: str) -> str:
        return fill(self.engine.kb.messages[key], values)

    async def admit(self, update: Update, context: Context, record: UpdateRecord) -> bool:
        """Apply the per-user rate limits (messages and button taps counted apart).

        A tap over the limit always gets the "slow down, go on in N seconds" pop-up (the tap must be
        answered anyway); a message over the limit gets that reply once, then is dropped until the user may go on.
        """
        user = update.effective_user
        if user is None:
            return True
        query = update.callback_query
        limiter = self.s.tap_limiter if query is not None and self.s.tap_limiter is not None else self.s.limiter
        verdict = limiter.check(user.id)
        if verdict is Verdict.ALLOW:
            return True
        record.reply, record.note = "rate_limited", verdict.value
        seconds = str(max(1, math.ceil(limiter.retry_in(user.id))))
        if query is not None:
            await self._ack(query, plain(self.text_of("slow_down", seconds=seconds)))
        elif verdict is Verdict.WARN:
            message = update.effective_message
            if message is not None:
                await self._send(context, message, self.text_of("slow_down", seconds=seconds))
        return False

    async def _send(self, context: Context, message: Message, markdown: str, markup: InlineKeyboardMarkup | None = None) -> list[Message]:
        """Send `markdown` to the chat of `message` (quoting it in groups, in the same forum topic)."""
        return await send_chunks(
            context.bot,
            message.chat.id,
            render(markdown),
            markup,
            reply_to=None if is_private(message) else message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        )

    async def send_plain(self, context: Context, message: Message, text: str) -> list[Message]:
        """Send plain text (no Markdown, e.g. admin reports with user-written questions) like `_send`."""
        return await send_chunks(
            context.bot,
            message.chat.id,
            split(text.strip(), ()),
            reply_to=None if is_private(message) else message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        )

    async def _send_reply(self, context: Context, chat_id: int, reply: Reply, reply_to: int | None, thread_id: int | None) -> list[Message]:
        """Send a dialogue reply with its buttons; a reply that knows nothing close shows the topic menu."""
        engine = self.engine
        kb = engine.kb
        if reply.reason is Reason.OFF_TOPIC:
            markdown, markup = kb.messages["fallback_topics"], menu_keyboard(Menu(), kb, self.s.codec, kb.messages)
        elif reply.reason is Reason.OTHER_LANGUAGE:
            markdown, markup = reply.text, menu_keyboard(Menu(), kb, self.s.codec, kb.messages)
        else:
            markdown, markup = reply.text, reply_keyboard(reply, kb, self.s.codec, kb.messages)
        return await send_chunks(context.bot, chat_id, render(markdown), markup, reply_to, thread_id)

    async def _answer_question(self, update: Update, context: Context, message: Message, question: str, record: UpdateRecord) -> None:
        started = time.perf_counter()
        user = update.effective_user
        reply = self.s.dialogue.respond(question, self.conversations.id(message.chat.id, user.id if user else None))
        record.intent, record.score, record.reply = reply.intent, reply.score, reply.kind
        try:
            sent = await self._send_reply(
                context,
                message.chat.id,
                reply,
                reply_to=None if is_private(message) else message.message_id,
                thread_id=message.message_thread_id if message.is_topic_message else None,
            )
        except (BadRequest, Forbidden):  # refused for good (blocked, no rights, a closed topic): the question was still asked
            await self._record_question(update, message.chat.type, question, reply, started, [])
            raise
        await self._record_question(update, message.chat.type, question, reply, started, sent)

    async def _record_question(
        self, update: Update, chat_type: str, question: str, reply: Reply, started: float, sent: list[Message]
    ) -> None:
        recorder, user = self.s.recorder, update.effective_user
        if recorder is None or user is None:
            return
        event = question_event(
            reply,
            at=time.time(),
            user_id=user.id,
            chat_type=_EVENT_CHAT_TYPES.get(chat_type, "private"),
            text=question,
            normalised=normalise(question, self.engine.kb.lexicon.symbols),
            latency_ms=(time.perf_counter() - started) * 1000,
            answer_id=answer_id(sent[-1]) if sent else None,
        )
        try:
            await recorder.question(event)
        except Exception:
            _LOG.exception("recorder failed to record a question")

    async def _ack(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer a callback query (stops the button's spinner); failures are logged, not raised."""
        try:
            await retrying(lambda: query.answer(text=text[:200] if text else None), "answerCallbackQuery", attempts=3)
        except TelegramError as exc:
            _LOG.warning("could not answer callback query: %s: %s", type(exc).__name__, exc)

    # --- commands -----------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> None:
        """Greet the user and show the themes, or answer the topic named by a deep link (/start salary)."""
        message = update.effective_message
        if message is None:
            return
        with self.s.log.update(update, "start") as record:
            if not await self.admit(update, context, record):
                return
            payload = context.args[0] if context.args else None
            kb = self.engine.kb
            if payload and payload in kb.intents:
                started = time.perf_counter()
                user = update.effective_user
                reply = self.s.dialogue.answer_intent(payload, self.conversations.id(message.chat.id, user.id if user else None))
                if reply is not None:
                    record.intent, record.score, record.reply = reply.intent, reply.score, reply.kind
                    thread_id = message.message_thread_id if message.is_topic_message else None
                    sent = await self._send_reply(context, message.chat.id, reply, None, thread_id)
                    await self._record_question(update, message.chat.type, f"/start {payload}", reply, started, sent)
                    return
            record.reply = "start"
            await self._send(context, message, self.text_of("start"), menu_keyboard(Menu(), kb, self.s.codec, kb.messages))

    async def help(self, update: Update, context: Context) -> None:
        """Explain how to ask questions, the commands, inline mode and group use."""
        message = update.effective_message
        if message is None:
            return
        with self.s.log.update(update, "help") as record:
            if not await self.admit(update, context, record):
                return
            record.reply = "help"
            text = self.text_of("help", bot=f"@{context.bot.username}")
            if context.bot.supports_inline_queries:  # inline mode works only once enabled in @BotFather
                text += "\n\n" + self.text_of("help_inline", bot=f"@{context.bot.username}")
            await self._send(context, message, text)

    async def topics(self, update: Update, context: Context) -> None:
        """Show the topic menu: one button per theme."""
        message = update.effective_message
        if message is None:
            return
        with self.s.log.update(update, "topics") as record:
            if not await self.admit(update, context, record):
                return
            record.reply = "topics"
            kb = self.engine.kb
            await self._send(context, message, self.text_of("topics_header"), menu_keyboard(Menu(), kb, self.s.codec, kb.messages))

    async def about(self, update: Update, context: Context) -> None:
        """Say what the bot knows and where its knowledge comes from."""
        message = update.effective_message
        if message is None:
            return
        with self.s.log.update(update, "about") as record:
            if not await self.admit(update, context, record):
                return
            record.reply = "about"
            kb = self.engine.kb
            answers = len({i for group in kb.topics for i in group.intents})  # the topics the menus show
            text = self.text_of("about", answers=str(answers), groups=str(len(kb.topics)), themes=", ".join(g.title for g in kb.topics))
            await self._send(context, message, text)

    async def forgetme(self, update: Update, context: Context) -> None:
        """Delete the sender's records from the conversation log and forget the context of their conversations."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        with self.s.log.update(update, "forgetme") as record:
            if not await self.admit(update, context, record):
                return
            deleted = 0 if self.s.recorder is None else await self.s.recorder.forget(user.id)
            here = (conversation_id(message.chat.id, user.id), conversation_id(user.id, user.id))  # this chat, the private chat
            for conversation in {*self.conversations.pop_user(user.id), *here}:
                self.s.dialogue.forget(conversation)
            record.reply, record.note = "forgetme", f"deleted:{deleted}"
            await self._send(context, message, self.text_of("forgetme_done", count=str(deleted)))

    async def unknown_command(self, update: Update, context: Context) -> None:
        """Answer an unknown command in a private chat with one line and the topic menu."""
        message = update.effective_message
        if message is None:
            return
        with self.s.log.update(update, "unknown_command") as record:
            if not await self.admit(update, context, record):
                return
            record.reply = "unknown_command"
            kb = self.engine.kb
            await self._send(context, message, self.text_of("unknown_command"), menu_keyboard(Menu(), kb, self.s.codec, kb.messages))

    # --- messages -----------------------------------------------------------------------

    async def text(self, update: Update, context: Context) -> None:
        """Answer a question; an edited question is answered again as a new reply (e.g. a typo fixed after a fallback)."""
        message = update.effective_message
        if message is None or (message.text is None and message.caption is None):
            return
        question = addressed_text(message, context.bot.id, context.bot.username)
        if question is None:
            return  # a group message not meant for the bot
        kind = "edited" if update.edited_message is not None else "text"
        with self.s.log.update(update, kind) as record:
            record.text = question
            if not await self.admit(update, context, record):
                return
            await self._answer_question(update, context, message, question, record)

    async def non_text(self, update: Update, context: Context) -> None:
        """Reply to a sticker, photo, voice message or document with a short note that only text is read."""
        message = update.effective_message
        if message is None:
            return
        if not is_private(message) and not replies_to_bot(message, context.bot.id):
            return
        with self.s.log.update(update, "non_text") as record:
            if not await self.admit(update, context, record):
                return
            record.reply = "non_text"
            await self._send(context, message, self.text_of("non_text"))

    # --- buttons ------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        """Handle a tapped inline button: answer a topic, record 👍/👎, or page through the topic menu."""
        query = update.callback_query
        if query is None:
            return
        with self.s.log.update(update, "button") as record:
            if not await self.admit(update, context, record):
                return
            kb = self.engine.kb
            try:
                callback = self.s.codec.decode(query.data, kb)
            except ExpiredButton as exc:
                record.reply, record.note = "expired", exc.reason
                await self._ack(query, plain(kb.messages["button_expired"]))
                return
            if isinstance(callback, Answer):
                await self._button_answer(update, context, query, callback, record)
            elif isinstance(callback, Feedback):
                await self._button_feedback(query, callback, record)
            elif isinstance(callback, NoneOfThese):
                await self._button_none(update, context, query, record)
            else:
                await self._button_menu(context, query, callback, record)

    async def _button_answer(self, update: Update, context: Context, query: CallbackQuery, callback: Answer, record: UpdateRecord) -> None:
        message = query.message
        kb = self.engine.kb
        started = time.perf_counter()
        conversation = self.conversations.id(message.chat.id, query.from_user.id) if message is not None else None
        reply = None if conversation is None else self.s.dialogue.answer_intent(callback.intent, conversation)
        if message is None or reply is None:
            record.reply = "expired"
            await self._ack(query, plain(kb.messages["button_expired"]))
            return
        await self._ack(query)
        record.intent, record.score, record.reply = reply.intent, reply.score, reply.kind
        thread_id = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
        sent = await self._send_reply(context, message.chat.id, reply, None, thread_id)
        await self._record_question(update, message.chat.type, kb.title(callback.intent), reply, started, sent)

    async def _button_feedback(self, query: CallbackQuery, callback: Feedback, record: UpdateRecord) -> None:
        message = query.message
        kb = self.engine.kb
        record.intent, record.reply = callback.intent, "feedback"
        record.note = "helpful" if callback.helpful else "unhelpful"
        if message is None:
            await self._ack(query, plain(kb.messages["button_expired"]))
            return
        if self.s.recorder is not None:
            for intent in callback.intents:  # every answer of the message the vote is about
                event = FeedbackEvent(time.time(), query.from_user.id, answer_id(message), intent, callback.helpful)
                try:
                    await self.s.recorder.feedback(event)
                except Exception:
                    _LOG.exception("recorder failed to record feedback")
        await self._ack(query, plain(kb.messages["feedback_thanks"]))
        if isinstance(message, Message):
            markup = without_feedback(message.reply_markup)
            try:
                await retrying(lambda: query.edit_message_reply_markup(reply_markup=markup), "editMessageReplyMarkup", attempts=3)
            except BadRequest as exc:  # e.g. already removed by a tap from someone else
                _LOG.info("could not remove the feedback buttons: %s", exc)

    async def _button_none(self, update: Update, context: Context, query: CallbackQuery, record: UpdateRecord) -> None:
        """ "None of these" under a "did you mean": recorded as a 👎 on no topic, then the whole topic menu."""
        kb = self.engine.kb
        record.reply = "none_of_these"
        await self._ack(query)
        message = query.message
        if message is None:
            return
        if self.s.recorder is not None:
            try:
                await self.s.recorder.feedback(FeedbackEvent(time.time(), query.from_user.id, answer_id(message), None, False))
            except Exception:
                _LOG.exception("recorder failed to record feedback")
        markup = menu_keyboard(Menu(), kb, self.s.codec, kb.messages)
        thread_id = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
        await send_chunks(context.bot, message.chat.id, render(kb.messages["none_of_these"]), markup, None, thread_id)

    async def _button_menu(self, context: Context, query: CallbackQuery, menu: Menu, record: UpdateRecord) -> None:
        kb = self.engine.kb
        record.reply = "menu"
        await self._ack(query)
        markup = menu_keyboard(menu, kb, self.s.codec, kb.messages)
        message = query.message
        if message is None:
            return
        if isinstance(message, Message) and message.is_accessible:  # PTB gives a Message (date 0) for an inaccessible one too
            try:
                await retrying(lambda: query.edit_message_reply_markup(reply_markup=markup), "editMessageReplyMarkup", attempts=3)
                return
            except BadRequest as exc:
                if "not modified" in str(exc).casefold():  # a double tap: the menu is already there
                    return
                _LOG.info("could not update the topic menu (%s): sending it anew", exc)
        # Too old to edit, or Telegram refused: send a fresh menu.
        await send_chunks(context.bot, message.chat.id, render(kb.messages["topics_header"]), markup)

    # --- inline mode --------------------------------------------------------------------

    async def inline_query(self, update: Update, context: Context) -> None:
        """List answers matching an inline query (popular topics when it is empty)."""
        query = update.inline_query
        if query is None:
            return
        with self.s.log.update(update, "inline") as record:
            record.text = query.query
            engine = self.engine
            messages = engine.kb.messages
            articles = inline.results(engine, query.query, context.bot.username, plain(messages["inline_button"]))
            record.reply, record.note = "inline", f"results:{len(articles)}"
            if articles:
                first = articles[0].id.split(".")[0]
                record.intent = first if first in engine.kb.intents else None
            button = InlineQueryResultsButton(plain(messages["inline_button"]), start_parameter="inline")
            await retrying(
                lambda: query.answer(articles, cache_time=INLINE_CACHE_SECONDS, is_personal=False, button=button),
                "answerInlineQuery",
                attempts=2,
            )

    # --- errors -------------------------------------------------------------------------

    async def error(self, update: object, context: Context) -> None:
        """Log an error with its context and apologise to the user if possible; never re-raise."""
        error = context.error
        if not isinstance(update, Update):
            if isinstance(error, NetworkError | RetryAfter):
                _LOG.warning("Telegram unreachable or busy (will retry): %s: %s", type(error).__name__, error)
            else:
                _LOG.error("error outside an update", exc_info=error)
            return
        chat = update.effective_chat
        user = update.effective_user
        _LOG.error(
            "update=%s chat=%s user=%s failed: %s",
            update.update_id,
            chat.type if chat else "-",
            self.s.log.user(user.id if user else None),
            type(error).__name__,
            exc_info=error,
        )
        if isinstance(error, Forbidden):
            return  # the user blocked the bot or it left the chat: nobody to apologise to
        try:
            text = self.engine.kb.messages["error"]
            if update.callback_query is not None:
                await update.callback_query.answer(plain(text)[:200])
            elif update.effective_message is not None and chat is not None:
                message = update.effective_message
                thread_id = message.message_thread_id if message.is_topic_message else None
                reply_to = None if chat.type == ChatType.PRIVATE else message.message_id
                try:
                    await send_chunks(context.bot, chat.id, render(text), reply_to=reply_to, thread_id=thread_id)
                except BadRequest:
                    if thread_id is None:
                        raise
                    # The topic may be what failed (closed or deleted): apologise in the chat itself.
                    await send_chunks(context.bot, chat.id, render(text), reply_to=None, thread_id=None)
        except Exception as exc:
            _LOG.warning("could not send the apology: %s: %s", type(exc).__name__, exc)
