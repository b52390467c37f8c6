"""Fixtures shared by every test folder: the shipped knowledge base, copied and indexed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.engine.core import Engine, build

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Engine]:
    """One copy of the project's intents/ and content/, and its engine (building takes a few tenths of a second)."""
    root = tmp_path_factory.mktemp("pristine")
    for folder in ("intents", "content"):
        shutil.copytree(PROJECT / folder, root / folder)
    return root, build(root)


@pytest.fixture
def kb_copy(tmp_path: Path, pristine: tuple[Path, Engine]) -> Path:
    """A writable copy of the knowledge base for this test to edit."""
    root = tmp_path / "kb"
    for folder in ("intents", "content"):
        shutil.copytree(pristine[0] / folder, root / folder)
    return root
