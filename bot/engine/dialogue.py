"""Dialogue: turn a user's message into a `Reply`, keeping per-conversation context.

Pure Python: the CLI, the tests and the Telegram layer all call `Dialogue.respond`.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.engine.analyzer import ENTITY_MARK, Analysis
from bot.engine.core import Engine
from bot.engine.models import Candidate, Match, Reply, Suggestion
from bot.engine.text import is_question, split_questions

MAX_INPUT_CHARS = 4000
MAX_SENTENCES = 6
MAX_COMBINED_CHARS = 1400
HISTORY = 4
_BACK_REFERENCE = re.compile(r"\b(?:it|its|that|this|them|those|these|they|their)\b", re.IGNORECASE)
WHOLE_MARGIN = 0.05
MAX_FOLLOW_UP_EXTRA = 3
_CONTINUATION = re.compile(r"^\W*(?:ok(?:ay)?\W+|so\W+)?(?:and|what about|how about|same for|also|for|but)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DialogueSettings:
    """Decision thresholds (see README, "How the bot decides")."""

    threshold: float = 0.5
    """Answer only when the best intent's score is at least this..."""
    anchored_threshold: float = 0.3
    """...or this, when the question names the domain ("backend")."""
    margin: float = 0.0
    """Ask "did you mean" when the runner-up is this close to the best..."""
    sure: float = 0.75
    """...unless the best score is at least this."""
    suggest: float = 0.3
    """Offer intents scoring at least this as suggestions in a fallback."""
    continuity: float = 0.08
    """Bonus for the topics the previous answer offered as follow-ups (a conversation stays on its subject)."""
    context_ttl: float = 600.0
    """Seconds after which a conversation's context is forgotten."""
    max_conversations: int = 10_000


@dataclass
class Context:
    """What a conversation was last about, for follow-ups such as "and for Python?"."""

    history: list[str] = field(default_factory=list)
    """Recent intents, oldest first (a follow-up may refer to any of them)."""
    entities: dict[str, str] = field(default_factory=dict)
    updated: float = 0.0

    def remember(self, intent: str, entities: dict[str, str], now: float) -> None:
        self.entities, self.updated = {**self.entities, **entities}, now
        self.history = [*(i for i in self.history if i != intent), intent][-HISTORY:]

    def expire(self, now: float, ttl: float) -> None:
        """Forget everything when the conversation has been quiet for longer than `ttl` seconds."""
        if self.history and now - self.updated > ttl:
            self.history, self.entities = [], {}


@dataclass(frozen=True)
class _Outcome:
    reply: Reply
    answered: bool


def respond(text: str, context: Context, engine: Engine, settings: DialogueSettings, now: float | None = None) -> Reply:
    """Answer `text` in `context` (updated in place). Never raises on any input text."""
    now = time.monotonic() if now is None else now
    context.expire(now, settings.context_ttl)
    messages = engine.kb.messages
    text = text or ""
    too_long = len(text) > MAX_INPUT_CHARS
    sentences = split_questions(text[:MAX_INPUT_CHARS])[:MAX_SENTENCES]
    joined = " ".join(sentences)
    whole_analysis = engine.matcher.analyzer.analyse(joined)
    if not whole_analysis.words:
        return Reply(messages["empty"], "fallback", None, 0.0, suggestions=_popular(engine))

    # Naming the domain anywhere in the message, or being in a live conversation about it,
    # puts every sentence of the message in scope ("...my cousin is a backend developer. Could you describe it?").
    in_domain = bool(engine.kb.lexicon.anchors.intersection(whole_analysis.content)) or bool(context.history)
    if len(sentences) == 1:
        asked = [(joined, _respond_one(joined, context, engine, settings, in_domain, whole_analysis))]
    else:
        asked = [(sentence, _respond_one(sentence, context, engine, settings, in_domain)) for sentence in sentences]
        whole = _respond_one(joined, context, engine, settings, in_domain, whole_analysis)
        # The whole message wins when no part could be answered, or when it is clearly closer
        # than any part ("My English is weak. Is that a problem?": the parts lose the subject).
        best_part = max((o.reply.score for _, o in asked if o.answered), default=None)
        if best_part is None or (whole.answered and whole.reply.score > best_part + WHOLE_MARGIN):
            asked = [(joined, whole)]
    outcomes = [o for _, o in asked]
    answered_outcomes = [o for _, o in asked if o.answered]
    if len(asked) > 1 and any(is_question(sentence) for sentence, o in asked if o.answered):
        # "I'm a student. What do backend devs earn?": answer the question, not the statement.
        answered_outcomes = [o for sentence, o in asked if o.answered and is_question(sentence)]
    answered = [o.reply for o in answered_outcomes]
    if not answered:
        best = max(outcomes, key=lambda o: o.reply.score).reply
        if too_long and best.kind == "fallback":
            return Reply(messages["too_long"], "fallback", None, best.score, suggestions=best.suggestions)
        return best
    real = [r for r in answered if r.kind == "answer"] or answered
    primary = real[0]
    extra: list[Reply] = []
    for reply in real[1:]:
        if reply.intent != primary.intent and reply.intent not in {e.intent for e in extra}:
            extra.append(reply)
    text_out = primary.text
    overflow: list[Suggestion] = []
    for reply in extra:
        if len(text_out) + len(reply.text) + 2 <= MAX_COMBINED_CHARS:
            text_out += "\n\n" + reply.text
        elif reply.intent is not None:
            overflow.append(Suggestion(reply.intent, engine.kb.title(reply.intent)))
    if overflow:
        text_out += "\n\n" + messages["also_asked"]
    last = extra[-1] if extra else primary
    if last.intent is not None:
        context.remember(last.intent, dict(last.entities), now)
    return Reply(text_out, primary.kind, primary.intent, primary.score, tuple(overflow), primary.follow_ups, primary.entities)


def answer_intent(intent_id: str, context: Context, engine: Engine, entity: str | None = None, now: float | None = None) -> Reply | None:
    """Answer an intent directly (a tapped button); None if it no longer exists."""
    intent = engine.kb.intents.get(intent_id)
    if intent is None:
        return None
    entities = {intent.entity: entity} if intent.entity and entity else {}
    reply = _answer(engine, intent_id, 1.0, entities)
    if reply.kind != "fallback":
        context.remember(intent_id, entities, time.monotonic() if now is None else now)
    return reply


def _is_task_request(analysis: Analysis, engine: Engine) -> bool:
    """True when the sentence opens with a task verb ("Write me a cover letter"), politeness aside."""
    kb = engine.kb
    for word in analysis.words:
        if word not in kb.politeness:
            return word in kb.task_verbs
    return False


def _respond_one(
    sentence: str, context: Context, engine: Engine, settings: DialogueSettings, in_domain: bool, analysis: Analysis | None = None
) -> _Outcome:
    """Answer one sentence; `in_domain` lowers the answer threshold (the message or conversation names the domain)."""
    analysis = analysis or engine.matcher.analyzer.analyse(sentence)
    if _is_task_request(analysis, engine):
        match = engine.matcher.match_analysis(analysis)
        return _Outcome(Reply(topics_text(engine), "fallback", None, match.score, _popular(engine)), False)
    follow_up = _follow_up(sentence, analysis.content, dict(analysis.entities), context, engine)
    if follow_up is not None:
        return _Outcome(_answer(engine, follow_up, 1.0, {**context.entities, **analysis.entities}), True)
    match = _with_continuity(engine.matcher.match_analysis(analysis), context, engine, settings)
    uncovered = _uncovered_value(engine, match)
    if uncovered is not None and match.score >= settings.suggest and match.out_of_scope < match.score:
        return _Outcome(_answer(engine, uncovered, match.score, match.entities), False)
    threshold = settings.anchored_threshold if in_domain else settings.threshold
    if match.intent is None or match.score < threshold or match.out_of_scope >= match.score:
        return _Outcome(_fallback(engine, match, settings), False)
    close = [c for c in match.runners_up if c.score >= match.score - settings.margin]
    if close and match.score < settings.sure:
        options = (match.intent, *(c.intent for c in close))[:3]
        suggestions = tuple(Suggestion(i, engine.kb.title(i)) for i in options)
        return _Outcome(Reply(engine.kb.messages["clarify"], "fallback", match.intent, match.score, suggestions), False)
    entities = dict(match.entities)
    slot = engine.kb.intents[match.intent].entity
    if slot and slot not in entities and slot in context.entities and _BACK_REFERENCE.search(sentence):
        # "which language first?" -> Python; "ok, what frameworks for it?" -> Python's frameworks.
        entities[slot] = context.entities[slot]
    reply = _answer(engine, match.intent, match.score, entities)
    return _Outcome(reply, reply.kind != "fallback")


def _follow_up(sentence: str, content: tuple[str, ...], entities: dict[str, str], context: Context, engine: Engine) -> str | None:
    """A recent intent taking this entity, if the sentence only names a new value ("and for Python?"),
    or opens like a continuation ("and someone with a few years' experience")."""
    if not context.history or not entities:
        return None
    values = set(entities.values())
    others = [word for word in content if not word.startswith(ENTITY_MARK) and word not in values]
    if others and (len(others) > MAX_FOLLOW_UP_EXTRA or not _CONTINUATION.match(sentence)):
        return None
    for intent_id in reversed(context.history):
        intent = engine.kb.intents.get(intent_id)
        if intent is not None and intent.entity in entities:
            return intent.id
    return None


def _with_continuity(match: Match, context: Context, engine: Engine, settings: DialogueSettings) -> Match:
    """Favour, by `settings.continuity`, the topics the previous answer offered as follow-ups."""
    if not context.history or not settings.continuity or match.intent is None:
        return match
    last = engine.kb.intents.get(context.history[-1])
    if last is None:
        return match
    related = set(last.follow_ups)
    ranked = sorted(
        (
            (c.intent, c.score + (settings.continuity if c.intent in related else 0.0))
            for c in (Candidate(match.intent, match.score), *match.runners_up)
        ),
        key=lambda item: item[1],
        reverse=True,
    )
    best, *rest = (Candidate(i, round(min(score, 1.0), 4)) for i, score in ranked)
    return replace(match, intent=best.intent, score=best.score, runners_up=tuple(rest))


def _uncovered_value(engine: Engine, match: Match) -> str | None:
    """The best intent, if it takes an entity and the question names a value it has no answer for."""
    intent = engine.kb.intents.get(match.intent) if match.intent else None
    if intent is None or intent.entity is None:
        return None
    value = match.entities.get(intent.entity)
    return intent.id if value is not None and value not in intent.variants else None


def _answer(engine: Engine, intent_id: str, score: float, entities: Mapping[str, str]) -> Reply:
    kb = engine.kb
    intent = kb.intents[intent_id]
    found = dict(entities)
    follow_ups = tuple(Suggestion(i, kb.title(i)) for i in intent.follow_ups if i in kb.intents)
    text = intent.answer
    used: dict[str, str] = {}
    if intent.entity and intent.entity in found:
        value = found[intent.entity]
        if value in intent.variants:
            text, used = intent.variants[value], {intent.entity: value}
        else:
            values = kb.entities[intent.entity]
            known = ", ".join(values[v].label for v in intent.variants)
            note = kb.messages["not_covered"].format(value=values[value].label, topic=intent.title, known=known)
            return Reply(note, "fallback", intent_id, score, (Suggestion(intent.id, intent.title),), (), {intent.entity: value})
    return Reply(text, intent.kind, intent_id, score, (), follow_ups, {**intent.about, **used})


def _fallback(engine: Engine, match: Match, settings: DialogueSettings) -> Reply:
    kb = engine.kb
    close = (
        []
        if match.out_of_scope >= match.score
        else [
            c
            for c in ((match.intent, match.score), *((r.intent, r.score) for r in match.runners_up))
            if c[0] is not None and c[1] >= settings.suggest and kb.intents[c[0]].kind == "answer"
        ]
    )
    if close:
        suggestions = tuple(Suggestion(i, kb.title(i)) for i, _ in close[:3] if i is not None)
        return Reply(kb.messages["fallback_suggest"], "fallback", None, match.score, suggestions)
    return Reply(topics_text(engine), "fallback", None, match.score, _popular(engine))


def topics_text(engine: Engine) -> str:
    """The "I can't help with that" text followed by the topic groups."""
    kb = engine.kb
    lines = [kb.messages["fallback_topics"]]
    for group in kb.topics:
        titles = ", ".join(kb.title(i) for i in group.intents[:4])
        lines.append(f"- **{group.title}**: {titles}…")
    return "\n".join(lines)


def _popular(engine: Engine) -> tuple[Suggestion, ...]:
    kb = engine.kb
    return tuple(Suggestion(group.intents[0], kb.title(group.intents[0])) for group in kb.topics[:3])


class Dialogue:
    """Conversations and their contexts, answered by whatever engine `engine` returns now."""

    def __init__(
        self, engine: Callable[[], Engine], settings: DialogueSettings | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self.settings = settings or DialogueSettings()
        self._clock = clock
        self._contexts: OrderedDict[str, Context] = OrderedDict()

    def context(self, conversation: str | None) -> Context:
        """The context of `conversation` (a fresh, unsaved one when None)."""
        if conversation is None:
            return Context()
        context = self._contexts.pop(conversation, None) or Context()
        self._contexts[conversation] = context
        while len(self._contexts) > self.settings.max_conversations:
            self._contexts.popitem(last=False)
        return context

    def respond(self, text: str, conversation: str | None = None) -> Reply:
        """Answer `text` in `conversation`; never raises on any text."""
        return respond(text, self.context(conversation), self._engine(), self.settings, self._clock())

    def answer_intent(self, intent_id: str, conversation: str | None = None, entity: str | None = None) -> Reply | None:
        """Answer `intent_id` as if asked (a tapped button); None if the intent no longer exists."""
        return answer_intent(intent_id, self.context(conversation), self._engine(), entity, self._clock())

    def forget(self, conversation: str) -> None:
        self._contexts.pop(conversation, None)
