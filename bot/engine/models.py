"""Typed values shared by the engine and its callers (no Telegram types here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

IntentKind = Literal["answer", "smalltalk", "uncovered", "continue"]
"""answer: a topic of the article; smalltalk: greetings, thanks, help; uncovered: a question about the job that
the article does not answer (the reply says so and offers the closest topics); continue: "tell me more"."""
ReplyKind = Literal["answer", "smalltalk", "fallback"]
OUT_OF_SCOPE = "__out_of_scope__"
"""The pseudo-intent of the negative examples in both indexes."""


class Reason(StrEnum):
    """Why the bot replied as it did: set by the decision policy, read by every edge (no text comparisons)."""

    ANSWERED = "answered"
    """The best topic scored above the threshold."""
    FOLLOW_UP = "follow_up"
    """A short follow-up naming a new value ("and for Python?") of a recent topic."""
    CONTINUED = "continued"
    """ "tell me more", "go on": the next related topic of the conversation."""
    SMALLTALK = "smalltalk"
    """A greeting, thanks, help request or the like, on its own."""
    CLARIFY = "clarify"
    """Two topics are about as likely: "which one do you mean?"."""
    UNSURE = "unsure"
    """Nothing above the threshold, but some topics are close: "did you mean...?"."""
    VALUE_NOT_COVERED = "value_not_covered"
    """The topic is known but not for the value named (frameworks for Go)."""
    TOPIC_NOT_COVERED = "topic_not_covered"
    """A question about the job that the article does not answer: say so, offer the closest topics."""
    OFF_TOPIC = "off_topic"
    """Not about the backend developer job."""
    TASK_REQUEST = "task_request"
    """Asks the bot to do something ("write me a cover letter"), not a question."""
    EMPTY = "empty"
    """No words at all."""
    TOO_LONG = "too_long"
    """Longer than the bot reads, and nothing in it could be answered."""
    OTHER_LANGUAGE = "other_language"
    """Written in French or Spanish: say, in that language, that the bot answers in English (`bot.engine.language`)."""


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
class Parts:
    """The parts of a combined score, for `faqbot ask --explain`."""

    lexical: float = 0.0
    semantic: float = 0.0
    """The cosine of the closest example (before rescaling)."""
    bonus: float = 0.0
    """Entity bonus and conversation context."""


@dataclass(frozen=True)
class Candidate:
    """An intent and its confidence for one question."""

    intent: str
    score: float
    parts: Parts = Parts()


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one question: the intents' combined scores, best first (see `bot.engine.matcher`)."""

    candidates: tuple[Candidate, ...]
    """The best intents, best first; empty when nothing in scope scored at all."""
    entities: Mapping[str, str]
    """Entity type -> canonical value named in the question."""
    out_of_scope: float
    """The combined score of the closest negative example."""
    out_of_scope_parts: Parts = Parts()
    anchored: bool = False
    """True when the question names the domain ("backend")."""
    lacking: Mapping[str, str] = field(default_factory=dict)
    """Entity type -> a value the sources do not cover, named without any value of that type they do cover."""
    other_subject: bool = False
    """The question names another profession and not the domain: every score was cut (`Tuning.other_subject_share`)."""
    about_answerer: bool = False
    """The question asks the person answering about their own life: every answer topic's score was cut (same share)."""

    @property
    def intent(self) -> str | None:
        return self.candidates[0].intent if self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def runners_up(self) -> tuple[Candidate, ...]:
        return self.candidates[1:]


@dataclass(frozen=True)
class PartTrace:
    """How one part of a message of several was read, for `faqbot ask --explain`."""

    text: str
    """The words it was read as (the whole message: `whole` is True)."""
    asks: bool
    """It asks something; when the message asks, the parts that do not are its context, not matched alone."""
    reason: Reason | None
    """The decision on it alone (None: context only, not matched alone)."""
    intent: str | None
    score: float
    used: bool
    """Its reply is (part of) the reply sent."""
    whole: bool = False


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
    reason: Reason = Reason.ANSWERED
    match: Match | None = None
    """The matcher's verdict behind the decision (None for replies that needed no matching)."""
    answered: tuple[str, ...] = ()
    """Every intent whose answer is in `text`, in order, when a message asked several questions (empty: just `intent`)."""
    parts: tuple[PartTrace, ...] = ()
    """For a message of several parts: each part and the whole message, with the decision on each (else empty)."""

    @property
    def answers(self) -> tuple[str, ...]:
        """The intents this reply answers: `answered`, else `intent` for an answer, else none."""
        if self.answered:
            return self.answered
        return (self.intent,) if self.kind == "answer" and self.intent is not None else ()
