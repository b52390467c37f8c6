"""Fake Telegram updates as Bot API JSON (usable with Update.de_json, a fake server, or a webhook POST)."""

from __future__ import annotations

import itertools
import time
from typing import Any

JSON = dict[str, Any]

BOT_ID = 999_000
BOT_USERNAME = "faq_test_bot"
BOT_USER: JSON = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "FAQ",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
TOKEN = "123456789:AAH-test-token-0123456789abcdefghijklmnop"
GROUP_ID = -100_777


def user(user_id: int = 111, name: str = "Ada") -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "en"}


def private_chat(user_id: int = 111) -> JSON:
    return {"id": user_id, "type": "private", "first_name": "Ada"}


def group_chat(chat_id: int = GROUP_ID) -> JSON:
    return {"id": chat_id, "type": "supergroup", "title": "Backend learners"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Factory:
    """Builds updates with increasing update and message ids."""

    def __init__(self, start: int = 1) -> None:
        self._updates = itertools.count(start)
        self._messages = itertools.count(start * 10)

    def update_id(self) -> int:
        return next(self._updates)

    def raw_message(
        self,
        text: str | None = None,
        *,
        user_id: int = 111,
        chat: JSON | None = None,
        entities: list[JSON] | None = None,
        reply_to: JSON | None = None,
        **extra: Any,
    ) -> JSON:
        message: JSON = {
            "message_id": next(self._messages),
            "date": int(time.time()),
            "chat": chat or private_chat(user_id),
            "from": user(user_id),
        }
        if text is not None:
            message["text"] = text
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(extra)
        return message

    def message(self, text: str | None = None, **kwargs: Any) -> JSON:
        return {"update_id": self.update_id(), "message": self.raw_message(text, **kwargs)}

    def edited(self, text: str, **kwargs: Any) -> JSON:
        message = self.raw_message(text, **kwargs)
        message["edit_date"] = message["date"] + 5
        return {"update_id": self.update_id(), "edited_message": message}

    def command(self, name: str, args: str = "", *, to: str | None = None, **kwargs: Any) -> JSON:
        head = f"/{name}" + (f"@{to}" if to else "")
        text = head + (f" {args}" if args else "")
        return self.message(text, entities=[{"type": "bot_command", "offset": 0, "length": len(head)}], **kwargs)

    def mention(self, text_after: str, *, username: str = BOT_USERNAME, **kwargs: Any) -> JSON:
        tag = f"@{username}"
        text = f"{tag} {text_after}"
        return self.message(text, entities=[{"type": "mention", "offset": 0, "length": utf16_len(tag)}], chat=group_chat(), **kwargs)

    def bot_message(self, text: str = "An earlier answer", chat: JSON | None = None) -> JSON:
        """A message the bot sent (to reply to)."""
        return {"message_id": next(self._messages), "date": int(time.time()), "chat": chat or group_chat(), "from": BOT_USER, "text": text}

    def sticker(self, **kwargs: Any) -> JSON:
        sticker = {
            "file_id": "stk1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message(None, sticker=sticker, **kwargs)

    def photo(self, **kwargs: Any) -> JSON:
        return self.message(None, photo=[{"file_id": "ph1", "file_unique_id": "p1", "width": 90, "height": 90}], **kwargs)

    def voice(self, **kwargs: Any) -> JSON:
        return self.message(None, voice={"file_id": "vc1", "file_unique_id": "v1", "duration": 3}, **kwargs)

    def document(self, **kwargs: Any) -> JSON:
        return self.message(None, document={"file_id": "dc1", "file_unique_id": "d1", "file_name": "cv.pdf"}, **kwargs)

    def new_member(self) -> JSON:
        return self.message(None, chat=group_chat(), new_chat_members=[user(222, "Bob")])

    def callback(self, data: str, *, message: JSON | None = None, user_id: int = 111) -> JSON:
        return {
            "update_id": self.update_id(),
            "callback_query": {
                "id": f"cq{next(self._messages)}",
                "from": user(user_id),
                "chat_instance": "ci-1",
                "data": data,
                "message": message or self.bot_message(chat=private_chat(user_id)),
            },
        }

    def inline_query(self, query: str, *, user_id: int = 111) -> JSON:
        return {
            "update_id": self.update_id(),
            "inline_query": {"id": f"iq{next(self._messages)}", "from": user(user_id), "query": query, "offset": ""},
        }
