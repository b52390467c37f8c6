"""The one decision policy: from a match and what the conversation knows to a decision with its reason.

The dialogue, inline mode, `faqbot eval`, the conversation log and the Telegram layer all
act on `Decision.reason`; nothing downstream compares texts to find out why.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase
from bot.engine.models import Candidate, Match, Reason


@dataclass(frozen=True)
class Decision:
    """What to do with one question: the reason, and the intent(s) it concerns."""

    reason: Reason
    intent: str | None = None
    """The intent to answer (ANSWERED, SMALLTALK, CONTINUED, TOPIC_NOT_COVERED, VALUE_NOT_COVERED)."""
    options: tuple[str, ...] = ()
    """Intents to offer as buttons (CLARIFY, UNSURE)."""

    @property
    def answers(self) -> bool:
        """True when the reply answers the question from the knowledge base (or continues the topic)."""
        return self.reason in (Reason.ANSWERED, Reason.FOLLOW_UP, Reason.CONTINUED)


def decide(match: Match, kb: KnowledgeBase, tuning: Tuning, in_conversation: bool) -> Decision:
    """Decide on one matched question. `in_conversation`: the chat has a recent topic to continue."""
    best = match.candidates[0] if match.candidates else None
    if best is None or match.out_of_scope >= best.score - tuning.off_topic_margin:
        return Decision(Reason.OFF_TOPIC)
    kind = kb.intents[best.intent].kind
    if best.score >= tuning.suggest and _names_a_value_it_lacks(match, kb, best.intent):
        # "golang frameworks": the topic is plain, the value is what the sources lack. Saying so, with the values
        # they do cover, helps more than "did you mean", even when the unknown value drags the score down.
        return Decision(Reason.VALUE_NOT_COVERED, best.intent)
    if kind == "smalltalk" and best.score >= tuning.smalltalk_threshold:
        return Decision(Reason.SMALLTALK, best.intent)
    if best.score < tuning.threshold or kind == "smalltalk":
        options = _options(match.candidates, kb, tuning.suggest)
        return Decision(Reason.UNSURE, options=options) if options else Decision(Reason.OFF_TOPIC)
    if kind == "continue":
        return Decision(Reason.CONTINUED, best.intent) if in_conversation else Decision(Reason.UNSURE, options=_popular(kb))
    if kind == "uncovered":
        return Decision(Reason.TOPIC_NOT_COVERED, best.intent)
    close = [c.intent for c in match.runners_up if c.score >= best.score - tuning.margin and kb.intents[c.intent].kind == "answer"]
    if close and best.score < tuning.sure:
        return Decision(Reason.CLARIFY, best.intent, (best.intent, *close)[:3])
    return Decision(Reason.ANSWERED, best.intent)


def _names_a_value_it_lacks(match: Match, kb: KnowledgeBase, intent_id: str) -> bool:
    """True when the intent has variant answers by an entity and the question names a value it has none for."""
    intent = kb.intents[intent_id]
    value = match.entities.get(intent.entity) if intent.entity else None
    return value is not None and bool(intent.variants) and value not in intent.variants


def _options(candidates: tuple[Candidate, ...], kb: KnowledgeBase, suggest: float) -> tuple[str, ...]:
    """Topics close enough to offer as "did you mean" buttons (answer topics only), at most three."""
    return tuple(c.intent for c in candidates if c.score >= suggest and kb.intents[c.intent].kind == "answer")[:3]


def _popular(kb: KnowledgeBase) -> tuple[str, ...]:
    """The first topic of each of the first three menu groups."""
    return tuple(group.intents[0] for group in kb.topics[:3] if group.intents)
