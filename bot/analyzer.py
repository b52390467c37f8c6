"""Turn a normalised text into the canonical words the matcher compares.

Steps, in order: multi-word synonyms and entity aliases are replaced as phrases;
each remaining word that the knowledge base does not know is de-pluralised or
spell-corrected to the closest known word (same first letter, at most one edit
for short words, two for long ones); synonyms map to their canonical word; an
entity mention becomes a placeholder (`@language`) and its value is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text import normalise

ENTITY_MARK = "@"


@dataclass(frozen=True)
class Lexicon:
    """Stop words, synonyms, symbols and entity aliases, as loaded from `intents/_*.yaml`."""

    stopwords: frozenset[str]
    synonyms: Mapping[str, str]
    """Variant (word or phrase, normalised) -> canonical word."""
    symbols: Mapping[str, str]
    entity_aliases: Mapping[str, tuple[str, str]]
    """Alias or value (normalised) -> (entity type, canonical value)."""


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
    """Entity type -> canonical value, first mention wins."""

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Analyzer:
    """Analyse texts against a lexicon and a vocabulary of known words."""

    def __init__(self, lexicon: Lexicon, vocabulary: Iterable[str] = ()) -> None:
        self.lexicon = lexicon
        phrases = {**lexicon.synonyms, **{k: f"{ENTITY_MARK}{k}" for k in lexicon.entity_aliases}}
        self._phrases = sorted(
            (tuple(p.split()) for p in phrases if " " in p), key=len, reverse=True
        )
        self._phrase_first = {p[0] for p in self._phrases}
        self.vocabulary = frozenset(vocabulary) | set(lexicon.synonyms.values()) | {
            w for w in list(lexicon.synonyms) + list(lexicon.entity_aliases) if " " not in w
        } | lexicon.stopwords
        by_letter: dict[str, list[str]] = {}
        for word in self.vocabulary:
            if len(word) >= 3 and word.isalpha():
                by_letter.setdefault(word[0], []).append(word)
        self._by_letter = by_letter
        self.correct = lru_cache(maxsize=16384)(self._correct)

    def analyse(self, text: str) -> Analysis:
        """Return the canonical analysis of `text` (never raises; empty text gives empty tuples)."""
        words = normalise(text, self.lexicon.symbols).split()
        tokens: list[str] = []
        unknown: list[str] = []
        entities: dict[str, str] = {}
        i = 0
        while i < len(words):
            phrase = self._phrase_at(words, i)
            if phrase:
                raw, i = " ".join(phrase), i + len(phrase)
            else:
                raw, i = words[i], i + 1
                if raw not in self.vocabulary:
                    corrected = self.correct(raw)
                    if corrected is None:
                        unknown.append(raw)
                    else:
                        raw = corrected
            entity = self.lexicon.entity_aliases.get(raw)
            if entity is not None:
                entities.setdefault(entity[0], entity[1])
                token = ENTITY_MARK + entity[0]
            else:
                token = self.lexicon.synonyms.get(raw, raw)
            if not (tokens and tokens[-1] == token and token.startswith(ENTITY_MARK)):
                tokens.append(token)
        stop = self.lexicon.stopwords
        content = tuple(dict.fromkeys(t for t in tokens if t not in stop))
        return Analysis(tuple(tokens), content, tuple(unknown), entities)

    def _phrase_at(self, words: list[str], i: int) -> tuple[str, ...] | None:
        if words[i] not in self._phrase_first:
            return None
        for phrase in self._phrases:
            if tuple(words[i : i + len(phrase)]) == phrase:
                return phrase
        return None

    def _correct(self, word: str) -> str | None:
        """Return the known word `word` most likely stands for, or None."""
        for suffix, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ed", "")):
            if word.endswith(suffix) and word[: -len(suffix)] + replacement in self.vocabulary:
                return word[: -len(suffix)] + replacement
        if len(word) < 4 or not word.isalpha():
            return None
        candidates = self._by_letter.get(word[0])
        if not candidates:
            return None
        allowed = 1 if len(word) <= 6 else 2
        found = process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=allowed)
        return None if found is None else str(found[0])
