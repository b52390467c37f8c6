"""Helpers shared by the tests (import them from here, not from a conftest).

`PROJECT` is the repository; `FIXTURE_KB` the small knowledge base of tests/fixtures/kb,
on which the Telegram and admin tests run so that editing the shipped answers never
breaks or weakens them.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.engine.core import Engine
from bot.engine.matcher import Matcher

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
