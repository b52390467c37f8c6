"""Fixtures for the engine tests: a dialogue on the shipped engine (built once, in tests/conftest.py) and a clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue


@pytest.fixture
def dialogue(engine: Engine) -> Dialogue:
    return Dialogue(lambda: engine)


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
