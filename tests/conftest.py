"""Fixtures shared by every test folder: the shipped knowledge base, copied and indexed once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.core import Engine, build
from tests.helpers import PROJECT, copy_kb


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Engine]:
    """One copy of the project's intents/ and content/, and its engine (building takes a few tenths of a second)."""
    root = copy_kb(PROJECT, tmp_path_factory.mktemp("pristine"))
    return root, build(root)


@pytest.fixture(scope="session")
def engine(pristine: tuple[Path, Engine]) -> Engine:
    """The engine of the shipped knowledge base, built once per run (tests/telegram overrides it with the fixture's)."""
    return pristine[1]


@pytest.fixture
def kb_copy(tmp_path: Path, pristine: tuple[Path, Engine]) -> Path:
    """A writable copy of the knowledge base for this test to edit."""
    return copy_kb(pristine[0], tmp_path / "kb")
