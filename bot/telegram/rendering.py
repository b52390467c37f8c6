"""Markdown -> Telegram text + entities, split into messages that fit Telegram's limit.

Conversion is done by telegramify-markdown (no hand-written escaping). Splitting
prefers paragraph, then line, then sentence, then word boundaries that lie outside
every entity; only when a single entity is longer than a whole message is it cut,
and then it is continued (same type) in the next chunk, never dropped or truncated.

Plain text (pop-ups, buttons, inline descriptions) is `bot.engine.render.plain`, the
same renderer the console uses.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import telegramify_markdown
from telegram import MessageEntity
from telegram.constants import MessageLimit

from bot.engine.render import CONFIG
from bot.engine.text import fill as fill_text

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…:;])\s+"), re.compile(r"\s+"))


@dataclass(frozen=True)
class Chunk:
    """One Telegram message: text and its entities (offsets in UTF-16 code units)."""

    text: str
    entities: tuple[MessageEntity, ...] = ()


@dataclass(frozen=True)
class _Span:
    type: str
    start: int
    """UTF-16 offset."""
    end: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


def utf16_len(text: str) -> int:
    """Length of `text` as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def escape(value: str) -> str:
    """`value` with Markdown punctuation backslash-escaped, so it shows literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace the `{name}` placeholders of a Markdown template with escaped values; leave unknown ones."""
    return fill_text(template, {name: escape(value) for name, value in values.items()})


CACHE_SIZE = 1024
"""Markdown texts whose conversion is kept: answers are a few hundred fixed texts (plus filled templates)."""


@functools.lru_cache(maxsize=CACHE_SIZE)
def convert(markdown: str) -> tuple[str, tuple[_Span, ...]]:
    """Markdown -> (text, entity spans), cached per Markdown string; the value is immutable (a str and frozen spans)."""
    text, entities = telegramify_markdown.convert(markdown, config=CONFIG)
    spans = tuple(
        _Span(e.type, e.offset, e.offset + e.length, e.url, e.language, e.custom_emoji_id)
        for e in entities
        if e.length > 0 and e.user is None
    )
    return str(text), spans


def render(markdown: str, limit: int = MAX_TEXT) -> list[Chunk]:
    """Convert Markdown to one or more chunks of at most `limit` UTF-16 units each."""
    text, spans = convert(markdown)
    return split(text.rstrip(), spans, limit)


def split(text: str, spans: Sequence[_Span], limit: int = MAX_TEXT) -> list[Chunk]:
    """Split `text` into chunks of at most `limit` UTF-16 units, carrying the entities along."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    offsets = _utf16_offsets(text)
    cuts: list[int] = []
    start = 0
    while offsets[len(text)] - offsets[start] > limit:
        end = _cut(text, offsets, start, limit, spans)
        cuts.append(end)
        start = end
    chunks: list[Chunk] = []
    bounds = [0, *cuts, len(text)]
    for begin, end in itertools.pairwise(bounds):
        piece = text[begin:end]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if not piece:
            continue
        u_begin = offsets[begin + lead]
        u_end = u_begin + utf16_len(piece)
        chunks.append(Chunk(piece, tuple(_clip(spans, u_begin, u_end))))
    return chunks


def _utf16_offsets(text: str) -> list[int]:
    offsets = [0]
    for ch in text:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return offsets


def _cut(text: str, offsets: list[int], start: int, limit: int, spans: Sequence[_Span]) -> int:
    """Where to end the chunk that begins at `start` (a Python index, > start)."""
    budget = offsets[start] + limit
    end = start
    while end < len(text) and offsets[end + 1] <= budget:
        end += 1
    window = text[start:end]
    minimum = start + max(1, (end - start) // 3)
    for pattern in _BOUNDARIES:
        best = None
        for match in pattern.finditer(window):
            position = start + match.end()
            if position <= minimum or position > end:
                continue
            if not _inside(offsets[start + match.start()], offsets[position], spans):
                best = position
        if best is not None:
            return best
    return max(end, start + 1)


def _inside(u_from: int, u_to: int, spans: Sequence[_Span]) -> bool:
    """Whether cutting anywhere in the UTF-16 range [u_from, u_to] would cut an entity."""
    return any(span.start < u_to and span.end > u_from for span in spans)


def _clip(spans: Sequence[_Span], u_begin: int, u_end: int) -> list[MessageEntity]:
    out: list[MessageEntity] = []
    for span in spans:
        start, end = max(span.start, u_begin), min(span.end, u_end)
        if end > start:
            out.append(
                MessageEntity(
                    span.type,
                    start - u_begin,
                    end - start,
                    url=span.url,
                    language=span.language,
                    custom_emoji_id=span.custom_emoji_id,
                )
            )
    return out
