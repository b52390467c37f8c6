"""Fixtures shared by every test folder: the shipped knowledge base, copied and indexed once per run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine.core import Engine, build
from bot.engine.knowledge import KnowledgeBase, load
from bot.engine.semantic import Vectors
from bot.maintenance.vector_cache import load_vectors, save_vectors
from tests.helpers import FIXTURE_KB, PROJECT, VECTOR_CACHE, copy_kb


@pytest.fixture(scope="session")
def vectors() -> Iterator[Vectors]:
    """The real sentence-embedding model with the tests' cache: every engine of the run shares it."""
    shared = load_vectors(VECTOR_CACHE)
    yield shared
    save_vectors(shared, VECTOR_CACHE)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory, vectors: Vectors) -> tuple[Path, Engine]:
    """One copy of the project's intents/ and content/, and its engine (building takes a few tenths of a second)."""
    root = copy_kb(PROJECT, tmp_path_factory.mktemp("pristine"))
    return root, build(root, vectors)


@pytest.fixture(scope="session")
def fixture_kb() -> KnowledgeBase:
    """The small knowledge base of tests/fixtures/kb, loaded (no index)."""
    return load(FIXTURE_KB)


@pytest.fixture(scope="session")
def engine(pristine: tuple[Path, Engine]) -> Engine:
    """The engine of the shipped knowledge base, built once per run (tests/telegram overrides it with the fixture's)."""
    return pristine[1]


@pytest.fixture
def kb_copy(tmp_path: Path, pristine: tuple[Path, Engine]) -> Path:
    """A writable copy of the knowledge base for this test to edit."""
    return copy_kb(pristine[0], tmp_path / "kb")
