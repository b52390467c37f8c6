"""Typed values shared by the engine and its callers (no Telegram types here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

IntentKind = Literal["answer", "smalltalk"]
ReplyKind = Literal["answer", "smalltalk", "fallback"]


@dataclass(frozen=True)
class Intent:
    """One topic the bot can answer, loaded from `intents/<id>.yaml` and `content/<id>.md`."""

    id: str
    title: str
    kind: IntentKind
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    follow_ups: tuple[str, ...]
    entity: str | None
    answer: str
    variants: Mapping[str, str]
    """Entity value -> Markdown answer, from `content/<id>.<value>.md`."""
    source: Path
    about: Mapping[str, str] = field(default_factory=dict)
    """Entity values the answer is about (first_language: language python), for follow-ups such as "frameworks for it?"."""


@dataclass(frozen=True)
class EntityValue:
    """A canonical entity value (e.g. language `python`) and the words that name it."""

    type: str
    value: str
    label: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    """An intent offered to the user, e.g. as a button: its id and its title."""

    intent: str
    title: str


@dataclass(frozen=True)
class Candidate:
    """An intent and its confidence for one question."""

    intent: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one question.

    `score` is the confidence of the best in-scope intent, in 0..1 (see `bot.engine.matcher`).
    `intent` is None when nothing in scope scored at all. `out_of_scope` is the
    score of the closest negative example.
    """

    intent: str | None
    score: float
    runners_up: tuple[Candidate, ...]
    entities: Mapping[str, str]
    out_of_scope: float
    anchored: bool = False
    """True when the question names the domain ("backend"), so it is surely in scope."""


@dataclass(frozen=True)
class Reply:
    """What the bot says back: Markdown text plus what the edges need to render it."""

    text: str
    kind: ReplyKind
    intent: str | None
    score: float
    suggestions: tuple[Suggestion, ...] = ()
    follow_ups: tuple[Suggestion, ...] = ()
    entities: Mapping[str, str] = field(default_factory=dict)
