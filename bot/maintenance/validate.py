"""`faqbot validate`: every problem in the knowledge base, with file, intent and field."""

from __future__ import annotations

from pathlib import Path

from bot.engine.config import Tuning
from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBase, KnowledgeBaseError, Problem, load
from bot.engine.matcher import Matcher
from bot.engine.semantic import Vectors


def validate(root: Path, vectors: Vectors | None, tuning: Tuning | None = None) -> list[Problem]:
    """Return all problems of the knowledge base under `root` (empty when it is fine)."""
    try:
        validated_engine(root, vectors, tuning)
    except KnowledgeBaseError as exc:
        return exc.problems
    return []


def validated_engine(root: Path, vectors: Vectors | None, tuning: Tuning | None = None, check_confusions: bool = True) -> Engine:
    """Load and index the knowledge base under `root` after every check of `validate` (loading it once).

    Raise KnowledgeBaseError with all problems. `check_confusions=False` keeps only the
    loading checks (those `engine.build` makes), skipping the slower confusion check.
    """
    kb = load(root)
    matcher = Matcher(kb, tuning or Tuning(), vectors)
    if check_confusions:
        problems = confusions(kb, matcher)
        if problems:
            raise KnowledgeBaseError(problems)
    return Engine(kb, matcher)


def confusions(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
    """Examples that, left out of the index, match another intent (or the negatives) better than their own."""
    problems: list[Problem] = []
    for intent in kb.intents.values():
        for example in intent.examples:
            analysis = matcher.analyzer.analyse(example)
            match = matcher.match_analysis(analysis, limit=len(kb.intents), leave_out=analysis.text)
            if match.intent not in (None, intent.id):
                own_score = next((c.score for c in match.runners_up if c.intent == intent.id), 0.0)
                problems.append(
                    Problem(
                        _rel(kb, intent.source),
                        f"example {example!r} matches intent {match.intent!r} ({match.score:.2f}) better than its own ({own_score:.2f})",
                        intent.id,
                        "examples",
                    )
                )
            elif match.out_of_scope > match.score:
                problems.append(
                    Problem(
                        _rel(kb, intent.source),
                        f"example {example!r} is closer to an out-of-scope example ({match.out_of_scope:.2f})"
                        f" than to its intent ({match.score:.2f})",
                        intent.id,
                        "examples",
                    )
                )
    return problems


def _rel(kb: KnowledgeBase, path: Path) -> str:
    try:
        return str(path.relative_to(kb.root))
    except ValueError:
        return str(path)
