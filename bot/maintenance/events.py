"""What the bot records about its conversations, what it reads back, and the interface of whoever records it.

No Telegram types: the Telegram layer fills the events in, `bot.maintenance.storage` writes
them and reads them back (`StoredQuestion`, `FeedbackCount`, `Stats`).

Users are known by `hash_user` only: the conversation log stores it and the update log
lines (`bot.telegram.logs`) print it, so a log line can be joined to its rows.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from bot.engine.models import OUT_OF_SCOPE, Match, Reply

ChatType = Literal["private", "group", "supergroup", "channel", "inline", "console"]


def hash_user(user_id: int, salt: str) -> str:
    """The identity of a user in the conversation log and the update logs: HMAC-SHA256 of the id keyed with the salt (hex)."""
    return hmac.new(salt.encode("utf-8"), str(user_id).encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Scored:
    """One candidate of a logged question: an intent (or `OUT_OF_SCOPE`) and its combined score."""

    intent: str
    score: float


def scored_candidates(match: Match | None, limit: int = 3) -> tuple[Scored, ...]:
    """The `limit` best candidates of a match, then its out-of-scope score (empty without a match)."""
    if match is None:
        return ()
    best = tuple(Scored(c.intent, round(c.score, 4)) for c in match.candidates[:limit])
    return (*best, Scored(OUT_OF_SCOPE, round(match.out_of_scope, 4)))


def question_event(
    reply: Reply,
    *,
    at: float,
    user_id: int,
    chat_type: ChatType,
    text: str,
    normalised: str,
    latency_ms: float = 0.0,
    answer_id: str | None = None,
) -> QuestionEvent:
    """The record of one reply, the same for every edge (Telegram, `faqbot chat --log`, `faqbot ask --log`)."""
    return QuestionEvent(
        at=at,
        user_id=user_id,
        chat_type=chat_type,
        text=text,
        normalised=normalised,
        intent=reply.intent,
        score=max(0.0, min(1.0, reply.score)),
        fallback=reply.kind == "fallback",
        suggestions=tuple(s.intent for s in reply.suggestions),
        latency_ms=latency_ms,
        answer_id=answer_id,
        reason=reply.reason.value,
        candidates=scored_candidates(reply.match),
    )


@dataclass(frozen=True)
class QuestionEvent:
    """One handled question. `user_id` is the raw id: the recorder hashes it and never stores it."""

    at: float
    """Unix time."""
    user_id: int
    chat_type: ChatType
    text: str
    normalised: str
    intent: str | None
    score: float
    fallback: bool
    suggestions: tuple[str, ...] = field(default=())
    latency_ms: float = 0.0
    answer_id: str | None = None
    """Identifies the answer for later feedback (e.g. "<chat>:<message>")."""
    reason: str | None = None
    """Why the bot replied so (`bot.engine.models.Reason` value); None for records written before it was kept."""
    candidates: tuple[Scored, ...] = field(default=())
    """The matcher's best intents with their combined scores, best first, then the closest negative example
    (intent `OUT_OF_SCOPE`), so a report knows how close the question came to each topic and to "off topic"."""


@dataclass(frozen=True)
class FeedbackEvent:
    """A 👍 (helpful=True) or 👎 on an answer."""

    at: float
    user_id: int
    answer_id: str
    intent: str | None
    helpful: bool


@dataclass(frozen=True)
class StoredQuestion:
    """A question as recorded: the user is a hash; `text`/`normalised` are None once purged."""

    at: float
    user_hash: str
    chat_type: str
    text: str | None
    normalised: str | None
    intent: str | None
    score: float
    fallback: bool
    suggestions: tuple[str, ...]
    latency_ms: float
    answer_id: str | None
    reason: str | None = None
    """The decision's reason (None in records from before it was kept)."""
    candidates: tuple[Scored, ...] = ()
    """The matcher's best intents and the out-of-scope score (see `QuestionEvent.candidates`)."""

    @property
    def nearest(self) -> Scored | None:
        """The best in-scope candidate the matcher found, if any was logged."""
        return next((c for c in self.candidates if c.intent != OUT_OF_SCOPE), None)

    @property
    def out_of_scope(self) -> float | None:
        """The score of the closest negative example, if logged."""
        return next((c.score for c in self.candidates if c.intent == OUT_OF_SCOPE), None)


@dataclass(frozen=True)
class FeedbackCount:
    """👍 and 👎 received by one intent (None: answers not tied to an intent)."""

    intent: str | None
    helpful: int
    unhelpful: int


@dataclass(frozen=True)
class IntentCount:
    intent: str
    count: int


@dataclass(frozen=True)
class Stats:
    """The numbers behind /stats."""

    questions_today: int
    questions_week: int
    fallbacks_week: int
    top_intents: tuple[IntentCount, ...]
    """Most asked intents of the last 7 days, most asked first."""

    @property
    def fallback_rate(self) -> float:
        """Share of the last 7 days' questions that got a fallback (0 when there were none)."""
        return self.fallbacks_week / self.questions_week if self.questions_week else 0.0


class Recorder(Protocol):
    """The conversation log as its users see it: opened at start-up, closed at shutdown, written by
    the handlers without slowing replies (implementations queue writes), read by /stats, /report
    and `faqbot report`.
    """

    async def open(self) -> object:
        """Get ready to record (e.g. connect and start a background writer); the result is not used."""
        ...

    async def close(self) -> None:
        """Write what is still queued and release what `open` took."""
        ...

    async def question(self, event: QuestionEvent) -> None: ...

    async def feedback(self, event: FeedbackEvent) -> None: ...

    async def forget(self, user_id: int) -> int:
        """Delete every row of this user; return how many were deleted."""
        ...

    async def questions(self, since: float, until: float | None = None) -> list[StoredQuestion]:
        """The questions asked in [since, until), oldest first."""
        ...

    async def feedback_counts(self, since: float, until: float | None = None) -> list[FeedbackCount]:
        """👍/👎 per intent in [since, until), most feedback first."""
        ...

    async def stats(self, now: float | None = None, top: int = 5) -> Stats:
        """Questions today and in the last 7 days, fallbacks, and the `top` most asked intents."""
        ...


@runtime_checkable
class UpdateLedger(Protocol):
    """Where the Telegram layer remembers, durably, which updates it has handled (the SQLite store implements it)."""

    async def mark_handled(self, update_id: int) -> None:
        """Record `update_id` as handled; return once it is durable (with what the update recorded before), or
        without waiting while the ledger cannot be written (never holding up the updates that follow)."""
        ...

    async def handled_among(self, update_ids: Sequence[int]) -> set[int]:
        """Those of `update_ids` already recorded as handled."""
        ...
