"""The lexical signal: score a question against every example of every intent by its words.

The lexical score of an intent is the similarity between the question and the
intent's closest example, in 0..1:

    similarity = word_weight * word_overlap + (1 - word_weight) * phrasing
    score = similarity * known / (known + unknown_penalty * unknown)

- `word_overlap` is a weighted Dice coefficient over the meaningful words the
  knowledge base knows (stop words removed, synonyms and spelling already
  canonicalised). Each word weighs its inverse intent frequency, so "salary"
  counts more than "backend".
- `phrasing` is rapidfuzz's `token_sort_ratio` on the canonical texts, stop words
  included, so word order changes cost nothing and phrasing ("who ..." vs
  "what ...") still counts.
- `known` and `unknown` are the weights of the question's known and unknown
  meaningful words; an unknown word weighs as much as the rarest known one, and a
  named other profession ("devops engineer") weighs `Tuning.foreign_penalty` of them.
  A question about "dentist salary" keeps less than half its similarity, because
  its subject is a word the bot has never seen.

Finally the example-level score is blended with the intent as a whole:

    score = (1 - centroid_weight) * score + centroid_weight * cosine * discount

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

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.engine.analyzer import ENTITY_MARK, Analysis, Analyzer
from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase
from bot.engine.models import OUT_OF_SCOPE
from bot.engine.text import normalise
from bot.engine.wordpiece import whole_words

SHORTLIST_BUDGET = 2000
BOUNDS_FROM = 3000
"""From this many candidates on, bounds decide which examples are worth phrasing."""
PHRASE_CAP = 2000
"""At most this many examples are phrased for one question (reached only by knowledge bases far larger than ours)."""


@dataclass(frozen=True)
class LexicalScores:
    """The lexical side of one question: intent -> score in 0..1 (intents sharing no word are absent)."""

    intents: dict[str, float]
    out_of_scope: float
    """The score of the closest negative example."""
    anchored: bool
    """True when the question names the domain ("backend")."""
    other_subject: bool = False
    """True when the question names another profession ("devops engineer") and not the domain."""
    about_answerer: bool = False
    """True when the question asks the person answering about their own life ("did you study CS?")."""


@dataclass(frozen=True)
class _Entry:
    intent: str
    text: str
    content: frozenset[str]
    weight: float
    sorted_text: str
    """The canonical words sorted: `fuzz.ratio` on these is `token_sort_ratio`, without re-sorting per query."""


class LexicalIndex:
    """An index of all examples of one knowledge base; `match()` is read-only and thread-safe.

    Examples are rows of arrays grouped by intent, so one question is scored against
    all of them with a few vectorised operations.
    """

    def __init__(self, kb: KnowledgeBase, tuning: Tuning) -> None:
        self.tuning = tuning
        phrasings: list[tuple[str, str]] = []
        for spec in kb.intents.values():
            for text in (*spec.examples, *spec.keywords, spec.title):
                phrasings.append((spec.id, text))
        phrasings.extend((OUT_OF_SCOPE, text) for text in kb.out_of_scope)
        vocabulary = Counter(w for _, text in phrasings for w in normalise(text, kb.lexicon.symbols).split())
        self.analyzer = Analyzer(kb.lexicon, vocabulary, whole_words())
        analysed = [(intent, self.analyzer.analyse(text)) for intent, text in phrasings]
        # Words only the negative examples use are not the domain's: they still count as unknown.
        self.domain = frozenset(w for intent, a in analysed if intent != OUT_OF_SCOPE for w in a.content)

        documents: dict[str, set[str]] = defaultdict(set)
        for intent, analysis in analysed:
            documents[intent].update(analysis.content)
        frequency: Counter[str] = Counter(w for words in documents.values() for w in words)
        n_docs = len(documents)
        self.unknown_weight = math.log(1 + n_docs)
        self.weights = {w: math.log(1 + n_docs / df) for w, df in frequency.items()}

        entries: dict[tuple[str, str], _Entry] = {}
        for intent, analysis in analysed:
            content = frozenset(analysis.content)
            entry = _Entry(intent, analysis.text, content, self._weigh(content), " ".join(sorted(analysis.tokens)))
            entries.setdefault((intent, analysis.text), entry)
        order = {intent: i for i, intent in enumerate(documents)}
        self.entries = sorted(entries.values(), key=lambda e: order[e.intent])  # stable: grouped by intent
        self._intents = list(documents)
        groups = np.array([order[e.intent] for e in self.entries], dtype=np.intp)
        self._starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        self._group_names = [self.entries[i].intent for i in self._starts]
        self._negatives = self._group_names.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self._group_names else -1
        self._group_of = np.repeat(np.arange(len(self._starts)), np.diff(np.r_[self._starts, len(self.entries)]))
        """The row (intent group) of each example; non-decreasing, as examples are grouped by intent."""
        self._entry_weights = np.array([e.weight for e in self.entries], dtype=np.float64)
        self._sorted_texts = np.array([e.sorted_text for e in self.entries], dtype=object)
        self._texts = np.array([e.text for e in self.entries], dtype=object)

        postings: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            for word in entry.content:
                postings[word].append(index)
        self.postings = {w: np.array(p, dtype=np.intp) for w, p in postings.items()}
        self._wordless = [i for i, e in enumerate(self.entries) if not e.content]

        # Centroids: how often each word appears across an intent's examples, times its weight,
        # stored sparsely by word (rows of the intents using it, and the values).
        sizes = Counter(e.intent for e in self.entries)
        by_word: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        norms = np.zeros(len(self._group_names))
        for row, name in enumerate(self._group_names):
            start = int(self._starts[row])
            members = self.entries[start : start + sizes[name]]
            for word, n in Counter(w for e in members for w in e.content).items():
                value = n / len(members) * self.weights[word]
                by_word[word][0].append(row)
                by_word[word][1].append(value)
                norms[row] += value * value
        self._centroid_words = {w: (np.array(rows, dtype=np.intp), np.array(values)) for w, (rows, values) in by_word.items()}
        norms = np.sqrt(norms)
        self._centroid_norms = np.where(norms > 0, norms, 1.0)

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

    def scores(self, text: str, limit: int = 8) -> LexicalScores:
        """The lexical scores of the best intents for `text` (see `score_analysis`)."""
        return self.score_analysis(self.analyzer.analyse(text), limit)

    def score_analysis(self, analysis: Analysis, limit: int = 8, leave_out: str | None = None) -> LexicalScores:
        """Score an analysed question: every intent that can be among the best `limit` (all of them in a
        knowledge base of our size), and the negatives; `leave_out` ignores examples with that canonical text."""
        lexicon = self.analyzer.lexicon
        # Another profession is off-topic unless the question also names the domain ("frontend vs backend").
        foreign = frozenset() if lexicon.anchors.intersection(analysis.content) else lexicon.foreign
        unknown = set(analysis.unknown) | {
            w for w in analysis.content if (w not in self.domain and not w.startswith(ENTITY_MARK)) or w in foreign
        }
        content = tuple(w for w in analysis.content if w not in unknown)
        best: dict[str, float] = {}
        if content:
            query_weight = self._weigh(content)
            tuning = self.tuning
            unknown_weight = sum(self.unknown_weight * (tuning.foreign_penalty if w in foreign else 1.0) for w in unknown)
            discount = query_weight / (query_weight + tuning.unknown_penalty * unknown_weight)
            best = self._intent_scores(content, analysis.tokens, query_weight, discount, leave_out, limit)
        elif analysis.tokens and not unknown:
            for index in self._wordless:
                entry = self.entries[index]
                if entry.text == leave_out:
                    continue
                score = fuzz.ratio(analysis.text, entry.text) / 100
                if score > best.get(entry.intent, 0.0):
                    best[entry.intent] = score
        out_of_scope = best.pop(OUT_OF_SCOPE, 0.0)
        anchored = bool(lexicon.anchors.intersection(analysis.content))
        other_subject = bool(foreign.intersection(analysis.content))
        return LexicalScores(best, out_of_scope, anchored, other_subject, self.analyzer.asks_the_answerer(analysis))

    def _intent_scores(
        self, content: tuple[str, ...], tokens: tuple[str, ...], query_weight: float, discount: float, leave_out: str | None, limit: int
    ) -> dict[str, float]:
        """The final score (module docstring) of every intent that can be among the best `limit`, and of the negatives.

        Work is saved without changing any result: an example is phrased only if its overlap
        could let it beat its intent's best-overlap example, and an intent only if its upper
        bound reaches the `limit + 1`-th best lower bound (the `+ 1` leaves room for the negatives).
        """
        used, skipped = self._shortlist(content)
        if not used:
            return {}
        overlap: npt.NDArray[np.float64] = np.zeros(len(self.entries))
        for word in used:
            overlap[self.postings[word]] += self.weights[word]
        candidates = np.flatnonzero(overlap)  # sorted, so grouped by intent; cheaper than merging the posting lists
        for word in skipped:
            overlap[candidates] += self.weights[word] * np.isin(candidates, self.postings[word], assume_unique=True)
        if leave_out is not None:
            candidates = candidates[self._texts[candidates] != leave_out]
        if not len(candidates):
            return {}
        dice = 2 * overlap[candidates] / (query_weight + self._entry_weights[candidates])
        ww, cw = self.tuning.word_weight, self.tuning.centroid_weight
        query_sorted = " ".join(sorted(tokens))
        if len(candidates) <= BOUNDS_FROM:
            return self._score_all(candidates, dice, query_sorted, content, discount)
        groups = self._group_of[candidates]
        firsts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        present = groups[firsts]
        position = np.repeat(np.arange(len(firsts)), np.diff(np.r_[firsts, len(candidates)]))
        best_dice = np.maximum.reduceat(dice, firsts)
        centroid = cw * self._cosines(content)[present] * discount
        lower = (1 - cw) * ww * best_dice * discount + centroid
        upper = (1 - cw) * (ww * best_dice + 1 - ww) * discount + centroid
        keep_group = present == self._negatives
        if len(lower) > limit + 1:
            keep_group |= upper >= np.partition(lower, -(limit + 1))[-(limit + 1)]
        else:
            keep_group[:] = True
        keep = keep_group[position] & (ww * dice + 1 - ww >= ww * best_dice[position])
        if np.count_nonzero(keep) > PHRASE_CAP:
            # Only in a huge knowledge base, for a question made of very common words: phrase the
            # PHRASE_CAP examples with the highest upper bounds (the one approximation in this module).
            kept = np.flatnonzero(keep)
            bound = (1 - cw) * (ww * dice[kept] + 1 - ww) + centroid[position[kept]]
            keep[:] = False
            keep[kept[np.argpartition(-bound, PHRASE_CAP)[:PHRASE_CAP]]] = True
            keep[np.flatnonzero(present[position] == self._negatives)] = True
        chosen = candidates[keep]
        phrasing = process.cdist([query_sorted], self._sorted_texts[chosen], scorer=fuzz.ratio, dtype=np.float64)[0]
        example = (ww * dice[keep] + (1 - ww) * phrasing / 100) * discount
        kept_position = position[keep]
        kept_firsts = np.flatnonzero(np.r_[True, kept_position[1:] != kept_position[:-1]])
        rows = kept_position[kept_firsts]
        final = (1 - cw) * np.maximum.reduceat(example, kept_firsts) + centroid[rows]
        return {self._group_names[present[row]]: float(score) for row, score in zip(rows, final, strict=True)}

    def _score_all(
        self, candidates: npt.NDArray[np.intp], dice: npt.NDArray[np.float64], query_sorted: str, content: tuple[str, ...], discount: float
    ) -> dict[str, float]:
        """`_intent_scores` for a short list of candidates: phrase them all (cheaper than the bounds)."""
        phrasing = process.cdist([query_sorted], self._sorted_texts[candidates], scorer=fuzz.ratio, dtype=np.float64)[0]
        scores = np.zeros(len(self.entries))
        ww, cw = self.tuning.word_weight, self.tuning.centroid_weight
        scores[candidates] = (ww * dice + (1 - ww) * phrasing / 100) * discount
        per_intent = np.maximum.reduceat(scores, self._starts)
        rows = np.flatnonzero(per_intent)
        final = (1 - cw) * per_intent[rows] + cw * self._cosines(content)[rows] * discount
        return {self._group_names[row]: float(score) for row, score in zip(rows, final, strict=True)}

    def _cosines(self, content: tuple[str, ...]) -> npt.NDArray[np.float64]:
        """The TF-IDF cosine of the question to every intent's centroid."""
        dot: npt.NDArray[np.float64] = np.zeros(len(self._group_names))
        query = [(w, self.weights[w]) for w in content if w in self._centroid_words]
        for word, weight in query:
            rows, values = self._centroid_words[word]
            dot[rows] += weight * values
        norm = math.sqrt(sum(weight * weight for _, weight in query)) or 1.0
        return dot / (self._centroid_norms * norm)
