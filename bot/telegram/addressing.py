"""Which messages are meant for the bot: all of a private chat; in groups, mentions and replies only.

With privacy mode on Telegram already filters group messages, but with it off (or as
a group admin) the bot sees everything, so a busy group must not get a reply to each.
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether `message` is a reply to one of the bot's own messages (not just a message in a forum topic the bot opened)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return False
    return replied.forum_topic_created is None


def addressed_text(message: Message, bot_id: int, username: str | None) -> str | None:
    """The question in `message` (its text, or the caption of a photo or document) if it is meant for the bot, with the
    bot's @mention removed; else None."""
    captioned = message.text is None
    text = message.caption if captioned else message.text
    if text is None:
        return None
    if message.via_bot is not None and message.via_bot.id == bot_id:
        return None  # one of our own inline answers, posted by a user
    if is_private(message):  # everything is for the bot; a mention of it is not part of the question (line breaks are)
        return re.sub(rf"[ \t]*@{re.escape(username)}\b[ \t]*", " ", text, flags=re.IGNORECASE).strip() if username else text
    mentioned = False
    unreadable = False
    try:
        types: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        mentions = message.parse_caption_entities(types) if captioned else message.parse_entities(types)
    except UnicodeError:  # text that is not valid UTF-16 (a lone surrogate): offsets cannot be read; the @username still can
        mentions, unreadable = {}, True
    for entity, value in mentions.items():
        if entity.type == MessageEntity.MENTION and username and value.casefold() == f"@{username}".casefold():
            mentioned = True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id:
            mentioned = True
            if value:  # an entity outside the text has no value: replacing "" would space out every character
                text = text.replace(value, " ")
    if username:
        mentioned = mentioned or (unreadable and re.search(rf"@{re.escape(username)}\b", text, flags=re.IGNORECASE) is not None)
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    if mentioned or replies_to_bot(message, bot_id):
        return " ".join(text.split())
    return None
