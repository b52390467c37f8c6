"""The one scoring model: a lexical and a semantic signal combined into one confidence per intent.

For each intent, in 0..1:

    combined = (1 - w) * lexical + w * semantic + bonus

- `lexical` is `bot.engine.lexical`'s score: word overlap with the intent's closest
  example (spelling, synonyms and entities canonicalised), phrasing, and the intent
  as a whole, discounted by words the knowledge base has never seen. It knows typos,
  entities and the domain's vocabulary; it cannot tell a paraphrase from a new subject.
- `semantic` is the cosine between the question and the intent's closest example in
  all-MiniLM-L6-v2's sentence space, rescaled so that `Tuning.semantic_floor` (no shared
  meaning) is 0 and 1 is 1. It understands paraphrases and ordinary words the lexical
  side has never seen; it is weaker on typos and on what a specific word rules out.
- `bonus` (`Tuning.entity_bonus`) goes to an intent whose answer has a variant for the
  language or seniority the question names.
- A question that names another profession and not the domain ("what does a devops
  engineer earn?") keeps `Tuning.other_subject_share` of its combined score: the semantic
  side hears "earn" and would answer with our salary.
- `w` is `Tuning.semantic_weight`, fitted with the thresholds on data by
  `benchmarks/fit_scoring.py` (the intents' own examples left out one at a time, the
  negative examples, tests/eval/cases.jsonl and the real-question tune and extra sets).

The negative examples (`intents/_out_of_scope.yaml`) are scored the same way; their best
combined score is `Match.out_of_scope`. Without an embedder (`vectors=None`) the score is
the lexical one alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.engine.analyzer import Analysis, Analyzer
from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase
from bot.engine.lexical import LexicalIndex
from bot.engine.models import OUT_OF_SCOPE, Candidate, Match, Parts
from bot.engine.semantic import SemanticIndex, Vectors

LEXICAL_LIMIT = 12
"""Intents the lexical side must score exactly (all of them in a knowledge base of our size)."""


class Matcher:
    """Scores questions against one knowledge base; read-only and thread-safe once built."""

    def __init__(self, kb: KnowledgeBase, tuning: Tuning, vectors: Vectors | None) -> None:
        self.kb = kb
        self.tuning = tuning
        self.lexical = LexicalIndex(kb, tuning)
        self.analyzer: Analyzer = self.lexical.analyzer
        phrasings = [(intent.id, text) for intent in kb.intents.values() for text in (*intent.examples, intent.title)]
        phrasings += [(OUT_OF_SCOPE, text) for text in kb.out_of_scope]
        self.semantic = SemanticIndex(phrasings, vectors) if vectors is not None else None
        self._variants = {
            intent.id: (intent.entity, frozenset(intent.variants)) for intent in kb.intents.values() if intent.entity and intent.variants
        }

    def match(self, text: str, limit: int = 4) -> Match:
        """The best `limit` intents for `text`, best first."""
        return self.match_analysis(text, self.analyzer.analyse(text), limit)

    def match_analysis(self, text: str, analysis: Analysis, limit: int = 4, leave_out: str | None = None) -> Match:
        """Match a question and its analysis; `leave_out` ignores the example with exactly that text (validation)."""
        return self.score(self.signals(text, analysis, leave_out), self.tuning, limit)

    def signals(self, text: str, analysis: Analysis, leave_out: str | None = None) -> Signals:
        """The raw signals of one question: what the combined score is computed from."""
        left_out = None if leave_out is None else analysis.text if leave_out == text else self.analyzer.analyse(leave_out).text
        lexical = self.lexical.score_analysis(analysis, LEXICAL_LIMIT, left_out)
        if self.semantic is not None and analysis.words:
            semantic, semantic_oos = self.semantic.scores(analysis.corrected or text, leave_out)
        else:
            semantic, semantic_oos = {}, 0.0
        parts = {
            intent: Parts(lexical.intents.get(intent, 0.0), semantic.get(intent, 0.0), self._bonus(intent, analysis))
            for intent in set(lexical.intents) | set(semantic)
        }
        oos = Parts(lexical.out_of_scope, semantic_oos)
        return Signals(parts, oos, dict(analysis.entities), lexical.anchored, lexical.other_subject, dict(analysis.lacking))

    def prepare(self, questions: Sequence[str]) -> None:
        """Let the semantic side embed several questions at once (see `Vectors.prepare`)."""
        if self.semantic is not None:
            self.semantic.vectors.prepare(questions)

    def compose(self, whole: str, parts: Sequence[str]) -> None:
        """Let the semantic side derive the vector of a message from its parts' (see `Vectors.compose`)."""
        if self.semantic is not None:
            self.semantic.vectors.compose(whole, parts)

    def score(self, signals: Signals, tuning: Tuning, limit: int = 4) -> Match:
        """Combine the signals under `tuning` (the module docstring's formula) into a match."""
        weight = tuning.semantic_weight if self.semantic is not None else 0.0
        # Another profession named: the question is about someone else, whatever its words share with ours.
        keep = tuning.other_subject_share if signals.other_subject else 1.0
        scored = ((-round(keep * _combine(parts, weight, tuning), 4), intent) for intent, parts in signals.intents.items())
        best = heapq.nsmallest(limit, scored)  # best first, ties by intent id; Candidates only for those kept
        return Match(
            candidates=tuple(Candidate(intent, -negated, signals.intents[intent]) for negated, intent in best if negated < 0),
            entities=signals.entities,
            out_of_scope=round(_combine(signals.out_of_scope, weight, tuning), 4),
            out_of_scope_parts=signals.out_of_scope,
            anchored=signals.anchored,
            lacking=signals.lacking,
        )

    def _bonus(self, intent: str, analysis: Analysis) -> float:
        slot = self._variants.get(intent)
        if slot is None:
            return 0.0
        value = analysis.entities.get(slot[0])
        return self.tuning.entity_bonus if value is not None and value in slot[1] else 0.0


def _combine(parts: Parts, weight: float, tuning: Tuning) -> float:
    floor = tuning.semantic_floor
    semantic = max(0.0, (parts.semantic - floor) / (1.0 - floor))
    return min(1.0, (1.0 - weight) * parts.lexical + weight * semantic + parts.bonus)


@dataclass(frozen=True)
class Signals:
    """The lexical and semantic signals of one question, before they are combined."""

    intents: dict[str, Parts]
    out_of_scope: Parts
    entities: dict[str, str]
    anchored: bool
    other_subject: bool = False
    lacking: dict[str, str] = field(default_factory=dict)


__all__ = ["OUT_OF_SCOPE", "Matcher", "Signals"]
