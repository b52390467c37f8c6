"""`faqbot validate`: every problem in the knowledge base, with file, intent and field."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.engine.analyzer import Analysis
from bot.engine.config import Tuning
from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBase, KnowledgeBaseError, Problem, load
from bot.engine.matcher import Matcher
from bot.engine.models import Reason
from bot.engine.policy import decide
from bot.engine.semantic import Vectors
from bot.engine.text import is_question

CLEAR_CONFUSION = 0.1
"""An example that, left out, loses to another intent by more than this is an error (the intents overlap);
a closer loss is a warning: the bot answers the listed example right, and a near tie is settled by phrasings."""


def validate(root: Path, vectors: Vectors | None, tuning: Tuning | None = None) -> list[Problem]:
    """Return all problems of the knowledge base under `root`, errors and warnings (empty when it is fine)."""
    try:
        kb = load(root)
    except KnowledgeBaseError as exc:
        return exc.problems
    return [*kb.warnings, *confusions(kb, Matcher(kb, tuning or Tuning(), vectors))]


class PassedChecks:
    """Remembers the last knowledge base that passed the confusion check, by what the check reads.

    The check reads the examples, titles, kinds, entities, lexicon, negative examples and topics, never an
    answer's text nor the bot's messages: a reload that changed only those gets the same verdict, so it is
    not worked out again (2 s on a slow machine, for the most common edit: an answer reworded).
    """

    def __init__(self) -> None:
        self._passed: str | None = None

    def errors(self, kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
        """`confusion_errors`, or none without running the check when what it reads is the last that passed."""
        key = check_key(kb, matcher)
        if key == self._passed:
            return []
        errors = confusion_errors(kb, matcher)
        if not errors:
            self._passed = key
        return errors


def check_key(kb: KnowledgeBase, matcher: Matcher) -> str:
    """A digest of everything `confusions` reads: the knowledge base less its answers' texts and messages, the tuning, the model."""
    intents = [replace(i, answer="", variants=dict.fromkeys(sorted(i.variants), "")) for _, i in sorted(kb.intents.items())]
    read = (intents, kb.lexicon, kb.entities, kb.out_of_scope, sorted(kb.task_verbs), sorted(kb.politeness), kb.topics)
    model = matcher.semantic.vectors.model_id if matcher.semantic is not None else None
    return hashlib.sha256(repr((read, matcher.tuning, model)).encode()).hexdigest()


def validated_engine(
    root: Path, vectors: Vectors | None, tuning: Tuning | None = None, check_confusions: bool = True, passed: PassedChecks | None = None
) -> Engine:
    """Load and index the knowledge base under `root` after every check of `validate` (loading it once).

    Raise KnowledgeBaseError with all problems. `check_confusions=False` keeps only the
    loading checks (those `engine.build` makes), skipping the slower confusion check. `passed`: the
    check is skipped when what it reads equals the last knowledge base that passed it there.
    """
    kb = load(root)
    matcher = Matcher(kb, tuning or Tuning(), vectors)
    if check_confusions:
        errors = passed.errors(kb, matcher) if passed is not None else confusion_errors(kb, matcher)
        if errors:
            raise KnowledgeBaseError(errors)
    return Engine(kb, matcher)


def confusion_errors(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
    """The confusions that are errors (clear ones), not warnings."""
    return [p for p in confusions(kb, matcher) if not p.warning]


def confusions(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
    """Examples the bot itself would not answer with their own intent once they are left out of the index.

    The check asks what the bot does (the matcher and the decision policy), so it reports only
    confusions that change the answer, naming the example that wins.
    """
    problems: list[Problem] = []
    analysed = {example: matcher.analyzer.analyse(example) for intent in kb.intents.values() for example in intent.examples}
    checked = [(intent, example) for intent in kb.intents.values() if intent.kind != "continue" for example in intent.examples]
    left_out = matcher.left_out_signals([(example, analysed[example]) for _, example in checked])
    for (intent, example), signals in zip(checked, left_out, strict=True):
        # The candidates the dialogue itself weighs (the matcher's default); all of them only to report a confusion.
        match = matcher.score(signals, matcher.tuning)
        decision = decide(match, kb, matcher.tuning, in_conversation=True, asks=is_question(example))
        if decision.intent == intent.id or (decision.reason in (Reason.UNSURE, Reason.CLARIFY) and intent.id in decision.options):
            continue
        every = matcher.score(signals, matcher.tuning, limit=len(kb.intents))
        own = next((c.score for c in every.candidates if c.intent == intent.id), 0.0)
        if decision.intent is not None and decision.intent != intent.id:
            winner = _closest_example(matcher, analysed, example, decision.intent)
            clear = match.score - own > CLEAR_CONFUSION
            message = (
                f"example {example!r} would be answered with intent {decision.intent!r} ({match.score:.2f}, its example {winner!r})"
                f" rather than its own ({own:.2f}) if it were not listed: "
                + (
                    "make the two examples more distinct, or move this one"
                    if clear
                    else "a near tie; more phrasings like it would settle it"
                )
            )
            problems.append(Problem(_rel(kb, intent.source), message, intent.id, "examples", warning=not clear))
        else:
            message = (
                f"example {example!r} would be declined if it were not listed ({decision.reason.value}: best {match.score:.2f},"
                f" negatives {match.out_of_scope:.2f}): the intent has few examples like it; add a few varied phrasings near it"
            )
            problems.append(Problem(_rel(kb, intent.source), message, intent.id, "examples", warning=True))
    return problems


def _closest_example(matcher: Matcher, analysed: Mapping[str, Analysis], example: str, intent_id: str) -> str:
    """The example of `intent_id` most like `example` (to name both sides of a confusion); `analysed`: every example's analysis."""
    examples = [e for e in matcher.kb.intents[intent_id].examples if e != example]
    if not examples:
        return ""
    words = set(analysed[example].content)
    return max(examples, key=lambda e: len(words & set(analysed[e].content)))


def _rel(kb: KnowledgeBase, path: Path) -> str:
    try:
        return str(path.relative_to(kb.root))
    except ValueError:
        return str(path)
