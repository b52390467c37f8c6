"""Turn a normalised text into the canonical words the matcher compares.

Steps, in order: each word that the knowledge base does not know is
spell-corrected to the closest known word (same first letter, at most one edit
for words of five or six letters, two for longer ones) unless it is a real English
word, which is read as itself (or as the known word with its stem: "basic" as
"basics"), and ordinary words are reduced to their stem ("hosted" -> "host"); multi-word
synonyms and entity aliases are replaced as phrases; synonyms map to their
canonical word; an entity mention records its value and becomes a placeholder
(`@language`), unless it is also a synonym (a framework name stands for
"framework" and names its language).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import lru_cache

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.engine.text import normalise

ENTITY_MARK = "@"
_STEMMER = Stemmer.Stemmer("english", 0)
"""Snowball's own C stemmer, without its cache: 0.24 us a word uncached, so a cache of users' words (up to 12 MB
at its former 65,536 entries) would save nothing worth keeping."""
MAX_CACHED_WORD = 40
"""Longer words (no real word is; crafted input is) are worked out each time, never cached: the correction cache
stays within entries x 40 characters whatever users type."""


def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of an English word: "hosting" and "hosted" -> "host"."""
    return str(_STEMMER.stemWord(word))


def _slip(typed: str, known: str) -> bool:
    """True when `typed` is `known` with two adjacent letters swapped or one letter doubled.

    A dropped letter is not accepted: too many real four-letter words are one letter
    short of a known word ("chef" / "chief").
    """
    if len(typed) == len(known):
        return sorted(typed) == sorted(known)
    if len(known) == len(typed) - 1:
        return any(typed[i] == typed[i - 1] and typed[:i] + typed[i + 1 :] == known for i in range(1, len(typed)))
    return False


@dataclass(frozen=True)
class Lexicon:
    """Stop words, synonyms, symbols and entity aliases, as loaded from `intents/_*.yaml`."""

    stopwords: frozenset[str]
    synonyms: Mapping[str, str]
    """Variant (word or phrase, normalised) -> canonical word."""
    symbols: Mapping[str, str]
    entity_aliases: Mapping[str, tuple[str, str]]
    """Alias or value (normalised) -> (entity type, canonical value)."""
    anchors: frozenset[str] = frozenset()
    """Canonical words that place a question in the bot's domain ("backend")."""
    uncovered: frozenset[str] = frozenset()
    """Entity values the knowledge base says nothing about: they count as unknown words."""
    foreign: frozenset[str] = frozenset()
    """Canonical words naming another subject (another profession): they count as unknown words."""
    years: tuple[tuple[str, str, int, int], ...] = ()
    """(entity type, value, from, below): the value a number of years of experience stands for."""
    numbers: Mapping[str, int] = field(default_factory=dict)
    """Number words (normalised) -> amount, for "a few years"."""
    answerer: frozenset[str] = frozenset()
    """Canonical words that ask the person answering about their own life (`answerer_phrases`)."""
    spellings: Mapping[str, str] = field(default_factory=dict)
    """Misspelling, abbreviation or glued words (normalised) -> the word or words it stands for (`spellings`): read as
    those, by both sides."""


@dataclass(frozen=True)
class Analysis:
    """A question as the matcher sees it."""

    tokens: tuple[str, ...]
    """Canonical words in order, stop words included, entities as placeholders."""
    content: tuple[str, ...]
    """The meaningful words: `tokens` without stop words, duplicates removed."""
    unknown: tuple[str, ...]
    """Content words the knowledge base does not know, even after spelling correction."""
    entities: Mapping[str, str]
    """Entity type -> canonical value, first mention wins; left out when the question names several values of that
    type that the sources cover ("Django or Laravel?", "junior vs senior pay"): it compares them, and the topic's
    general answer, which covers every value, answers it better than the first value's."""
    words: tuple[str, ...] = ()
    """The normalised words of the text, before any canonicalisation."""
    corrected: str | None = None
    """The normalised text with misspelt, shortened or glued words replaced by what they stand for ("who manages the
    server"), when any was; the semantic signal embeds it, as the model reads "servr" or "ror" as noise. (Keeping the text
    as written, with only those words replaced, answered 3 fewer real questions of the tune sets.)"""
    lacking: Mapping[str, str] = field(default_factory=dict)
    """Entity type -> the first value named that the sources do not cover ("Rust vs Go?", "Go or Python?")."""

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Analyzer:
    """Analyse texts against a lexicon and a vocabulary of known words."""

    def __init__(self, lexicon: Lexicon, vocabulary: Mapping[str, int] | Iterable[str] = (), english: Iterable[str] = ()) -> None:
        """`vocabulary`: the knowledge base's words, with how often each is used if known (for spelling ties);
        `english`: real words, which spelling correction leaves as they are ("shift" is not "swift", "employees" not
        "employers"; "sever", not a word of the list, is still "server")."""
        self._english = english if isinstance(english, AbstractSet) else frozenset(english)
        self._frequency: Mapping[str, int] = vocabulary if isinstance(vocabulary, Mapping) else {}
        self.lexicon = lexicon
        phrases = {**lexicon.synonyms, **{k: f"{ENTITY_MARK}{k}" for k in lexicon.entity_aliases}}
        self._phrases: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted((tuple(p.split()) for p in phrases if " " in p), key=len, reverse=True):
            self._phrases.setdefault(phrase[0], []).append(phrase)
        # Words the lexicon maps or produces are already canonical: stemming them would break the mapping. The words
        # inside a phrase are not among them: phrases are found before stemming, so "database management systems"
        # leaves "systems" elsewhere to be stemmed like any word.
        self._unstemmed = lexicon.stopwords | set(lexicon.synonyms) | set(lexicon.synonyms.values()) | set(lexicon.entity_aliases)
        self.vocabulary = (
            frozenset(vocabulary)
            | set(lexicon.synonyms.values())
            | {w for phrase in list(lexicon.synonyms) + list(lexicon.entity_aliases) for w in phrase.split()}
            | lexicon.stopwords
        )
        # A stem -> the known word the knowledge base uses most with that stem ("studys" -> "studies").
        by_stem: dict[str, str] = {}
        for word in sorted(self.vocabulary, key=lambda w: (-self._frequency.get(w, 0), w)):
            by_stem.setdefault(stem(word), word)
        self._by_stem = by_stem
        by_letter: dict[str, list[str]] = {}
        for word in self.vocabulary:
            if len(word) >= 3 and word.isalpha():
                by_letter.setdefault(word[0], []).append(word)
        self._by_letter = by_letter
        self._longest = max((len(w) for words in by_letter.values() for w in words), default=0)
        self._cached_correct = lru_cache(maxsize=16384)(self._correct)

    def cached_corrections(self) -> int:
        """Words in the spelling-correction cache."""
        return self._cached_correct.cache_info().currsize

    def correct(self, word: str) -> str | None:
        """The known word `word` most likely stands for, or None (see `_correct`); short words' answers are cached."""
        if len(word) > self._longest + 2:  # more than two edits from every known word
            return None
        return self._cached_correct(word) if len(word) <= MAX_CACHED_WORD else self._correct(word)

    def analyse(self, text: str) -> Analysis:
        """Return the canonical analysis of `text` (never raises; empty text gives empty tuples)."""
        normalised = tuple(normalise(text, self.lexicon.symbols).split())
        known: list[str] = []  # each word as the knowledge base writes it, where phrases are found
        words: list[str] = []  # ... and its canonical form
        unknown: list[str] = []
        spelled: list[str] = []
        for typed in normalised:
            for word in self.lexicon.spellings.get(typed, typed).split():  # "ror" -> ruby on rails
                if len(word) == 1 and word not in self.vocabulary and word not in self.lexicon.entity_aliases:
                    # A lone letter or digit the knowledge base does not use is no subject: a list number ("1."),
                    # an initial or a cut abbreviation ("Q.", "e.g", "v/s", "job(s)"), a stray key ("practice l").
                    spelled.append(word)
                    continue
                written, canonical = self._canonical_spelling(word, unknown, spelled)
                known.append(written)
                words.append(canonical)
        tokens: list[str] = []
        entities: dict[str, str] = {}
        lacking: dict[str, str] = {}
        covered: dict[str, dict[str, None]] = {}  # type -> the covered values named, in order
        i = 0
        while i < len(words):
            phrase = self._phrase_at(known, i)
            raw = " ".join(phrase) if phrase else words[i]
            start, i = i, i + (len(phrase) if phrase else 1)
            entity = self.lexicon.entity_aliases.get(raw)
            if entity is not None:
                entities.setdefault(entity[0], entity[1])
                if entity[1] not in self.lexicon.uncovered:
                    covered.setdefault(entity[0], {})[entity[1]] = None
                else:
                    lacking.setdefault(entity[0], entity[1])
                    unknown.append(entity[1])
                    # An alias that needs a word beside the name to be told from an ordinary word ("learn go",
                    # "go developers") keeps that word: "should I learn go?" still asks what to learn.
                    tokens.extend(
                        self.lexicon.synonyms.get(word, word)
                        for written, word in zip(known[start:i], words[start:i], strict=True)
                        if written != entity[1] and self.lexicon.entity_aliases.get(written) != entity
                    )
                    tokens.append(entity[1])
                    continue
            # A framework name is both a synonym ("framework") and an entity alias (its language).
            token = self.lexicon.synonyms.get(raw, raw) if raw in self.lexicon.synonyms or entity is None else ENTITY_MARK + entity[0]
            if not (tokens and tokens[-1] == token and token.startswith(ENTITY_MARK)):
                tokens.append(token)
        stop = self.lexicon.stopwords
        content = tuple(dict.fromkeys(t for t in tokens if t not in stop))
        for etype, value in self._experience(normalised):
            entities.setdefault(etype, value)
            covered.setdefault(etype, {})[value] = None
        corrected = " ".join(spelled) if tuple(spelled) != normalised else None
        # One covered value named beside uncovered ones ("java or golang?") is the value answered; the uncovered
        # one stays lacking whatever the order, so the reply does not depend on which was named first.
        entities = {
            etype: (next(iter(covered[etype])) if value in self.lexicon.uncovered and etype in covered else value)
            for etype, value in entities.items()
            if len(covered.get(etype, ())) < 2
        }
        return Analysis(tuple(tokens), content, tuple(unknown), entities, normalised, corrected, lacking)

    def asks_the_answerer(self, analysis: Analysis) -> bool:
        """True when `analysis` asks the person answering about their own life (`answerer_phrases`: "did you study CS?")."""
        return bool(self.lexicon.answerer.intersection(analysis.content))

    def asked_of_the_answerer(self, analysis: Analysis) -> Analysis:
        """`analysis` read as asked of the person answering, as if it said "did you..." itself."""
        if self.asks_the_answerer(analysis):
            return analysis
        return replace(analysis, content=(*analysis.content, *sorted(self.lexicon.answerer)))

    def _experience(self, words: tuple[str, ...]) -> list[tuple[str, str]]:
        """The values a stated experience stands for: "5 years", "a few years' experience" -> (seniority, ...)."""
        if not self.lexicon.years:
            return []
        found: list[tuple[str, str]] = []
        for i, word in enumerate(words):
            if word not in ("year", "years", "yr", "yrs") or i == 0:
                continue
            amount = self._amount(words[max(0, i - 2) : i])
            if amount is None:
                continue
            found += [(etype, value) for etype, value, low, high in self.lexicon.years if low <= amount < high]
        return found

    def _amount(self, before: tuple[str, ...]) -> int | None:
        """The amount the words just before "years" say: a number ("5", "10+") or a number word ("a few")."""
        if before and before[-1].isdigit():
            return int(before[-1][:3])
        for size in (2, 1):
            phrase = " ".join(before[-size:])
            if len(before) >= size and phrase in self.lexicon.numbers:
                return self.lexicon.numbers[phrase]
        return None

    def _phrase_at(self, words: list[str], i: int) -> tuple[str, ...] | None:
        """The longest known phrase starting at `words[i]`, if any."""
        for phrase in self._phrases.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                return phrase
        return None

    def _canonical_spelling(self, word: str, unknown: list[str], spelled: list[str]) -> tuple[str, str]:
        """`word` as the knowledge base writes it (corrected if unknown), and that stemmed unless the lexicon maps it;
        hopeless words go to `unknown`. `spelled` gets the word as it should be written (the correction, or the word itself)."""
        if word in self.vocabulary:
            spelled.append(word)
        else:
            root = stem(word)
            known = self._by_stem.get(root)
            if known is not None and (len(word) > len(root) or word in self._english):
                # Another form of a known word ("studys", "basic" for "basics"); an uninflected non-word ("sever") is a typo.
                spelled.append(word)
                word = known
            else:
                corrected = self.correct(word)
                spelled.append(corrected or word)
                if corrected is None:
                    unknown.append(root)
                    return word, root
                word = corrected
        return word, word if word in self._unstemmed else stem(word)

    def _correct(self, word: str) -> str | None:
        """Return the known word `word` most likely stands for, or None.

        A real English word stands for itself: None. Other words of five letters or more may be one edit away
        (two from seven letters on);
        four-letter words only a swap of two adjacent letters ("wiht" -> "with") or a
        doubled letter ("phpp" -> "php"), as short words have too many one-edit neighbours. Ties go to the word the
        knowledge base uses most, then alphabetical order, so the result never
        depends on set ordering.
        """
        if len(word) < 4 or not word.isalpha() or word in self._english:
            return None
        candidates = self._by_letter.get(word[0])
        if not candidates:
            return None
        allowed = 1 if len(word) <= 6 else 2
        found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=allowed, limit=None)
        if len(word) == 4:
            found = [item for item in found if _slip(word, str(item[0]))]
        if not found:
            return None
        best = min(found, key=lambda item: (item[1], -self._frequency.get(item[0], 0), item[0]))
        return str(best[0])
