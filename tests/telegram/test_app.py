"""The composition root (`bot.telegram.app`): what `faqbot run` builds, and what building leaves alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.engine.core import Engine, EngineHolder
from bot.settings import Settings
from bot.telegram.app import CHAT_HINT, build_application, run
from tests.telegram.factories import TOKEN


def settings(tmp_path: Path, **values: object) -> Settings:
    fields: dict[str, object] = {"faqbot_data_dir": tmp_path / "data", "faqbot_reload_watch": False} | values
    return Settings.model_validate(fields)


async def test_building_the_application_leaves_the_environment_alone(engine: Engine, tmp_path: Path) -> None:
    before = dict(os.environ)
    app = build_application(settings(tmp_path, telegram_bot_token=TOKEN), EngineHolder(engine))
    assert dict(os.environ) == before
    assert app.bot.token == TOKEN


@pytest.mark.parametrize(("token", "reason"), [(None, "is not set"), ("not-a-token", "does not look like a bot token")])
def test_run_checks_the_token_before_loading_anything(
    tmp_path: Path, token: str | None, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = settings(tmp_path, telegram_bot_token=token, faqbot_kb=tmp_path / "no-such-kb")  # never loaded
    assert run(broken) == 2
    err = capsys.readouterr().err
    assert reason in err
    assert CHAT_HINT in err
    assert not (tmp_path / "data").exists()  # no conversation log was created
