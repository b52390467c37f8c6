"""Score a question against every example of every intent.

The confidence of an intent is the similarity between the question and the
intent's closest example, in 0..1:

    similarity = WORD_WEIGHT * word_overlap + (1 - WORD_WEIGHT) * phrasing
    score = similarity * known / (known + UNKNOWN_PENALTY * unknown)

- `word_overlap` is a weighted Dice coefficient over the meaningful words the
  knowledge base knows (stop words removed, synonyms and spelling already
  canonicalised). Each word weighs its inverse intent frequency, so "salary"
  counts more than "backend".
- `phrasing` is rapidfuzz's `token_sort_ratio` on the canonical texts, stop words
  included, so word order changes cost nothing and phrasing ("who ..." vs
  "what ...") still counts.
- `known` and `unknown` are the weights of the question's known and unknown
  meaningful words; an unknown word weighs as much as the rarest known one.
  A question about "dentist salary" keeps less than half its similarity, because
  its subject is a word the bot has never seen. When the question contains an
  anchor word of the domain ("backend"), unknown words are taken as harmless
  context ("I'm a student from Brazil...") and cost nothing.

Finally the example-level score is blended with the intent as a whole:

    score = (1 - CENTROID_WEIGHT) * score + CENTROID_WEIGHT * cosine * discount

where `cosine` is the TF-IDF cosine between the question and the intent's
centroid (how often each word appears across the intent's examples), so an
intent whose many examples agree beats one lucky example of another intent.

1.0 means the question equals every example of the intent after normalisation;
0 means no meaningful known word in common. Scores are comparable across
questions; `faqbot eval` prints how often the top intent is right per score band. Examples in `intents/_out_of_scope.yaml` are scored
the same way; their best score is reported as `Match.out_of_scope`.
A question with no meaningful word at all ("who are you?") is compared on
phrasing only, and only with examples that have no meaningful word either.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.analyzer import ENTITY_MARK, Analysis, Analyzer
from bot.knowledge import KnowledgeBase
from bot.models import Candidate, Match
from bot.text import normalise

WORD_WEIGHT = 0.7
SHORTLIST_BUDGET = 2000
UNKNOWN_PENALTY = 1.0
ANCHORED_UNKNOWN_PENALTY = 0.0
CENTROID_WEIGHT = 0.45
OUT_OF_SCOPE = "__out_of_scope__"


@dataclass(frozen=True)
class _Entry:
    intent: str
    text: str
    content: frozenset[str]
    weight: float
    sorted_text: str
    """The canonical words sorted: `fuzz.ratio` on these is `token_sort_ratio`, without re-sorting per query."""


class Matcher:
    """An index of all examples of one knowledge base; `match()` is read-only and thread-safe."""

    def __init__(self, kb: KnowledgeBase) -> None:
        phrasings: list[tuple[str, str]] = []
        for spec in kb.intents.values():
            for text in (*spec.examples, *spec.keywords, spec.title):
                phrasings.append((spec.id, text))
        phrasings.extend((OUT_OF_SCOPE, text) for text in kb.out_of_scope)
        vocabulary = Counter(w for _, text in phrasings for w in normalise(text, kb.lexicon.symbols).split())
        self.analyzer = Analyzer(kb.lexicon, vocabulary)
        analysed = [(intent, self.analyzer.analyse(text)) for intent, text in phrasings]
        # Words only the negative examples use are not the domain's: they still count as unknown.
        self.domain = frozenset(w for intent, a in analysed if intent != OUT_OF_SCOPE for w in a.content)

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
            sorted_text = " ".join(sorted(analysis.tokens))
            self.entries.append(_Entry(intent, analysis.text, content, self._weigh(content), sorted_text))
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        sizes: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            sizes[entry.intent] += 1
            for word in entry.content:
                counts[entry.intent][word] += 1
        self.centroids = {intent: {w: n / sizes[intent] * self.weights[w] for w, n in words.items()} for intent, words in counts.items()}
        self.centroid_norms = {i: math.sqrt(sum(v * v for v in c.values())) for i, c in self.centroids.items()}
        postings: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            for word in entry.content:
                postings[word].append(index)
        self.postings = dict(postings)
        self._wordless = [i for i, e in enumerate(self.entries) if not e.content]

    def _weigh(self, words: Iterable[str]) -> float:
        return sum(self.weights.get(w, self.unknown_weight) for w in words)

    def _shortlist(self, content: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """Split the question's known words into those whose examples are scored and those skipped.

        Words are taken from the most selective on, until their examples number about
        SHORTLIST_BUDGET. A small knowledge base is scored whole; in a large one, examples
        sharing only very common words ("backend") are skipped, which keeps the cost of a
        question nearly flat as the knowledge base grows. Skipped words still count in
        the overlap of the examples that are scored.
        """
        known = sorted((w for w in content if w in self.postings), key=lambda w: len(self.postings[w]))
        used: list[str] = []
        size = 0
        for word in known:
            if used and size + len(self.postings[word]) > SHORTLIST_BUDGET:
                break
            used.append(word)
            size += len(self.postings[word])
        return used, known[len(used) :]

    def match(self, text: str, limit: int = 4) -> Match:
        """Return the best intents for `text`, best first, with scores in 0..1."""
        return self.match_analysis(self.analyzer.analyse(text), limit)

    def match_analysis(self, analysis: Analysis, limit: int = 4, leave_out: str | None = None) -> Match:
        """Match an analysed question; `leave_out` ignores examples with that canonical text."""
        unknown = set(analysis.unknown) | {w for w in analysis.content if w not in self.domain and not w.startswith(ENTITY_MARK)}
        content = tuple(w for w in analysis.content if w not in unknown)
        best: dict[str, float] = {}
        if content:
            query_weight = self._weigh(content)
            penalty = ANCHORED_UNKNOWN_PENALTY if self.analyzer.lexicon.anchors.intersection(content) else UNKNOWN_PENALTY
            discount = query_weight / (query_weight + penalty * self._weigh(unknown))
            weights = self.weights
            entries = self.entries
            used, skipped = self._shortlist(content)
            overlaps: dict[int, float] = defaultdict(float)
            for word in used:
                weight = weights[word]
                for index in self.postings[word]:
                    overlaps[index] += weight
            late = [(word, weights[word]) for word in skipped if word in weights]
            choices = {i: entries[i].sorted_text for i in overlaps if entries[i].text != leave_out}
            query_sorted = " ".join(sorted(analysis.tokens))
            for _, phrasing, index in process.extract(query_sorted, choices, scorer=fuzz.ratio, limit=None):
                entry = entries[index]
                overlap = overlaps[index]
                for word, weight in late:
                    if word in entry.content:
                        overlap += weight
                dice = 2 * overlap / (query_weight + entry.weight)
                score = (WORD_WEIGHT * dice + (1 - WORD_WEIGHT) * phrasing / 100) * discount
                if score > best.get(entry.intent, 0.0):
                    best[entry.intent] = score
        elif analysis.tokens and not unknown:
            for index in self._wordless:
                entry = self.entries[index]
                if entry.text == leave_out:
                    continue
                score = fuzz.ratio(analysis.text, entry.text) / 100
                if score > best.get(entry.intent, 0.0):
                    best[entry.intent] = score
        if content and CENTROID_WEIGHT:
            query = {w: self.weights.get(w, self.unknown_weight) for w in content}
            query_norm = math.sqrt(sum(v * v for v in query.values()))
            for intent, example_score in best.items():
                centroid = self.centroids[intent]
                cosine = sum(v * centroid.get(w, 0.0) for w, v in query.items()) / (query_norm * self.centroid_norms[intent])
                best[intent] = (1 - CENTROID_WEIGHT) * example_score + CENTROID_WEIGHT * cosine * discount
        out_of_scope = best.pop(OUT_OF_SCOPE, 0.0)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)[:limit]
        candidates = tuple(Candidate(intent, round(score, 4)) for intent, score in ranked)
        total = len(content) + len(unknown)
        anchored = bool(self.analyzer.lexicon.anchors.intersection(content))
        return Match(
            intent=candidates[0].intent if candidates else None,
            score=candidates[0].score if candidates else 0.0,
            runners_up=candidates[1:],
            entities=dict(analysis.entities),
            out_of_scope=round(out_of_scope, 4),
            coverage=len(content) / total if total else 0.0,
            content_words=total,
            anchored=anchored,
        )
