"""The one decision policy: from a match and what the conversation knows to a decision with its reason.

The dialogue, inline mode, `faqbot eval`, the conversation log and the Telegram layer all
act on `Decision.reason`; nothing downstream compares texts to find out why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase
from bot.engine.models import Candidate, Intent, Match, Reason


@dataclass(frozen=True)
class Decision:
    """What to do with one question: the reason, and the intent(s) it concerns."""

    reason: Reason
    intent: str | None = None
    """The intent to answer (ANSWERED, SMALLTALK, CONTINUED, TOPIC_NOT_COVERED, VALUE_NOT_COVERED)."""
    options: tuple[str, ...] = ()
    """Intents to offer as buttons (CLARIFY, UNSURE)."""
    lacking: tuple[str, str] | None = None
    """(entity type, value) named that the intent has nothing on (VALUE_NOT_COVERED)."""

    @property
    def answers(self) -> bool:
        """True when the reply answers the question from the knowledge base (or continues the topic)."""
        return self.reason in (Reason.ANSWERED, Reason.FOLLOW_UP, Reason.CONTINUED)


def decide(match: Match, kb: KnowledgeBase, tuning: Tuning, in_conversation: bool, asks: bool = False) -> Decision:
    """Decide on one matched question. `in_conversation`: the chat has a recent topic to continue; `asks`: the text
    asks something (`bot.engine.text.is_question`), so it is small talk only if it matches as well as an answer must
    ("what can you do?" does; "I have a question: will AI replace developers?" only looks like "what are you?")."""
    best = match.candidates[0] if match.candidates else None
    if best is None or match.out_of_scope >= best.score - tuning.off_topic_margin:
        return Decision(Reason.OFF_TOPIC)
    kind = kb.intents[best.intent].kind
    lacking = _value_it_lacks(match, kb, best.intent) if best.score >= tuning.suggest else None
    if lacking is not None:
        # "golang frameworks", "Rust vs Go, which first?": the topic is plain, the value is what the sources lack.
        # Saying so, with the values they do cover, helps more than "did you mean" or an answer that ignores the
        # value, even when the unknown value drags the score down.
        return Decision(Reason.VALUE_NOT_COVERED, best.intent, lacking=lacking)
    if kind == "smalltalk" and best.score >= (tuning.threshold if asks else tuning.smalltalk_threshold):
        return Decision(Reason.SMALLTALK, best.intent)
    if not asks and kind != "smalltalk":
        # A statement may be small talk below a topic when a small-talk intent reaches its own bar: when no topic
        # answers it ("Thank you so much, the roadmaps are really helpful"), or when its words say small talk more
        # than the topic's do and only its meaning leans to the topic ("thanks, the salary info was useful").
        social = next((c for c in match.candidates if kb.intents[c.intent].kind == "smalltalk"), None)
        if (
            social is not None
            and social.score >= tuning.smalltalk_threshold
            and (best.score < tuning.threshold or social.parts.lexical > best.parts.lexical)
        ):
            return Decision(Reason.SMALLTALK, social.intent)
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


def _value_it_lacks(match: Match, kb: KnowledgeBase, intent_id: str) -> tuple[str, str] | None:
    """The (entity type, value) the question names that the intent has nothing on: a value without a variant answer
    when the intent has variants by its entity, or a value the sources cover nowhere, named without any value of its
    type that they do cover ("Rust or Go?"), when the intent answers per value of that type or its answer is about
    one (`about`, as the first language's is about Python). Other topics answer as usual: the pay figures hold for a
    Go developer too. Named beside a covered value ("Java or Go?"), it is `value_beside` the answer instead."""
    intent = kb.intents[intent_id]
    missing = missing_variant(intent, match.entities)
    if missing is not None:
        return missing
    return next(((etype, value) for etype, value in _lacking_for(match, intent) if match.entities.get(etype) in kb.lexicon.uncovered), None)


def value_beside(match: Match, kb: KnowledgeBase, intent_id: str) -> tuple[str, str] | None:
    """The (entity type, value) the sources cover nowhere that the question names beside one they do cover ("Java or
    Go?", "can I learn both PostgreSQL and MySQL?"), on a topic that answers per value of that type or is about one:
    the answer is for what they cover, with a word that they say nothing of the other."""
    intent = kb.intents[intent_id]
    return next(
        ((etype, value) for etype, value in _lacking_for(match, intent) if match.entities.get(etype) not in kb.lexicon.uncovered), None
    )


def _lacking_for(match: Match, intent: Intent) -> list[tuple[str, str]]:
    """The uncovered values named, of the entity types `intent` answers per value or is about (answer topics only)."""
    if intent.kind != "answer":
        return []
    per_value = intent.entity if intent.variants else None
    return [(etype, value) for etype, value in match.lacking.items() if etype in intent.about or etype == per_value]


def missing_variant(intent: Intent, entities: Mapping[str, str]) -> tuple[str, str] | None:
    """(entity type, value) when the intent has variant answers by its entity and `entities` names a value it has none for."""
    value = entities.get(intent.entity) if intent.entity and intent.variants else None
    return (intent.entity, value) if intent.entity and value is not None and value not in intent.variants else None


OFFERED_KINDS = frozenset({"answer", "uncovered"})
"""Topics a "did you mean" button may lead to. A topic the sources do not cover is offered too: "how long will it
take?" is closest to how long learning takes, and the button's honest "my sources don't say, here is what they do
cover" helps more than a topic the question is not about."""


def _options(candidates: tuple[Candidate, ...], kb: KnowledgeBase, suggest: float) -> tuple[str, ...]:
    """Topics close enough to offer as "did you mean" buttons (no small talk), at most three."""
    return tuple(c.intent for c in candidates if c.score >= suggest and kb.intents[c.intent].kind in OFFERED_KINDS)[:3]


def _popular(kb: KnowledgeBase) -> tuple[str, ...]:
    """The first topic of each of the first three menu groups."""
    return tuple(group.intents[0] for group in kb.topics[:3] if group.intents)
