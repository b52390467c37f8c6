"""What the bot records about its conversations, and the interface of whoever records it.

No Telegram types: the Telegram layer fills these in, `bot.maintenance.storage` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChatType = Literal["private", "group", "supergroup", "channel", "inline", "console"]


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


@dataclass(frozen=True)
class FeedbackEvent:
    """A 👍 (helpful=True) or 👎 on an answer."""

    at: float
    user_id: int
    answer_id: str
    intent: str | None
    helpful: bool


class Recorder(Protocol):
    """Records questions and feedback without slowing replies (implementations queue writes)."""

    async def question(self, event: QuestionEvent) -> None: ...

    async def feedback(self, event: FeedbackEvent) -> None: ...

    async def forget(self, user_id: int) -> int:
        """Delete every row of this user; return how many were deleted."""
        ...
