"""Inline keyboards, and the signed, versioned callback data their buttons carry.

Callback data (at most 64 bytes) looks like `1:a:salary:Xy12Ab3c`: format version,
action, arguments, then an HMAC signature over the rest, so forged data is detected.
Buttons name intents by id (stale once the intent is gone); topic-menu buttons also
carry a generation of the topic groups, so a menu drawn before a knowledge-base
change is recognised as stale instead of opening the wrong group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.knowledge import KnowledgeBase
from bot.engine.models import Reason, Reply, Suggestion

VERSION = "1"
MAX_DATA_BYTES = 64
MAX_INTENT_REF = 32
GROUPS_PER_PAGE = 8
TOPICS_PER_PAGE = 6
_SEP = ":"


@dataclass(frozen=True)
class Answer:
    """Answer this intent as if asked."""

    intent: str


@dataclass(frozen=True)
class Feedback:
    """👍 (helpful) or 👎 on the answer about `intent` (and `also`, the other answers of the same message)."""

    intent: str
    helpful: bool
    also: tuple[str, ...] = ()

    @property
    def intents(self) -> tuple[str, ...]:
        return (self.intent, *self.also)


@dataclass(frozen=True)
class NoneOfThese:
    """ "None of these" under a "did you mean": show the whole topic menu."""


@dataclass(frozen=True)
class Menu:
    """The topic menu: the list of groups (group None) or one group's topics, at `page`."""

    group: int | None = None
    page: int = 0


Callback = Answer | Feedback | Menu | NoneOfThese
BUTTONS_PER_ROW = 2


class ExpiredButton(Exception):
    """Callback data that cannot be honoured; `reason` is 'malformed', 'forged' or 'stale' (for logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallbackCodec:
    """Encodes callbacks into signed strings and back, against the knowledge base in service."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, callback: Callback, kb: KnowledgeBase) -> str:
        if isinstance(callback, Answer):
            fields = ["a", _intent_ref(callback.intent)]
        elif isinstance(callback, Feedback):
            fields = ["f", "+" if callback.helpful else "-", _intent_ref(callback.intent)]
            for other in callback.also:  # as many of the other answers as fit in Telegram's 64 bytes
                longer = [*fields[:2], f"{fields[2]},{_intent_ref(other)}"]
                if len(self._data(longer).encode()) > MAX_DATA_BYTES:
                    break
                fields = longer
        elif isinstance(callback, NoneOfThese):
            fields = ["n"]
        else:
            group = "-" if callback.group is None else str(callback.group)
            fields = ["m", generation(kb), group, str(callback.page)]
        data = self._data(fields)
        if len(data.encode()) > MAX_DATA_BYTES:  # pragma: no cover - intent refs are bounded
            raise ValueError(f"callback data too long: {data!r}")
        return data

    def decode(self, data: str | None, kb: KnowledgeBase) -> Callback:
        """The callback in `data`; raise ExpiredButton if it is malformed, forged or stale."""
        if not data or not data.isascii() or len(data) > MAX_DATA_BYTES:  # ours are ASCII: anything else is not one of them
            raise ExpiredButton("malformed")
        body, _, signature = data.rpartition(_SEP)
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise ExpiredButton("forged")
        version, action, *args = body.split(_SEP)
        if version != VERSION:
            raise ExpiredButton("stale")
        if action == "a" and len(args) == 1:
            return Answer(_resolve(args[0], kb))
        if action == "f" and len(args) == 2 and args[0] in ("+", "-"):
            first, *others = (_resolve(ref, kb) for ref in args[1].split(","))
            return Feedback(first, args[0] == "+", tuple(others))
        if action == "n" and not args:
            return NoneOfThese()
        if action == "m" and len(args) == 3:
            if args[0] != generation(kb):
                raise ExpiredButton("stale")
            try:
                group = None if args[1] == "-" else int(args[1])
                page = int(args[2])
            except ValueError:
                raise ExpiredButton("malformed") from None
            if group is not None and not 0 <= group < len(kb.topics):
                raise ExpiredButton("stale")
            return Menu(group, max(page, 0))
        raise ExpiredButton("malformed")

    @staticmethod
    def is_feedback(data: str | None) -> bool:
        """Whether `data` is a 👍/👎 button's (without checking its signature)."""
        return bool(data) and (data or "").startswith(f"{VERSION}{_SEP}f{_SEP}")

    def _data(self, fields: Sequence[str]) -> str:
        body = _SEP.join([VERSION, *fields])
        return f"{body}{_SEP}{self._sign(body)}"

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:6]
        return base64.urlsafe_b64encode(digest).decode()


def generation(kb: KnowledgeBase) -> str:
    """A short fingerprint of the topic groups: it changes when the menu would change."""
    shape = "|".join(f"{g.title}={','.join(g.intents)}" for g in kb.topics)
    return hashlib.sha256(shape.encode()).hexdigest()[:6]


def _intent_ref(intent: str) -> str:
    return intent if len(intent) <= MAX_INTENT_REF else "#" + hashlib.sha256(intent.encode()).hexdigest()[:16]


def _resolve(ref: str, kb: KnowledgeBase) -> str:
    if ref in kb.intents:
        return ref
    if ref.startswith("#"):
        for intent in kb.intents:
            if _intent_ref(intent) == ref:
                return intent
    raise ExpiredButton("stale")


def _button(text: str, callback: Callback, codec: CallbackCodec, kb: KnowledgeBase) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=codec.encode(callback, kb))


def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup([list(r) for r in rows]) if rows else None


def reply_keyboard(
    reply: Reply, kb: KnowledgeBase, codec: CallbackCodec, messages: Mapping[str, str], feedback: bool = True
) -> InlineKeyboardMarkup | None:
    """Buttons under a reply: suggestions and follow-ups two per row; "none of these" under a "did you mean";
    👍/👎 on the last row when it answers, about every answer of the message."""
    buttons: list[InlineKeyboardButton] = []
    seen: set[str] = set()
    offered: tuple[Suggestion, ...] = (*reply.suggestions, *reply.follow_ups)
    for suggestion in offered:
        if suggestion.intent in seen or suggestion.intent not in kb.intents:
            continue
        seen.add(suggestion.intent)
        buttons.append(_button(suggestion.title, Answer(suggestion.intent), codec, kb))
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    if buttons and reply.reason in (Reason.UNSURE, Reason.CLARIFY):
        rows.append([_button(messages["button_none_of_these"], NoneOfThese(), codec, kb)])
    answered = [i for i in reply.answers if i in kb.intents]
    if feedback and answered:
        first, *others = answered
        rows.append(
            [
                _button(messages["button_helpful"], Feedback(first, True, tuple(others)), codec, kb),
                _button(messages["button_unhelpful"], Feedback(first, False, tuple(others)), codec, kb),
            ]
        )
    return _markup(rows)


def menu_keyboard(menu: Menu, kb: KnowledgeBase, codec: CallbackCodec, messages: Mapping[str, str]) -> InlineKeyboardMarkup | None:
    """The topic menu: one button per group, or one per topic of a group with paging and a way back."""
    if menu.group is None:
        items: list[tuple[str, Callback]] = [(g.title, Menu(index, 0)) for index, g in enumerate(kb.topics)]
        per_page = GROUPS_PER_PAGE
    else:
        group = kb.topics[menu.group]
        items = [(kb.title(i), Answer(i)) for i in group.intents if i in kb.intents]
        per_page = TOPICS_PER_PAGE
    pages = max(1, -(-len(items) // per_page))
    page = min(menu.page, pages - 1)
    rows: list[list[InlineKeyboardButton]] = [
        [_button(title, callback, codec, kb)] for title, callback in items[page * per_page : (page + 1) * per_page]
    ]
    paging: list[InlineKeyboardButton] = []
    if page > 0:
        paging.append(_button(messages["button_previous"], Menu(menu.group, page - 1), codec, kb))
    if page < pages - 1:
        paging.append(_button(messages["button_next"], Menu(menu.group, page + 1), codec, kb))
    if paging:
        rows.append(paging)
    if menu.group is not None:
        rows.append([_button(messages["button_back"], Menu(None, 0), codec, kb)])
    return _markup(rows)


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """`markup` without its 👍/👎 row (after a vote), or None if nothing else is left."""
    if markup is None:
        return None
    rows = [
        list(row)
        for row in markup.inline_keyboard
        if not any(CallbackCodec.is_feedback(b.callback_data if isinstance(b.callback_data, str) else None) for b in row)
    ]
    return _markup(rows)
