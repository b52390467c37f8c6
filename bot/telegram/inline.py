"""Inline mode: `@bot salary` in any chat lists matching answers, ready to send as articles."""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent

from bot.engine.core import Engine
from bot.engine.dialogue import Context, answer_intent, offered_topics
from bot.engine.render import plain
from bot.telegram.rendering import render

MAX_RESULTS = 10
DESCRIPTION_CHARS = 120


def popular(engine: Engine, limit: int = MAX_RESULTS) -> list[str]:
    """Topics to show for an empty query: one per theme, the first of each menu group."""
    firsts = (next((i for i in group.intents if i in engine.kb.intents), None) for group in engine.kb.topics)
    return [intent for intent in firsts if intent is not None][:limit]


def results(engine: Engine, query: str, bot_username: str | None, button_text: str) -> list[InlineQueryResultArticle]:
    """The articles for an inline query: the topics the decision policy offers, or popular topics when the query is empty."""
    query = " ".join(query.split())
    if query:
        intents, entities = offered_topics(query, engine, MAX_RESULTS)
    else:
        intents, entities = popular(engine), {}
    articles: list[InlineQueryResultArticle] = []
    for intent_id in intents:
        intent = engine.kb.intents[intent_id]
        value = entities.get(intent.entity) if intent.entity else None
        reply = answer_intent(intent_id, Context(), engine, value)
        if reply is None:
            continue
        chunks = render(reply.text)
        if not chunks:
            continue
        title = intent.title
        if value and intent.entity and value in reply.entities.values():
            title = f"{title}: {engine.kb.entities[intent.entity][value].label}"
        markup = None
        if bot_username:
            link = f"https://t.me/{bot_username}?start={intent_id}"
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(button_text, url=link)]]) if len(intent_id) <= 64 else None
        articles.append(
            InlineQueryResultArticle(
                id=_result_id(intent_id, value),
                title=title,
                description=_describe(plain(reply.text)),
                input_message_content=InputTextMessageContent(chunks[0].text, entities=chunks[0].entities or None),
                reply_markup=markup,
            )
        )
    return articles


def _describe(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= DESCRIPTION_CHARS else line[: DESCRIPTION_CHARS - 1].rstrip() + "…"


def _result_id(intent_id: str, value: str | None) -> str:
    raw = f"{intent_id}.{value}" if value else intent_id
    return raw if len(raw.encode()) <= 64 else hashlib.sha256(raw.encode()).hexdigest()[:32]
