"""Fixtures for the Telegram layer: the fixture knowledge base (tests/fixtures/kb), settings, a bot driven by process_update.

The Telegram and admin tests run on a small knowledge base of their own, so editing the
shipped answers (content/*.md) never breaks or weakens them. Helpers: tests.helpers.telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.engine.core import Engine, build
from bot.engine.semantic import Vectors
from bot.settings import Settings
from tests.helpers import FIXTURE_KB, copy_kb
from tests.helpers.telegram import Harness, make_settings, started
from tests.telegram.factories import BOT_USER, TOKEN
from tests.telegram.fake_api import FakeBotAPI


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory, vectors: Vectors) -> tuple[Path, Engine]:
    """One copy of the fixture knowledge base and its engine (`kb_copy` copies it for a test to edit)."""
    root = copy_kb(FIXTURE_KB, tmp_path_factory.mktemp("fixture-kb"))
    return root, build(root, vectors)


@pytest.fixture(scope="session")
def engine(pristine: tuple[Path, Engine]) -> Engine:
    """The engine of the fixture knowledge base, built once per run."""
    return pristine[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def harness(engine: Engine, settings: Settings) -> AsyncIterator[Harness]:
    async with started(engine, settings) as bot:
        yield bot


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1 (a free port), stopped after the test."""
    async with FakeBotAPI(TOKEN, BOT_USER) as server:
        yield server
