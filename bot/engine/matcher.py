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
- `bonus` (`Tuning.entity_bonus`, fitted to 0) goes to an intent whose answer has a variant for
  the language or seniority the question names; `Tuning.uncovered_value_bonus` to an intent that
  answers per language when the question names one the sources do not cover ("is Rust good for
  backend?"), so that it says which languages it does cover.
- A question that names another profession and not the domain ("what does a devops
  engineer earn?") keeps `Tuning.other_subject_share` of its combined score: the semantic
  side hears "earn" and would answer with our salary.
- A question that asks the person answering about their own life ("did you study CS?", "what does
  your typical day look like?", `answerer_phrases` in _lexicon.yaml) keeps the same share on every
  answer topic: the article tells no one's story, and `personal_experience` says so.
- `w` is `Tuning.semantic_weight`, fitted with the thresholds on data by
  `benchmarks/fit_scoring.py` (the intents' own examples left out one at a time, the
  negative examples, tests/eval/cases.jsonl and the real-question tune and extra sets).

The negative examples (`intents/_out_of_scope.yaml`) are scored the same way; their best
combined score is `Match.out_of_scope`. Without an embedder (`vectors=None`) the score is
the lexical one alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

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
        # Every intent has a place in sorted order: the signals are arrays in that order (sorted, so that ties
        # between equal scores go to the first intent id, as before), and the semantic side's order maps onto it.
        self._names: tuple[str, ...] = tuple(sorted(kb.intents))
        self._index = {name: i for i, name in enumerate(self._names)}
        self._answers = np.array([kb.intents[name].kind == "answer" for name in self._names], dtype=np.bool_)
        if self.semantic is not None:
            semantic_names = self.semantic.names
            self._oos_row = semantic_names.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in semantic_names else -1
            positions = np.array([self._index.get(name, -1) for name in semantic_names], dtype=np.intp)
            self._semantic_rows = positions >= 0  # the semantic side's intents (not OUT_OF_SCOPE) ...
            self._semantic_to = positions[self._semantic_rows]  # ... and where they go in the signals' order

    def match(self, text: str, limit: int = 4) -> Match:
        """The best `limit` intents for `text`, best first."""
        return self.match_analysis(text, self.analyzer.analyse(text), limit)

    def match_analysis(self, text: str, analysis: Analysis, limit: int = 4, leave_out: str | None = None) -> Match:
        """Match a question and its analysis; `leave_out` ignores the example with exactly that text (validation)."""
        return self.score(self.signals(text, analysis, leave_out), self.tuning, limit)

    def signals(self, text: str, analysis: Analysis, leave_out: str | None = None) -> Signals:
        """The raw signals of one question: what the combined score is computed from."""
        cosines = self.semantic.best(analysis.corrected or text, leave_out) if self.semantic is not None and analysis.words else None
        return self._signals(text, analysis, leave_out, cosines)

    def left_out_signals(self, examples: Sequence[tuple[str, Analysis]]) -> list[Signals]:
        """`signals(text, analysis, leave_out=text)` for each example and its analysis (the leave-one-out check of
        validation and fitting), the semantic side scored for all of them at once (`SemanticIndex.best_many`)."""
        semantic = self.semantic
        if semantic is None:
            return [self._signals(text, analysis, text, None) for text, analysis in examples]
        embedded = [i for i, (_, analysis) in enumerate(examples) if analysis.words]
        rows = semantic.best_many([(examples[i][1].corrected or examples[i][0], examples[i][0]) for i in embedded])
        cosines: list[npt.NDArray[np.float32] | None] = [None] * len(examples)
        for i, row in zip(embedded, rows, strict=True):
            cosines[i] = row
        return [self._signals(text, analysis, text, found) for (text, analysis), found in zip(examples, cosines, strict=True)]

    def _signals(self, text: str, analysis: Analysis, leave_out: str | None, cosines: npt.NDArray[np.float32] | None) -> Signals:
        """`signals`, given the semantic side's cosines (None: no embedder, or a question without words)."""
        left_out = None if leave_out is None else analysis.text if leave_out == text else self.analyzer.analyse(leave_out).text
        lexical = self.lexical.score_analysis(analysis, LEXICAL_LIMIT, left_out)
        size = len(self._names)
        lexical_scores = np.zeros(size)
        for intent, score in lexical.intents.items():
            lexical_scores[self._index[intent]] = score
        semantic = np.zeros(size)
        semantic_oos = 0.0
        if cosines is not None:
            semantic[self._semantic_to] = cosines[self._semantic_rows]
            semantic_oos = float(cosines[self._oos_row]) if self._oos_row >= 0 else 0.0
            present = np.ones(size, dtype=bool)
        else:
            present = np.zeros(size, dtype=bool)  # lexical only: the intents it scored
            present[[self._index[i] for i in lexical.intents]] = True
        bonus = np.zeros(size)
        for intent in self._variants:
            bonus[self._index[intent]] = self._bonus(intent, analysis)
        oos = Parts(lexical.out_of_scope, semantic_oos)
        return Signals(
            self._names,
            lexical_scores,
            semantic,
            bonus,
            present,
            oos,
            dict(analysis.entities),
            lexical.anchored,
            lexical.other_subject,
            dict(analysis.lacking),
            lexical.about_answerer,
        )

    def prepare(self, questions: Sequence[str], whole: str | None = None, context: Sequence[str] = ()) -> None:
        """Let the semantic side embed several questions at once, and the message they make up (see `Vectors.prepare`)."""
        if self.semantic is not None:
            self.semantic.vectors.prepare(questions, whole, context)

    def compose(self, whole: str, parts: Sequence[str]) -> None:
        """Let the semantic side derive the vector of a message from its parts' (see `Vectors.compose`)."""
        if self.semantic is not None:
            self.semantic.vectors.compose(whole, parts)

    def score(self, signals: Signals, tuning: Tuning, limit: int = 4) -> Match:
        """Combine the signals under `tuning` (the module docstring's formula) into a match."""
        weight = tuning.semantic_weight if self.semantic is not None else 0.0
        oos = signals.out_of_scope
        # Another profession named: the question is about someone else, whatever its words share with ours.
        keep = np.full(len(signals.names), tuning.other_subject_share if signals.other_subject else 1.0)
        if signals.about_answerer:
            # Asked of the answerer ("did you study CS?"): the article answers no one's own life, whatever the words share.
            keep[self._answers] *= tuning.other_subject_share
        combined = np.round(keep * _combine(signals.lexical, signals.semantic, signals.bonus, weight, tuning.semantic_floor), 4)
        combined[~signals.present] = 0.0
        best = np.lexsort((np.arange(len(combined)), -combined))[:limit]  # best first, ties by intent id (names are sorted)
        return Match(
            candidates=tuple(
                Candidate(
                    signals.names[i],
                    float(combined[i]),
                    Parts(float(signals.lexical[i]), float(signals.semantic[i]), float(signals.bonus[i])),
                )
                for i in best
                if combined[i] > 0
            ),
            entities=signals.entities,
            out_of_scope=round(float(_combine(oos.lexical, oos.semantic, oos.bonus, weight, tuning.semantic_floor)), 4),
            out_of_scope_parts=signals.out_of_scope,
            anchored=signals.anchored,
            lacking=signals.lacking,
            other_subject=signals.other_subject,
            about_answerer=signals.about_answerer,
        )

    def _bonus(self, intent: str, analysis: Analysis) -> float:
        slot = self._variants.get(intent)
        if slot is None:
            return 0.0
        value = analysis.entities.get(slot[0])
        if value is None:
            return 0.0
        if value in slot[1]:
            return self.tuning.entity_bonus
        return self.tuning.uncovered_value_bonus if value in self.kb.lexicon.uncovered else 0.0


Scores = npt.NDArray[np.float64] | float


def _combine(lexical: Scores, semantic: Scores, bonus: Scores, weight: float, floor: float) -> npt.NDArray[np.float64]:
    """The module docstring's formula, for one intent or all of them at once."""
    rescaled = np.maximum(0.0, (np.asarray(semantic) - floor) / (1.0 - floor))
    return np.minimum(1.0, (1.0 - weight) * np.asarray(lexical) + weight * rescaled + bonus)


@dataclass(frozen=True)
class Signals:
    """The lexical and semantic signals of one question, before they are combined."""

    names: tuple[str, ...]
    """The knowledge base's intents, sorted: the order of the arrays below."""
    lexical: npt.NDArray[np.float64]
    semantic: npt.NDArray[np.float64]
    """The cosine of each intent's closest example (0 without an embedder)."""
    bonus: npt.NDArray[np.float64]
    present: npt.NDArray[np.bool_]
    """Intents that may be candidates: all of them with an embedder, else those the lexical side scored."""
    out_of_scope: Parts
    entities: dict[str, str]
    anchored: bool
    other_subject: bool = False
    lacking: dict[str, str] = field(default_factory=dict)
    about_answerer: bool = False


__all__ = ["OUT_OF_SCOPE", "Matcher", "Signals"]
