"""Render answers' Markdown for the edges: plain text for the console, text + entities for Telegram."""

from __future__ import annotations

import telegramify_markdown


def plain(markdown: str) -> str:
    """The text as a user reads it, without Markdown marks."""
    text, _entities = telegramify_markdown.convert(markdown)
    return text.strip()
