"""Score a question against every example of every intent.

The confidence of an intent is the similarity between the question and the
intent's closest example, in 0..1:

    score = WORD_WEIGHT * word_overlap + (1 - WORD_WEIGHT) * phrasing

- `word_overlap` is a weighted Dice coefficient over meaningful words (stop words
  removed, synonyms and spelling already canonicalised). Each word weighs its
  inverse intent frequency, so "salary" counts more than "backend", and a word
  the knowledge base has never seen weighs as much as the rarest known word: a
  question about "nurse salary in canada" shares only a third of its weight with
  any salary example.
- `phrasing` is rapidfuzz's `token_sort_ratio` on the canonical texts, stop words
  included, so word order changes cost nothing and phrasing ("who ..." vs
  "what ...") still counts.

1.0 means the question equals an example after normalisation; 0 means no
meaningful word in common. Examples in `intents/_out_of_scope.yaml` are scored
the same way; their best score is reported as `Match.out_of_scope`.
A question with no meaningful word at all ("who are you?") is compared on
phrasing only, and only with examples that have no meaningful word either.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.analyzer import Analysis, Analyzer
from bot.knowledge import KnowledgeBase
from bot.models import Candidate, Match
from bot.text import normalise

WORD_WEIGHT = 0.7
OUT_OF_SCOPE = "__out_of_scope__"


@dataclass(frozen=True)
class _Entry:
    intent: str
    text: str
    content: frozenset[str]
    weight: float


class Matcher:
    """An index of all examples of one knowledge base; `match()` is read-only and thread-safe."""

    def __init__(self, kb: KnowledgeBase) -> None:
        phrasings: list[tuple[str, str]] = []
        for intent in kb.intents.values():
            for text in (*intent.examples, *intent.keywords, intent.title):
                phrasings.append((intent.id, text))
        phrasings.extend((OUT_OF_SCOPE, text) for text in kb.out_of_scope)
        vocabulary = {w for _, text in phrasings for w in normalise(text, kb.lexicon.symbols).split()}
        self.analyzer = Analyzer(kb.lexicon, vocabulary)
        analysed = [(intent, self.analyzer.analyse(text)) for intent, text in phrasings]

        documents: dict[str, set[str]] = defaultdict(set)
        for intent, analysis in analysed:
            documents[intent].update(analysis.content)
        frequency: dict[str, int] = defaultdict(int)
        for words in documents.values():
            for word in words:
                frequency[word] += 1
        n_docs = len(documents)
        self.unknown_weight = math.log(1 + n_docs)
        self.weights = {w: math.log(1 + n_docs / df) for w, df in frequency.items()}

        self.entries: list[_Entry] = []
        seen: set[tuple[str, str]] = set()
        for intent, analysis in analysed:
            if (intent, analysis.text) in seen:
                continue
            seen.add((intent, analysis.text))
            content = frozenset(analysis.content)
            self.entries.append(_Entry(intent, analysis.text, content, self._weigh(content)))
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            for word in entry.content:
                self.postings[word].append(index)
        self._wordless = [i for i, e in enumerate(self.entries) if not e.content]

    def _weigh(self, words: Iterable[str]) -> float:
        return sum(self.weights.get(w, self.unknown_weight) for w in words)

    def match(self, text: str, limit: int = 4) -> Match:
        """Return the best intents for `text`, best first, with scores in 0..1."""
        return self.match_analysis(self.analyzer.analyse(text), limit)

    def match_analysis(self, analysis: Analysis, limit: int = 4, leave_out: str | None = None) -> Match:
        """Match an analysed question; `leave_out` ignores examples with that canonical text."""
        content = analysis.content
        best: dict[str, float] = {}
        if content:
            shared: dict[int, float] = defaultdict(float)
            for word in content:
                weight = self.weights.get(word, self.unknown_weight)
                for index in self.postings.get(word, ()):
                    shared[index] += weight
            query_weight = self._weigh(content)
            for index, overlap in shared.items():
                entry = self.entries[index]
                if entry.text == leave_out:
                    continue
                dice = 2 * overlap / (query_weight + entry.weight)
                phrasing = fuzz.token_sort_ratio(analysis.text, entry.text) / 100
                score = WORD_WEIGHT * dice + (1 - WORD_WEIGHT) * phrasing
                if score > best.get(entry.intent, 0.0):
                    best[entry.intent] = score
        elif analysis.tokens:
            for index in self._wordless:
                entry = self.entries[index]
                if entry.text == leave_out:
                    continue
                score = fuzz.ratio(analysis.text, entry.text) / 100
                if score > best.get(entry.intent, 0.0):
                    best[entry.intent] = score
        out_of_scope = best.pop(OUT_OF_SCOPE, 0.0)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)[:limit]
        candidates = tuple(Candidate(intent, round(score, 4)) for intent, score in ranked)
        known = len(content) - sum(1 for w in content if w not in self.weights and w in analysis.unknown)
        return Match(
            intent=candidates[0].intent if candidates else None,
            score=candidates[0].score if candidates else 0.0,
            runners_up=candidates[1:],
            entities=dict(analysis.entities),
            out_of_scope=round(out_of_scope, 4),
            coverage=known / len(content) if content else 0.0,
            content_words=len(content),
        )
