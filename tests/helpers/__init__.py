"""Helpers shared by the tests (import them from here, not from a conftest).

`PROJECT` is the repository; `FIXTURE_KB` the small knowledge base of tests/fixtures/kb,
on which the Telegram and admin tests run so that editing the shipped answers never
breaks or weakens them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBase, Problem
from bot.engine.matcher import Matcher
from bot.maintenance.validate import confusions, validated_engine

PROJECT = Path(__file__).resolve().parents[2]
FIXTURE_KB = PROJECT / "tests" / "fixtures" / "kb"
KB_FOLDERS = ("intents", "content")
VECTOR_CACHE = Path(tempfile.gettempdir()) / "faqbot-test-vectors"
"""The tests' embedding cache (FAQBOT_CACHE_DIR of every bot they start): shared by runs, rebuilt when missing."""


def copy_kb(source: Path, target: Path) -> Path:
    """Copy the knowledge base (intents/ and content/) under `source` to `target`; return `target`."""
    for folder in KB_FOLDERS:
        shutil.copytree(source / folder, target / folder)
    return target


def retuned(engine: Engine, **changes: Any) -> Engine:
    """The same knowledge base and embedder under a changed `Tuning` (a test's own knobs, not today's defaults)."""
    return Engine(engine.kb, Matcher(engine.kb, replace(engine.tuning, **changes), engine.vectors))


def count_confusion_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the confusion check of `bot.maintenance.validate` runs (until the test ends)."""
    runs: list[int] = []

    def counted(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
        runs.append(1)
        return confusions(kb, matcher)

    # The module itself: `bot.maintenance` exports the `validate` function under the module's name.
    monkeypatch.setattr(sys.modules[validated_engine.__module__], "confusions", counted)
    return runs
