"""End to end: the real application polls a fake Bot API server on 127.0.0.1, with faults injected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.engine.core import Engine, EngineHolder
from bot.settings import Settings
from bot.telegram import sending
from bot.telegram.app import AnyApplication, build_application, serving
from bot.telegram.heartbeat import heartbeat_path, is_fresh
from tests.helpers import FIXTURE_KB, copy_kb
from tests.helpers.telegram import MemoryRecorder, make_settings, watcher_started, write_atomically
from tests.telegram.factories import BOT_USERNAME, GROUP_ID, Factory, group_chat
from tests.telegram.fake_api import FakeBotAPI, Fault

JSON = dict[str, Any]
SETTLE = 0.3


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "BACKOFF", 0.1)


def e2e_settings(tmp_path: Path, api: FakeBotAPI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_api_url": api.base_url,
        "telegram_file_url": f"http://127.0.0.1:{api.port}/file/bot",
        "telegram_timeout": 1.0,
        "telegram_poll_timeout": 1,
    }
    return make_settings(tmp_path, **(values | overrides))


@asynccontextmanager
async def polling(settings: Settings, engine: Engine, recorder: MemoryRecorder, **options: Any) -> AsyncIterator[AnyApplication]:
    """What `faqbot run` does, minus signal handling and the blocking loop (`options`: more for build_application)."""
    app = build_application(settings, EngineHolder(engine), recorder, heartbeat_interval=0.05, **options)
    async with serving(app, settings):
        yield app


def buttons(message: JSON) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


class Script:
    """Push an update, wait for the bot's reply, return it."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.make = Factory(start=1)

    async def say(self, update: JSON, chat_id: int, replies: int = 1) -> list[JSON]:
        before = len(self.api.messages_to(chat_id))
        self.api.push(update)
        await self.api.wait_for(lambda: len(self.api.messages_to(chat_id)) >= before + replies, within=8)
        return self.api.messages_to(chat_id)[before:]

    async def ask(self, text: str, user_id: int = 111) -> JSON:
        [reply] = await self.say(self.make.message(text, user_id=user_id), user_id)
        return reply

    async def tap(self, message: JSON, label: str, user_id: int = 111) -> None:
        data = buttons(message)[label]
        self.api.push(self.make.callback(data, message=message, user_id=user_id))


async def test_conversation_script(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api)
    recorder = MemoryRecorder()
    script = Script(fake_api)
    async with polling(settings, engine, recorder):
        assert fake_api.of("setMyCommands")
        assert fake_api.of("deleteWebhook")

        [start] = await script.say(script.make.command("start"), 111)
        assert "backend developer" in start["text"]
        assert list(buttons(start)) == [g.title for g in engine.kb.topics]

        junior = await script.ask("how much does a junior backend dev make?")
        assert "JUNIOR-PAY" in junior["text"]  # tests/fixtures/kb/content/salary.junior.md
        assert {"👍", "👎", "Career path"} <= set(buttons(junior))
        senior = await script.ask("and for seniors?")
        assert "SENIOR-PAY" in senior["text"]
        java = await script.ask("which frameworks should I learn for java?")
        assert "JAVA-FRAMEWORKS" in java["text"]
        python = await script.ask("and for python?")
        assert "PYTHON-FRAMEWORKS" in python["text"]

        before = len(fake_api.messages_to(111))
        await script.tap(junior, "Career path")
        await fake_api.wait_for(lambda: len(fake_api.messages_to(111)) == before + 1)
        assert "lead" in fake_api.messages_to(111)[-1]["text"].lower()

        acks = len(fake_api.of("answerCallbackQuery"))
        await script.tap(junior, "👍")
        await fake_api.wait_for(lambda: bool(fake_api.of("editMessageReplyMarkup")))
        assert len(fake_api.of("answerCallbackQuery")) == acks + 1
        assert fake_api.of("answerCallbackQuery")[-1].params["text"] == engine.kb.messages["feedback_thanks"]
        assert "👍" not in buttons(fake_api.message(111, junior["message_id"]))
        assert "Career path" in buttons(fake_api.message(111, junior["message_id"]))
        assert [(f.intent, f.helpful) for f in recorder.feedbacks] == [("salary", True)]

        [note] = await script.say(script.make.sticker(), 111)
        assert "text" in note["text"]

        fake_api.push(script.make.inline_query("salary"))
        await fake_api.wait_for(lambda: bool(fake_api.of("answerInlineQuery")))
        results = fake_api.of("answerInlineQuery")[-1].params["results"]
        assert results[0]["id"].startswith("salary")

        fake_api.push(script.make.message("how much does a backend dev earn?", chat=group_chat(), user_id=333))
        [group_answer] = await script.say(script.make.mention("what is git?", user_id=333), GROUP_ID)
        assert "Git" in group_answer["text"]
        assert group_answer["reply_to_message_id"]
        [menu] = await script.say(script.make.command("topics", to=BOT_USERNAME, chat=group_chat(), user_id=333), GROUP_ID)
        assert list(buttons(menu)) == [g.title for g in engine.kb.topics]

        await asyncio.sleep(SETTLE)
        assert len(fake_api.messages_to(GROUP_ID)) == 2  # the message not meant for the bot was ignored
        assert len(fake_api.messages_to(111)) == 7
        assert [q.intent for q in recorder.asked if q.chat_type == "private"][:4] == ["salary", "salary", "frameworks", "frameworks"]
        assert is_fresh(heartbeat_path(settings.faqbot_data_dir))
    assert recorder.closed


async def ask_many(api: FakeBotAPI, questions: dict[int, str]) -> None:
    make = Factory(start=500)
    for user_id, text in questions.items():
        api.push(make.message(text, user_id=user_id))
    await api.wait_for(lambda: all(api.messages_to(u) for u in questions), within=15)
    await asyncio.sleep(SETTLE)


QUESTIONS = {
    201: "how much does a junior backend dev make?",
    202: "what is git?",
    203: "which frameworks should I learn for java?",
    204: "what is sql used for?",
    205: "how much does a senior backend dev make?",
    206: "what is git?",
}
EXPECTED = {201: "JUNIOR-PAY", 202: "Git", 203: "JAVA-FRAMEWORKS", 204: "SQL", 205: "SENIOR-PAY", 206: "Git"}  # tests/fixtures/kb


async def test_send_faults_still_give_exactly_one_answer_each(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api)
    recorder = MemoryRecorder()
    async with polling(settings, engine, recorder):
        fake_api.inject(
            "sendMessage",
            Fault.status_code(429, retry_after=1),
            Fault.status_code(500),
            Fault.slow(1.5),
            Fault.drop(),
            Fault.status_code(502),
        )
        await ask_many(fake_api, QUESTIONS)
        assert fake_api.pending_faults("sendMessage") == 0
        for user_id, expected in EXPECTED.items():
            [answer] = fake_api.messages_to(user_id)
            assert expected in answer["text"]
        assert len(recorder.asked) == len(QUESTIONS)

        # A button tap whose acknowledgement fails first is still acknowledged and answered once.
        fake_api.inject("answerCallbackQuery", Fault.status_code(500))
        first = fake_api.messages_to(201)[0]
        fake_api.push(Factory(start=900).callback(buttons(first)["Career path"], message=first, user_id=201))
        await fake_api.wait_for(lambda: len(fake_api.messages_to(201)) == 2 and bool(fake_api.of("answerCallbackQuery")))
        await asyncio.sleep(SETTLE)
        assert len(fake_api.messages_to(201)) == 2
        assert len(fake_api.of("answerCallbackQuery")) == 1


async def test_polling_faults_lose_no_update_and_duplicate_none(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api, telegram_timeout=0.5)
    recorder = MemoryRecorder()
    # The questions wait on the server while the first polls fail: 500, a dropped connection, a timeout.
    fake_api.inject("getUpdates", Fault.status_code(500), Fault.drop(), Fault.slow(1.7))
    async with polling(settings, engine, recorder):
        await ask_many(fake_api, QUESTIONS)
        assert fake_api.attempts["getUpdates"] >= 4
        assert fake_api.pending_faults("getUpdates") == 0
        for user_id, expected in EXPECTED.items():
            [answer] = fake_api.messages_to(user_id)
            assert expected in answer["text"]
        assert len(recorder.asked) == len(QUESTIONS)


async def test_a_slow_user_does_not_hold_up_the_others(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api)
    async with polling(settings, engine, MemoryRecorder()):
        fake_api.inject("sendMessage", Fault.slow(1.5))  # the first reply (user 301's) times out and is retried
        make = Factory(start=700)
        fake_api.push(make.message("what is git?", user_id=301))
        await fake_api.wait_for(lambda: fake_api.attempts.get("sendMessage", 0) >= 1)
        fake_api.push(make.message("what is sql used for?", user_id=302))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(302)), within=1.0)  # before 301's retry
        assert not fake_api.messages_to(301)
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(301)), within=5)


async def test_flood_from_one_user_gets_one_slow_down(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api, user_rate=3)
    async with polling(settings, engine, MemoryRecorder()):
        make = Factory(start=800)
        for _ in range(10):
            fake_api.push(make.message("what is git?", user_id=401))
        fake_api.push(make.message("what is git?", user_id=402))
        await fake_api.wait_for(lambda: len(fake_api.messages_to(401)) >= 4 and bool(fake_api.messages_to(402)))
        await asyncio.sleep(SETTLE)
        texts = [m["text"] for m in fake_api.messages_to(401)]
        assert len(texts) == 4
        assert "slow down" in texts[-1]
        assert len(fake_api.messages_to(402)) == 1


async def test_private_chat_update_ids_survive_restart_without_replay(fake_api: FakeBotAPI, engine: Engine, tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path, fake_api)
    script = Script(fake_api)
    async with polling(settings, engine, MemoryRecorder()):
        await script.ask("what is git?", user_id=501)
    async with polling(settings, engine, MemoryRecorder()):
        await script.ask("what is sql used for?", user_id=502)
        await asyncio.sleep(SETTLE)
    assert len(fake_api.messages_to(501)) == 1  # the first update was confirmed, not answered again


async def test_an_edit_to_the_watched_folders_is_picked_up_and_a_broken_one_reported(
    fake_api: FakeBotAPI, engine: Engine, tmp_path: Path
) -> None:
    kb = copy_kb(FIXTURE_KB, tmp_path / "kb")
    admin = 7001
    settings = e2e_settings(tmp_path, fake_api, faqbot_kb=kb, faqbot_reload_watch=True, admin_ids=[admin])
    script = Script(fake_api)
    git = kb / "content" / "git.md"
    async with polling(settings, engine, MemoryRecorder(), check_confusions=False) as app:
        old = (await script.ask("what is git?"))["text"]
        await watcher_started(app)
        deadline = time.monotonic() + 10
        answer = old
        write_atomically(git, "Git, watched end to end.\n")
        while not answer.startswith("Git, watched end to end."):
            assert time.monotonic() < deadline, "the edit was not picked up"
            await asyncio.sleep(0.2)
            answer = (await script.ask("what is git?"))["text"]

        git.write_text("", encoding="utf-8")  # an empty answer is an error: refused, and the admin is told
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(admin)), within=10)
        notice = fake_api.messages_to(admin)[0]["text"]
        assert notice.startswith("Reload refused (watch)")
        assert "git.md" in notice
        assert (await script.ask("what is git?"))["text"].startswith("Git, watched end to end.")
