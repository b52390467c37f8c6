"""Settings validated at start-up: the webhook secret and URL, the user hash salt."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.cli.main import main
from bot.maintenance.events import QuestionEvent
from bot.maintenance.storage import Store
from bot.settings import SALT_FILE, Settings


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, faqbot_data_dir=tmp_path / "data", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("secret", ["", "has space", "semi;colon", "é", "x" * 257])
def test_webhook_secret_follows_telegrams_rule(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        settings(tmp_path, mode="webhook", webhook_url="https://bot.example/hook", webhook_secret=secret)


def test_a_valid_webhook_needs_https(tmp_path: Path) -> None:
    good = settings(tmp_path, mode="webhook", webhook_url="https://bot.example/hook", webhook_secret="A-z_0" + "9" * 251)
    assert good.webhook_secret is not None
    with pytest.raises(ValidationError, match="https"):
        settings(tmp_path, mode="webhook", webhook_url="http://bot.example/hook", webhook_secret="secret")
    assert settings(tmp_path, mode="polling", webhook_url="http://ignored.example").mode == "polling"
    local = settings(  # a local Bot API server (telegram-bot-api --local) also delivers over http
        tmp_path, mode="webhook", webhook_url="http://bot:8443/hook", webhook_secret="s", telegram_api_url="http://bot-api:8081/bot"
    )
    assert local.webhook_url == "http://bot:8443/hook"


def test_without_a_salt_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = settings(tmp_path).hash_salt()
    path = tmp_path / "data" / SALT_FILE
    assert path.read_text(encoding="utf-8").strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings(tmp_path).hash_salt() == first  # a restart keeps it
    assert settings(tmp_path / "elsewhere").hash_salt() != first
    assert settings(tmp_path, user_hash_salt="mine").hash_salt() == "mine"
    assert settings(tmp_path).salt_warning() is None
    warning = settings(tmp_path, user_hash_salt="faqbot").salt_warning()
    assert warning is not None
    assert "public" in warning
    with pytest.raises(ValidationError, match="USER_HASH_SALT"):
        settings(tmp_path, user_hash_salt=" ")


def test_forget_with_another_salt_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.sqlite3"

    async def fill() -> None:
        async with Store(db, "the-salt") as store:
            await store.question(QuestionEvent(1.0, 42, "private", "hi", "hi", None, 0.1, True))

    asyncio.run(fill())
    monkeypatch.setenv("USER_HASH_SALT", "another-salt")
    assert main(["forget", "42", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "USER_HASH_SALT" in err
    assert "Deleted" not in err
    monkeypatch.setenv("USER_HASH_SALT", "the-salt")
    assert main(["forget", "42", "--db", str(db)]) == 0
    assert "Deleted 1 record(s)" in capsys.readouterr().out
