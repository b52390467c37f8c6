"""Fixtures for the engine tests: the shipped knowledge base, built once, and copies to break."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.engine.core import Engine, build
from bot.engine.dialogue import Dialogue, DialogueSettings

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return build(PROJECT)


@pytest.fixture
def dialogue(engine: Engine) -> Dialogue:
    return Dialogue(lambda: engine, DialogueSettings())


@pytest.fixture
def clock() -> Callable[[], float]:
    """A controllable clock: call `clock.advance(seconds)` to move time on."""

    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

        def advance(self, seconds: float) -> None:
            self.now += seconds

    return Clock()
