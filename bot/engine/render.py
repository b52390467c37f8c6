"""Render answers' Markdown for the edges: plain text for the console, text + entities for Telegram."""

from __future__ import annotations

import telegramify_markdown
from telegramify_markdown.config import RenderConfig


def _config() -> RenderConfig:
    """Our own conversion settings (never the library's global ones): list items start with "•"."""
    config = RenderConfig.isolated()
    config.markdown_symbol.unordered_list_item = BULLET
    return config


BULLET = "•"
CONFIG = _config()
"""The Markdown conversion settings of every edge (console and Telegram), so both show the same text."""


def plain(markdown: str) -> str:
    """The text as a user reads it, without Markdown marks."""
    text, _entities = telegramify_markdown.convert(markdown, config=CONFIG)
    return text.strip()
