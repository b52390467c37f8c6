"""Grow the shipped knowledge base synthetically, in memory, to `factor` times its intents and examples.

Nothing is written to disk. For each copy `c` (1 .. factor-1) of each shipped intent a new
intent `<id>__s<c>` is made whose examples are the shipped ones perturbed:

- every synthetic intent gets two topic words of its own, drawn from a pool of
  made-up pronounceable words (the pool grows with the factor, as a real vocabulary
  would), and each example gets one of them inserted or substituted for a word;
- about a third of the examples are recombined: the first half of one example of the
  intent with the second half of an example of another intent;
- a random pool word is inserted into about half of the examples.

So the synthetic intents share most of their words with the shipped ones (the worst
case for an inverted index: "backend", "developer", "salary" get `factor` times more
postings) while staying distinguishable, as new topics of a bigger FAQ would be.
The shipped intents, lexicon, out-of-scope examples, messages and topics are kept as is.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache
from pathlib import Path

from bot.engine.config import Tuning
from bot.engine.core import Engine
from bot.engine.knowledge import (
    KnowledgeBase,
    load,
)
from bot.engine.matcher import Matcher
from bot.engine.models import Intent

_ONSETS = (
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "cl",
    "dr",
    "fl",
    "gr",
    "pl",
    "pr",
    "sk",
    "st",
    "tr",
    "sh",
    "ch",
    "th",
)
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "io")
_CODAS = ("", "", "n", "r", "s", "t", "l", "m", "x", "nd", "st", "rk")


def word_pool(size: int, seed: int = 7) -> list[str]:
    """`size` distinct made-up words of two or three syllables (deterministic for a seed)."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice((2, 2, 3))
        words.add("".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)) + rng.choice(_CODAS))
    return sorted(words)


def pool_size(factor: int) -> int:
    """Vocabulary added by the synthetic intents: about 300 new words per copy of the knowledge base, at most 50,000."""
    return min(50_000, 300 * factor)


def grow(kb: KnowledgeBase, factor: int, seed: int = 1) -> KnowledgeBase:
    """A knowledge base with `factor` times the intents (and examples) of `kb`; `factor=1` returns `kb`."""
    if factor <= 1:
        return kb
    rng = random.Random(seed)
    pool = word_pool(pool_size(factor), seed)
    originals = list(kb.intents.values())
    all_examples = [(intent.id, example) for intent in originals for example in intent.examples]
    intents: dict[str, Intent] = dict(kb.intents)
    for copy in range(1, factor):
        for intent in originals:
            topic = rng.sample(pool, 2)
            examples: list[str] = []
            seen: set[str] = set()
            for example in intent.examples:
                words = example.split()
                if len(words) > 2 and rng.random() < 0.33:
                    _, other = rng.choice(all_examples)
                    tail = other.split()
                    words = words[: max(1, len(words) // 2)] + tail[len(tail) // 2 :]
                position = rng.randrange(len(words) + 1)
                if rng.random() < 0.5 and len(words) > 2:
                    words[min(position, len(words) - 1)] = rng.choice(topic)
                else:
                    words.insert(position, rng.choice(topic))
                if rng.random() < 0.5:
                    words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
                text = " ".join(words)
                if text.casefold() not in seen:
                    seen.add(text.casefold())
                    examples.append(text)
            new_id = f"{intent.id}__s{copy}"
            intents[new_id] = replace(
                intent,
                id=new_id,
                title=f"{intent.title[:28]} {topic[0]}"[:40],
                examples=tuple(examples),
                keywords=(),
                follow_ups=(),
            )
    return replace(kb, intents=intents)


@cache
def shipped_kb(root: Path) -> KnowledgeBase:
    return load(root)


def grown_engine(root: Path, factor: int, seed: int = 1) -> Engine:
    """An engine (knowledge base + matcher) at `factor` times the shipped size, scored on words alone:
    embedding 100,000 synthetic phrasings would take minutes and measure the model, not the index."""
    kb = grow(shipped_kb(root), factor, seed)
    return Engine(kb, Matcher(kb, Tuning(), None))


def size(kb: KnowledgeBase) -> tuple[int, int]:
    """(intents, examples) of `kb`."""
    return len(kb.intents), sum(len(i.examples) for i in kb.intents.values())
