"""A loaded knowledge base together with its matcher, and a holder that swaps them atomically."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase, load
from bot.engine.matcher import Matcher
from bot.engine.semantic import Vectors


@dataclass(frozen=True)
class Engine:
    """Everything needed to answer: immutable, so it can be shared and swapped whole."""

    kb: KnowledgeBase
    matcher: Matcher

    @property
    def tuning(self) -> Tuning:
        return self.matcher.tuning

    @property
    def vectors(self) -> Vectors | None:
        """The embedder with its memory, to build the next engine with (a reload embeds only new texts)."""
        return self.matcher.semantic.vectors if self.matcher.semantic is not None else None


def build(root: Path, vectors: Vectors | None, tuning: Tuning | None = None) -> Engine:
    """Load the knowledge base under `root` and index it; raise KnowledgeBaseError if it is broken.

    `vectors`: the sentence embedder (see `bot.engine.semantic`); None scores on words alone.
    """
    kb = load(root)
    return Engine(kb, Matcher(kb, tuning or Tuning(), vectors))


class EngineHolder:
    """The engine currently in service. `swap` replaces it in one step: readers see the old or the new one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    def get(self) -> Engine:
        return self._engine

    def swap(self, engine: Engine) -> Engine:
        """Put `engine` in service and return the one it replaces."""
        with self._lock:
            old, self._engine = self._engine, engine
        return old
