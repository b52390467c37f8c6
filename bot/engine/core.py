"""A loaded knowledge base together with its matcher, and a holder that swaps them atomically."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot.engine.knowledge import KnowledgeBase, load
from bot.engine.matcher import Matcher


@dataclass(frozen=True)
class Engine:
    """Everything needed to answer: immutable, so it can be shared and swapped whole."""

    kb: KnowledgeBase
    matcher: Matcher


def build(root: Path) -> Engine:
    """Load the knowledge base under `root` and index it; raise KnowledgeBaseError if it is broken."""
    kb = load(root)
    return Engine(kb, Matcher(kb))


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
