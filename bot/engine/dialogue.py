"""Dialogue: turn a user's message into a `Reply`, keeping per-conversation context.

Pure Python: the CLI, the tests and the Telegram layer all call `Dialogue.respond`.
A message is split into the questions it asks; each is matched (`bot.engine.matcher`)
and decided on (`bot.engine.policy`); the answered ones are joined into one reply.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot.engine.analyzer import ENTITY_MARK, Analysis
from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBase
from bot.engine.language import other_language
from bot.engine.models import Intent, Match, PartTrace, Reason, Reply, ReplyKind, Suggestion
from bot.engine.policy import Decision, decide, missing_variant, value_beside
from bot.engine.text import Question, fill, is_question, points_back, readable, split_questions

_BACK_REFERENCE = re.compile(r"\b(?:it|its|that|this|them|those|these|they|their|which one|that one|this one)\b", re.IGNORECASE)
_I_MEANT = r"i\s+meant?"
_CONTINUATION = re.compile(
    rf"^\W*(?:(?:ok(?:ay)?|so|no|nope|sorry|oops)\W+)*(?:and|what about|how about|same for|also|for|but|with|in|at|as|{_I_MEANT})\b",
    re.IGNORECASE,
)
"""A message that goes on from the last one ("and for Python?", "what about seniors?", "in Canada?"), or corrects it ("no, I meant
Java"): what it leaves unsaid is the last topic's."""
_CORRECTION = re.compile(rf"^\W*(?:(?:no|nope|sorry|oops|oh)\W+)*{_I_MEANT}\b\W*", re.IGNORECASE)
"""A message that corrects the last question ("no, I meant in Europe"): that question again, with what it says."""
_QUALIFIER = re.compile(r"^\W*(?:for|in|with|at|as|on|about|from)\b", re.IGNORECASE)
"""Words after "I meant" that narrow the last question rather than ask another ("for a beginner", "in Europe")."""


_NO_ENTITIES: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class Context:
    """What a conversation was last about, for follow-ups such as "and for Python?".

    Slots and immutable values (a fresh context shares the empty ones): up to `max_conversations` of
    these are kept, one per recent chat and user (about 100 bytes each instead of about 400)."""

    history: tuple[str, ...] = ()
    """Recent topics, oldest first (a follow-up may refer to any of them)."""
    entities: Mapping[str, str] = field(default_factory=lambda: _NO_ENTITIES)
    shown: tuple[str, ...] = ()
    """Topics already answered in this conversation ("tell me more" moves on to one not yet shown)."""
    said: str = ""
    """The start of the last question answered, with the continuations that followed it ("... and in Canada?"):
    what a next question's "it" may point back at."""
    updated: float = 0.0

    @property
    def topic(self) -> str | None:
        """The topic the chat is on: the last one remembered, if any."""
        return self.history[-1] if self.history else None

    def remember(self, intent: str, entities: Mapping[str, str], now: float, size: int) -> None:
        self.entities, self.updated = {**self.entities, **entities}, now
        self.history = (*(i for i in self.history if i != intent), intent)[-size:]
        self.shown = (*(i for i in self.shown if i != intent), intent)[-4 * size :]

    def expire(self, now: float, ttl: float) -> None:
        """Forget everything when the conversation has been quiet for longer than `ttl` seconds."""
        if self.history and now - self.updated > ttl:
            self.history, self.entities, self.shown, self.said = (), _NO_ENTITIES, (), ""


@dataclass(frozen=True)
class _Part:
    """One question of a message and its reply."""

    asks: bool
    """It asks something (a question, not a statement around one)."""
    reply: Reply
    text: str = ""
    """The words it was read as."""

    @property
    def answers(self) -> bool:
        return self.reply.reason in (Reason.ANSWERED, Reason.FOLLOW_UP, Reason.CONTINUED)


SAID_CHARS = 120
"""The start of an answered question kept for the next one's "it" (bounded: up to `max_conversations` contexts)."""
MULTI_FOLLOW_UPS = 4
"""Related-topic buttons under an answer to several questions (the related topics of each, in turn)."""


def respond(text: str, context: Context, engine: Engine, now: float | None = None) -> Reply:
    """Answer `text` in `context` (updated in place). Never raises on any input text."""
    now = time.monotonic() if now is None else now
    tuning = engine.tuning
    context.expire(now, tuning.context_ttl)
    text = text or ""
    too_long = len(text) > tuning.max_input_chars
    read = readable(text[: tuning.max_input_chars], engine.matcher.analyzer.vocabulary)
    parts = _questions(split_questions(read), tuning.max_questions)
    joined = " ".join(part.text for part in parts)
    language = other_language(joined)
    if language is not None:
        key = f"other_language_{language}"
        return _message(engine, key if key in engine.kb.messages else "other_language_other", Reason.OTHER_LANGUAGE, ())
    whole_analysis = engine.matcher.analyzer.analyse(joined)
    if not whole_analysis.words:
        return _message(engine, "empty", Reason.EMPTY, _popular(engine))

    traces: list[_Part] = []
    if len(parts) == 1:
        asked = [_Part(parts[0].asks, _respond_one(joined, whole_analysis, parts[0].asks, context, engine), joined)]
        statements = asked if not parts[0].asks else []
    else:
        # A part that points back is read with its antecedent ("Lead dev vs tech lead? What's the difference between both?").
        analyzer = engine.matcher.analyzer
        analyses = [analyzer.analyse(part.read) for part in parts]
        addressed = _asks_the_bot(parts, analyses, engine)
        if addressed:
            analyses = [analyzer.asked_of_the_answerer(a) for a in analyses]
        embedded = [a.corrected or p.read for p, a in zip(parts, analyses, strict=True)]  # what the semantic side reads
        whole_text = whole_analysis.corrected or joined
        asks = any(p.asks for p in parts)
        # Parts matched on their own (the questions, or every part of a message that asks nothing) are embedded now;
        # the others only if the whole message's vector must be made from its parts' (`Vectors.compose`).
        matched = [(text, a.words and (p.asks or not asks)) for text, p, a in zip(embedded, parts, analyses, strict=True)]
        engine.matcher.prepare([t for t, own in matched if own], whole_text, [t for t, own in matched if not own])
        # "I like SQL databases a lot. Who won the world cup in 2018?": when the message asks, its statements are the
        # question's context, carried by the whole message; answered on their own, they would answer what nobody asked.
        # (An antecedent read twice weighs twice in the whole message's vector: it is what the message is about.)
        engine.matcher.compose(whole_text, embedded)
        whole = _Part(asks, _respond_one(joined, whole_analysis, asks, context, engine), joined)
        subject = whole.reply.match
        asked = []
        for p, a in zip(parts, analyses, strict=True):
            if p.asks or not asks:
                reply, read_as = _respond_in_message(p.read, a, p.asks, asked, context, engine, subject), p.read
                if p.antecedent and any(q.answers and q.reply.intent == reply.intent for q in asked):
                    # "Which frameworks are used with PHP, and do I need a degree for this job?": read with its antecedent,
                    # the part is the antecedent's question again; read alone, as a next message would be, it asks its own.
                    own = analyzer.analyse(p.text)
                    own = analyzer.asked_of_the_answerer(own) if addressed else own
                    alone = _respond_in_message(p.text, own, p.asks, asked, context, engine, subject)
                    if alone.reason is Reason.ANSWERED and all(q.reply.intent != alone.intent for q in asked):
                        reply, read_as = alone, p.text
                asked.append(_Part(p.asks, reply, read_as))
                traces.append(asked[-1])
            else:
                traces.append(_Part(False, _CONTEXT_ONLY, p.read))
        # The whole message wins when no part could be answered, or when it is clearly closer
        # than any part ("My English is weak. Is that a problem?": the parts lose the subject).
        best_part = max((p.reply.score for p in asked if p.answers), default=None)
        statements = asked if not asks else []
        if best_part is None:
            # ...unless a part asks for a task ("Hi! Could you write me a study plan? Thanks"): a request, not a
            # question whose parts lost the subject, so the whole is not read in its place.
            read_whole = not any(p.reply.reason is Reason.TASK_REQUEST for p in asked)
        else:
            read_whole = whole.answers and whole.reply.score > best_part + tuning.whole_margin
        if read_whole:
            asked = _whole_in_place(whole, asked)
        traces.append(whole)
    reply, used = _reply_to_message(asked, statements, too_long, context, engine, now)
    if not traces:
        return reply
    return replace(reply, parts=tuple(_trace(p, any(p is u for u in used), p is traces[-1]) for p in traces))


_CONTEXT_ONLY = Reply("", "fallback", None, 0.0, reason=Reason.EMPTY)
"""Stands for the reply of a part read only as the context of the message's questions (never sent)."""


def _trace(part: _Part, used: bool, whole: bool) -> PartTrace:
    """How `part` was read, for `faqbot ask --explain`."""
    if part.reply is _CONTEXT_ONLY:
        return PartTrace(part.text, False, None, None, 0.0, False)
    return PartTrace(part.text, part.asks, part.reply.reason, part.reply.intent, part.reply.score, used, whole)


def _reply_to_message(
    asked: list[_Part], statements: list[_Part], too_long: bool, context: Context, engine: Engine, now: float
) -> tuple[Reply, list[_Part]]:
    """The reply to a message from the replies to the parts chosen to answer it (`asked`; `statements`: the parts of
    a message that asks nothing), and the parts whose replies it says."""
    answered = [p for p in asked if p.answers]
    if not answered:
        # Small talk only when the message is small talk on its own ("hi! thanks"), never beside a question, nor beside
        # a statement close to a topic ("I'd like to know the learning path... thanks"): a message that asks nothing is
        # small talk when one of its sentences is and the others are about nothing we know ("Until soon, I'll drop by!
        # Until then, all the best!").
        social = [p for p in asked if p.reply.reason is Reason.SMALLTALK]
        if not social and statements and all(p.reply.reason in (Reason.SMALLTALK, Reason.OFF_TOPIC) for p in statements):
            social = [p for p in statements if p.reply.reason is Reason.SMALLTALK]
            asked = social or asked
        if social and len(social) == len(asked):
            return social[0].reply, social[:1]
        best = _best_unanswered(asked)
        if too_long and best.reply.reason in (Reason.OFF_TOPIC, Reason.UNSURE):
            return _message(engine, "too_long", Reason.TOO_LONG, best.reply.suggestions), []
        if best.reply.reason in _NOTES and best.reply.intent is not None:
            # "is rust used for backend?" ... "what about golang?": a note on what the sources lack is still the topic
            # the chat is on, as it is beside answers (`_join`).
            context.remember(best.reply.intent, best.reply.entities, now, engine.tuning.history)
            context.said = best.text[:SAID_CHARS]
        return best.reply, [best]
    # "...How long does it take and what's the pay?": a question the sources are silent on, beside answered ones,
    # gets its note after the answers instead of silence.
    silent_on = [p for p in asked if p.asks and p.reply.reason in _NOTES]
    previous = context.topic
    reply = _join(answered, [p.reply for p in silent_on], context, engine, now)
    last = answered[-1]
    # "what's the pay?" ... "is that before tax?" ... "and in India?": a question that points back and stays on the
    # last topic says nothing of its own subject, nor does one that only names a new value ("and juniors?"), so the
    # next short one is read with the question that named it.
    borrowed = last.reply.reason is Reason.FOLLOW_UP or (last.reply.intent == previous and points_back(last.text))
    if not (context.said and borrowed):
        # "what does a backend dev earn?" ... "and in canada?" ... "and in nepal?": a continuation says nothing of its
        # own subject either, so it adds to the question it continues rather than replacing it.
        goes_on = context.said and _CONTINUATION.match(last.text)
        context.said = f"{context.said} {last.text}"[:SAID_CHARS] if goes_on else last.text[:SAID_CHARS]
    return reply, answered + silent_on


def _whole_in_place(whole: _Part, asked: list[_Part]) -> list[_Part]:
    """The parts replied to once the whole message is read instead: the whole, in the place of the first part it
    answers alike; the parts answered with another topic, or that get a note on what the sources lack, keep their own
    reply ("I have a question about backend developers. How much do they earn? Is a degree required?": the whole reads
    the pay better, and the degree is still asked). A whole that answers no part alike replaces them all (the parts
    lost the subject)."""
    kept: list[_Part] = []
    stood_in = False
    for part in asked:
        if part.answers and part.reply.intent == whole.reply.intent:
            if not stood_in:
                kept.append(whole)
                stood_in = True
        elif part.answers or part.reply.reason in _NOTES:
            kept.append(part)
    return kept if stood_in else [whole]


def _asks_the_bot(parts: list[Question], analyses: list[Analysis], engine: Engine) -> bool:
    """True when one question of the message asks the bot about its own life: then every part does ("How long have you
    been coding? And which language do you find most helpful?": the second asks the bot's favourite too)."""
    analyzer = engine.matcher.analyzer
    return any(analyzer.asks_the_answerer(a) for p, a in zip(parts, analyses, strict=True) if p.asks)


def _questions(parts: list[Question], limit: int) -> list[Question]:
    """At most `limit` parts, questions first wherever they stand, in their order; statements fill the rest."""
    if len(parts) <= limit:
        return parts
    chosen = {i for i, part in enumerate(parts) if part.asks}
    chosen = set(sorted(chosen)[-limit:])
    for i in range(len(parts)):
        if len(chosen) >= limit:
            break
        chosen.add(i)
    return [parts[i] for i in sorted(chosen)]


def _best_unanswered(asked: list[_Part]) -> _Part:
    """The part with the most useful reply when nothing was answered: not-covered notes and "did you mean" before a
    plain decline."""
    rank = {Reason.TOPIC_NOT_COVERED: 0, Reason.VALUE_NOT_COVERED: 0, Reason.CLARIFY: 1, Reason.UNSURE: 2, Reason.TASK_REQUEST: 3}
    return min(asked, key=lambda p: (rank.get(p.reply.reason, 4), -p.reply.score))


_NOTES = (Reason.TOPIC_NOT_COVERED, Reason.VALUE_NOT_COVERED)
"""Replies that say what the sources lack: beside answers, they are joined to them (`_join`)."""


def _variant(reply: Reply, engine: Engine) -> str | None:
    """The value whose variant answer `reply` gives (None: its topic's general answer, or a topic without variants)."""
    intent = engine.kb.intents.get(reply.intent) if reply.intent is not None else None
    return reply.entities.get(intent.entity) if intent is not None and intent.entity and intent.variants else None


def _join(answered: list[_Part], notes: list[Reply], context: Context, engine: Engine, now: float) -> Reply:
    """One reply for the answered questions: the first in full, the others after it while they fit, then as buttons;
    then the notes on what the sources lack (`notes`), which fit the same way."""
    replies: list[Reply] = []
    for reply in (*(part.reply for part in answered), *(_note(note, engine) for note in notes)):
        # The same topic twice is said once; two of its variants ("for Python? and for Java?") are both said.
        said = [_variant(r, engine) for r in replies if r.intent == reply.intent]
        if not said or (None not in said and _variant(reply, engine) not in (None, *said)):
            replies.append(reply)
    primary = replies[0]
    text_out = primary.text
    overflow: list[Suggestion] = []
    shown = [primary]
    for reply in replies[1:]:
        if len(text_out) + len(reply.text) + 2 <= engine.tuning.max_combined_chars:
            text_out += "\n\n" + reply.text
            shown.append(reply)
        elif reply.intent is not None:
            overflow.append(Suggestion(reply.intent, engine.kb.title(reply.intent)))
    answered_ids = tuple(r.intent for r in shown if r.intent is not None and r.kind == "answer")
    # Related topics of every answer shown, the first answer's first, none already answered or offered.
    offered = {*answered_ids, *(s.intent for s in overflow)}
    follow_ups: list[Suggestion] = []
    for suggestion in (s for r in shown for s in r.follow_ups):
        if suggestion.intent not in offered and len(follow_ups) < max(len(primary.follow_ups), MULTI_FOLLOW_UPS):
            offered.add(suggestion.intent)
            follow_ups.append(suggestion)
    if overflow:
        text_out += "\n\n" + engine.kb.messages["also_asked"]
    for reply in replies:
        if reply.intent is not None:
            context.remember(reply.intent, reply.entities, now, engine.tuning.history)
    return Reply(
        text_out,
        primary.kind,
        primary.intent,
        primary.score,
        tuple(overflow),
        tuple(follow_ups) if len(shown) > 1 else primary.follow_ups,
        primary.entities,
        primary.reason,
        primary.match,
        answered_ids if len(answered_ids) > 1 else (),
    )


_BUTTON_REASONS = {"smalltalk": Reason.SMALLTALK, "uncovered": Reason.TOPIC_NOT_COVERED}
"""A tapped topic is replied to as if it had been asked: a topic the sources do not cover says so."""


def _note(reply: Reply, engine: Engine) -> Reply:
    """A not-covered reply as it reads beside answers: a topic's note alone, without the "here is what my sources do
    cover nearby" that leads to its buttons."""
    intent = engine.kb.intents.get(reply.intent) if reply.intent is not None else None
    if reply.reason is Reason.TOPIC_NOT_COVERED and intent is not None:
        return replace(reply, text=intent.answer.strip())
    return reply


def answer_intent(intent_id: str, context: Context, engine: Engine, entity: str | None = None, now: float | None = None) -> Reply | None:
    """Answer an intent directly (a tapped button); None if it no longer exists."""
    intent = engine.kb.intents.get(intent_id)
    if intent is None:
        return None
    entities = {intent.entity: entity} if intent.entity and entity else {}
    reason = _BUTTON_REASONS.get(intent.kind, Reason.ANSWERED)
    decision = Decision(reason, intent_id)
    reply = _reply(engine, decision, None, 1.0, entities, context)
    if reply.kind != "fallback":
        context.remember(intent_id, reply.entities, time.monotonic() if now is None else now, engine.tuning.history)
    return reply


def offered_topics(text: str, engine: Engine, limit: int = 10) -> tuple[list[str], dict[str, str]]:
    """The topics to list for `text` (inline mode), decided by the same policy as an answer, and the entities it names.

    Answered: the topic first, then the other answer topics above the suggestion bar; unsure or
    ambiguous: the answer topics the policy offers; off-topic, task requests and the like: none.
    """
    text = readable(text, engine.matcher.analyzer.vocabulary)
    analysis = engine.matcher.analyzer.analyse(text)
    if not analysis.words or _is_task_request(analysis, engine):
        return [], dict(analysis.entities)
    match = engine.matcher.match_analysis(text, analysis, limit)
    decision = decide(match, engine.kb, engine.tuning, in_conversation=False, asks=is_question(text))
    kb, tuning = engine.kb, engine.tuning
    if decision.reason in (Reason.ANSWERED, Reason.VALUE_NOT_COVERED) and decision.intent is not None:
        others = [c.intent for c in match.runners_up if c.score >= tuning.suggest and kb.intents[c.intent].kind == "answer"]
        return [decision.intent, *others][:limit], dict(match.entities)
    # Results are answers to send into a chat: a topic the sources are silent on is no such answer.
    return [i for i in decision.options if kb.intents[i].kind == "answer"], dict(match.entities)


def _is_task_request(analysis: Analysis, engine: Engine) -> bool:
    """True when the sentence opens with a task verb ("Write me a cover letter"), politeness aside."""
    kb = engine.kb
    for word in analysis.words:
        if word not in kb.politeness:
            return word in kb.task_verbs
    return False


def _respond_in_message(
    sentence: str, analysis: Analysis, asks: bool, before: list[_Part], context: Context, engine: Engine, message: Match | None
) -> Reply:
    """`_respond_one` for a part of a message (`message`: the whole message's match), where a part that only names a
    new value follows the topic of a part before it ("Which frameworks for Python? And for Java?", "How much do seniors
    earn? And juniors?"), as a next message would follow the last answer."""
    earlier = tuple(dict.fromkeys(p.reply.intent for p in before if p.answers and p.reply.intent is not None))
    follow_up = _follow_up(sentence, analysis, Context(history=earlier), engine) if earlier else None
    if follow_up is not None:
        return _reply(engine, Decision(Reason.FOLLOW_UP, follow_up), None, 1.0, dict(analysis.entities), context)
    said = {k: v for p in before if p.answers for k, v in p.reply.entities.items()}
    if said:
        # "Which language first? And which frameworks?": the value an earlier part's answer named (Python).
        context = replace(context, entities={**context.entities, **said})
    return _respond_one(sentence, analysis, asks, context, engine, message)


def _respond_one(sentence: str, analysis: Analysis, asks: bool, context: Context, engine: Engine, message: Match | None = None) -> Reply:
    """Match, decide on and reply to one question of a message (`asks`: it asks something, `Question.asks`; `message`:
    the match of the message it is part of, if it is one)."""
    if _is_task_request(analysis, engine):
        return _message(engine, "task_request", Reason.TASK_REQUEST, _popular(engine))
    follow_up = _follow_up(sentence, analysis, context, engine)
    if follow_up is not None:
        entities = {**context.entities, **analysis.entities}
        return _reply(engine, Decision(Reason.FOLLOW_UP, follow_up), None, 1.0, entities, context)
    correction = _CORRECTION.match(sentence) if context.said else None
    if correction is not None:
        corrected = _corrected(sentence[correction.end() :], context.said, engine)
        if corrected is not None:
            (sentence, analysis), asks = corrected, True
    match = engine.matcher.match_analysis(sentence, analysis)
    if message is not None and message.anchored and _names_no_subject(analysis, match):
        # "What is a backend dev? What are the required skills?": a part that names no subject is about what its
        # message names, the domain, so it is as far from the negative examples (other jobs' skills) as the message is.
        match = replace(match, out_of_scope=min(match.out_of_scope, message.out_of_scope))
    if context.history and _BACK_REFERENCE.search(sentence):
        match = _in_context(match, context, engine)
    decision = decide(match, engine.kb, engine.tuning, bool(context.history), asks)
    on = context.topic
    if decision.reason in (Reason.UNSURE, Reason.OFF_TOPIC) and context.said and _elliptic(sentence, analysis, match, engine, on):
        # "what's a CMS?" ... "do I need to know it?": on its own the question is about nothing; read with the
        # message it points back at, as a clause is read with the one before it in the same message.
        joined = f"{context.said} {sentence}"
        again = engine.matcher.match_analysis(joined, engine.matcher.analyzer.analyse(joined))
        retried = decide(again, engine.kb, engine.tuning, True, asks)
        # "is docker needed?" ... "what about kubernetes?": going on from a note gets the note again, for the new thing.
        if retried.reason is Reason.ANSWERED or (retried.reason in _NOTES and retried.intent == on):
            match, decision = again, retried
    entities = dict(match.entities)
    intent = engine.kb.intents.get(decision.intent) if decision.intent else None
    slot = intent.entity if intent is not None else None
    # A question naming no value of its own, nor two ("PHP? What's this Rails thing?"), may borrow one.
    if slot and slot not in entities and f"{ENTITY_MARK}{slot}" not in analysis.content:
        if message is not None and slot in message.entities:
            # "I'm learning PHP. What frameworks should I use?": the value the message names, if one, is the part's.
            entities[slot] = message.entities[slot]
        elif slot in context.entities and (_BACK_REFERENCE.search(sentence) or _CONTINUATION.match(sentence)):
            # "which language first?" -> Python; "ok, what frameworks for it?" (or "and what frameworks?") -> Python's
            # frameworks; the same from an earlier part of the message ("Which language first? And which frameworks?").
            entities[slot] = context.entities[slot]
    return _reply(engine, decision, match, match.score, entities, context)


def _corrected(rest: str, said: str, engine: Engine) -> tuple[str, Analysis] | None:
    """What a correction asks, as the text to read and its analysis, given the words after its "I meant" and the last
    question: the last question with them when they narrow it ("how much do they earn?" ... "no, I meant in Europe")
    or ask nothing alone; those words alone when they ask something ("oh, I meant the salary"); None when they say
    nothing of their own ("I mean it") or are small talk ("I mean, thanks"), and the message is read as it is."""
    analyzer = engine.matcher.analyzer
    analysis = analyzer.analyse(rest)
    if not analysis.content:
        return None
    if not _QUALIFIER.match(rest):
        decision = decide(engine.matcher.match_analysis(rest, analysis), engine.kb, engine.tuning, False, is_question(rest))
        if decision.reason is Reason.SMALLTALK:
            return None
        if decision.reason not in (Reason.UNSURE, Reason.OFF_TOPIC, Reason.CLARIFY):
            return rest, analysis  # already analysed: not done again
    joined = f"{said} {rest}"
    return joined, analyzer.analyse(joined)


def _names_no_subject(analysis: Analysis, match: Match) -> bool:
    """True when a question names no subject of its own: not the domain, no other profession, no word the knowledge
    base does not know ("what are the required skills?", not "what does a plumber earn?" nor "what is a backend dev?")."""
    return not (match.anchored or match.other_subject or match.about_answerer or analysis.unknown)


def _elliptic(sentence: str, analysis: Analysis, match: Match, engine: Engine, on: str | None) -> bool:
    """True when a sentence that is about nothing alone may lean on the last question: it points back at a thing ("do
    I need to know it?", "which ones?") or continues the last question ("and in Europe?"), and names nothing the
    sources do not know (not "and for plumbers?", "what about pizza?" nor "is it raining in London?"). Not when its own closest topic is
    one the sources are silent on, close enough to be offered ("I want to become a backend dev" ... "where do I
    start?" ... "and how long will it take?" would get the roadmap again, not the time it takes), unless that is the
    topic the chat is on (`on`: "is docker needed?" ... "what about kubernetes?")."""
    best = match.candidates[0] if match.candidates else None
    if (
        best is not None
        and best.intent != on
        and best.score >= engine.tuning.suggest
        and engine.kb.intents[best.intent].kind == "uncovered"
    ):
        return False
    if not (points_back(sentence) or _CONTINUATION.match(sentence)):
        return False
    return not analysis.unknown and not match.other_subject


def _in_context(match: Match, context: Context, engine: Engine) -> Match:
    """The match with `Tuning.context_bonus` added to the related topics of the last answer (the question refers back to it)."""
    last = engine.kb.intents.get(context.topic or "")
    bonus = engine.tuning.context_bonus
    if last is None or not bonus:
        return match
    related = set(last.follow_ups)
    rescored = [
        replace(c, score=round(min(1.0, c.score + bonus), 4), parts=replace(c.parts, bonus=c.parts.bonus + bonus))
        if c.intent in related
        else c
        for c in match.candidates
    ]
    return replace(match, candidates=tuple(sorted(rescored, key=lambda c: (-c.score, c.intent))))


def _follow_up(sentence: str, analysis: Analysis, context: Context, engine: Engine) -> str | None:
    """A recent topic taking the entity this sentence names, when the sentence only names a new value
    ("and for Python?") or opens like a continuation ("and someone with a few years' experience?")."""
    if not context.history or not analysis.entities:
        return None
    values = set(analysis.entities.values())
    others = [word for word in analysis.content if not word.startswith(ENTITY_MARK) and word not in values]
    if others and (len(others) > engine.tuning.max_follow_up_extra or not _CONTINUATION.match(sentence)):
        return None
    # The recent topics first, then the last one's related topics ("how much do they earn?" ... "and Java developers?":
    # pay by language, not what Java is).
    last = engine.kb.intents.get(context.topic or "")
    for intent_id in (*reversed(context.history), *(last.follow_ups if last is not None else ())):
        intent = engine.kb.intents.get(intent_id)
        if intent is not None and intent.entity in analysis.entities:
            return intent.id
    return None


def _reply(engine: Engine, decision: Decision, match: Match | None, score: float, entities: Mapping[str, str], context: Context) -> Reply:
    """The reply a decision calls for, in the knowledge base's words."""
    kb = engine.kb
    reason = decision.reason
    if reason in (Reason.OFF_TOPIC,):
        return Reply(topics_text(engine), "fallback", None, score, _popular(engine), reason=reason, match=match)
    if reason is Reason.UNSURE:
        options = tuple(Suggestion(i, kb.title(i)) for i in decision.options)
        return Reply(kb.messages["fallback_suggest"], "fallback", None, score, options, reason=reason, match=match)
    if reason is Reason.CLARIFY:
        options = tuple(Suggestion(i, kb.title(i)) for i in decision.options)
        return Reply(kb.messages["clarify"], "fallback", decision.intent, score, options, reason=reason, match=match)
    assert decision.intent is not None
    intent_id = decision.intent
    if reason is Reason.CONTINUED:
        intent_id = _next_topic(context, engine) or intent_id
        if intent_id == decision.intent:
            return Reply(kb.messages["continue_nothing"], "fallback", None, score, _popular(engine), reason=Reason.UNSURE, match=match)
    intent = kb.intents[intent_id]
    follow_ups = tuple(Suggestion(i, kb.title(i)) for i in intent.follow_ups if i in kb.intents)
    if reason is Reason.TOPIC_NOT_COVERED:
        text = fill(kb.messages["topic_not_covered"], {"topic": intent.title, "note": intent.answer.strip()})
        return Reply(text, "fallback", intent_id, score, follow_ups, reason=reason, match=match)
    # Decided by the policy, or a follow-up ("and for Go?") to a topic with no answer for that value.
    lacking = decision.lacking or missing_variant(intent, entities)
    if lacking is not None:
        etype, missing = lacking
        suggestion = (Suggestion(intent.id, intent.title),)
        note = _not_covered_note(kb, intent, etype, missing)
        return Reply(note, "fallback", intent_id, score, suggestion, (), {etype: missing}, Reason.VALUE_NOT_COVERED, match)
    text, used = intent.answer, {}
    value = entities.get(intent.entity) if intent.entity else None
    if intent.entity and value is not None and value in intent.variants:
        text, used = intent.variants[value], {intent.entity: value}
    beside = value_beside(match, kb, intent_id) if match is not None and reason is Reason.ANSWERED else None
    if beside is not None:
        # "Java or Go?": the answer for Java, and a word that the sources say nothing of Go.
        text = f"{text.rstrip()}\n\n{_not_covered_note(kb, intent, *beside)}"
    kind: ReplyKind = "smalltalk" if intent.kind == "smalltalk" else "answer"
    return Reply(text, kind, intent_id, score, (), follow_ups, {**intent.about, **used}, reason, match)


def _not_covered_note(kb: KnowledgeBase, intent: Intent, etype: str, missing: str) -> str:
    """ "I don't know about Go here..." for `intent`: the values it does answer for (its variants, when it has them by
    that entity, or else every value the sources cover)."""
    values = kb.entities[etype]
    offered = intent.variants if etype == intent.entity and intent.variants else [v for v in values if v not in kb.lexicon.uncovered]
    known = ", ".join(values[v].label for v in offered)
    # A value the sources cover elsewhere ("C#" for frameworks: a language they name, with no framework) is not unknown.
    key = "not_covered" if missing in kb.lexicon.uncovered or etype != intent.entity else "not_covered_here"
    return fill(kb.messages[key], {"value": values[missing].label, "topic": intent.title, "known": known})


def _next_topic(context: Context, engine: Engine) -> str | None:
    """For "tell me more": the first related topic of the latest one that this conversation has not seen yet."""
    for recent in reversed(context.history):
        intent = engine.kb.intents.get(recent)
        if intent is None:
            continue
        for candidate in intent.follow_ups:
            if candidate in engine.kb.intents and candidate not in context.shown:
                return candidate
    return None


def _message(engine: Engine, key: str, reason: Reason, suggestions: tuple[Suggestion, ...]) -> Reply:
    return Reply(engine.kb.messages[key], "fallback", None, 0.0, suggestions, reason=reason)


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

    def __init__(self, engine: Callable[[], Engine], clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._contexts: OrderedDict[str, Context] = OrderedDict()

    def context(self, conversation: str | None) -> Context:
        """The context of `conversation` (a fresh, unsaved one when None)."""
        if conversation is None:
            return Context()
        context = self._contexts.pop(conversation, None) or Context()
        self._contexts[conversation] = context
        while len(self._contexts) > self._engine().tuning.max_conversations:
            self._contexts.popitem(last=False)
        return context

    def respond(self, text: str, conversation: str | None = None) -> Reply:
        """Answer `text` in `conversation`; never raises on any text."""
        return respond(text, self.context(conversation), self._engine(), self._clock())

    def answer_intent(self, intent_id: str, conversation: str | None = None, entity: str | None = None) -> Reply | None:
        """Answer `intent_id` as if asked (a tapped button); None if the intent no longer exists."""
        return answer_intent(intent_id, self.context(conversation), self._engine(), entity, self._clock())

    def forget(self, conversation: str) -> None:
        self._contexts.pop(conversation, None)
