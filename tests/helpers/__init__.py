"""Helpers shared by the tests (import them from here, not from a conftest).

`PROJECT` is the repository; `FIXTURE_KB` the small knowledge base of tests/fixtures/kb,
on which the Telegram and admin tests run so that editing the shipped answers never
breaks or weakens them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
FIXTURE_KB = PROJECT / "tests" / "fixtures" / "kb"
KB_FOLDERS = ("intents", "content")


def copy_kb(source: Path, target: Path) -> Path:
    """Copy the knowledge base (intents/ and content/) under `source` to `target`; return `target`."""
    for folder in KB_FOLDERS:
        shutil.copytree(source / folder, target / folder)
    return target
