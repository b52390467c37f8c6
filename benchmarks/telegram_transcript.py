"""A transcript of the real bot talking to the fake Bot API (tests/telegram/fake_api.py) on 127.0.0.1.

    .venv/bin/python -m benchmarks.telegram_transcript

Runs `faqbot run`'s application (polling, the shipped knowledge base) against the fake
server and prints what a user would see: /start, /help, an answer with its keyboard, a
"did you mean", a French question, and fast menu browsing (taps counted apart from
messages). Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bot.engine.core import EngineHolder
from bot.maintenance.vector_cache import cached_engine
from bot.settings import PROJECT_ROOT, Settings
from bot.telegram.app import build_application, serving
from tests.helpers.telegram import MemoryRecorder, make_settings
from tests.telegram.factories import BOT_USER, TOKEN, Factory
from tests.telegram.fake_api import FakeBotAPI

JSON = dict[str, Any]
USER = 111


def show(message: JSON) -> None:
    print("bot> " + message["text"].replace("\n", "\n     "))
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        print("     " + "  ".join(f"[{b['text']}]" for b in row))


def buttons(message: JSON) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


class User:
    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.make = Factory(start=1)

    async def send(self, update: JSON, shown: str) -> list[JSON]:
        print(f"\nyou> {shown}")
        before = len(self.api.messages_to(USER))
        self.api.push(update)
        await self.api.wait_for(lambda: len(self.api.messages_to(USER)) > before, within=8)
        await asyncio.sleep(0.2)  # a second message, if any
        replies = self.api.messages_to(USER)[before:]
        for reply in replies:
            show(reply)
        return replies

    async def say(self, text: str) -> JSON:
        update = self.make.command(text[1:]) if text.startswith("/") else self.make.message(text, user_id=USER)
        return (await self.send(update, text))[-1]

    async def tap(self, message: JSON, label: str) -> None:
        """Tap a button; print the pop-up text and what the message's keyboard became."""
        print(f"\nyou> (tap) [{label}]")
        before = len(self.api.of("answerCallbackQuery"))
        sent = len(self.api.messages_to(USER))
        self.api.push(self.make.callback(buttons(message)[label], message=message, user_id=USER))
        await self.api.wait_for(lambda: len(self.api.of("answerCallbackQuery")) > before, within=8)
        await asyncio.sleep(0.2)
        popup = self.api.of("answerCallbackQuery")[-1].params.get("text")
        if popup:
            print(f"     (pop-up) {popup}")
        for reply in self.api.messages_to(USER)[sent:]:
            show(reply)


async def main() -> None:
    api = FakeBotAPI(TOKEN, BOT_USER)
    await api.start()
    with tempfile.TemporaryDirectory() as data:
        base = make_settings(Path(data), faqbot_kb=PROJECT_ROOT, telegram_api_url=api.base_url, telegram_poll_timeout=1)
        settings: Settings = base
        engine = cached_engine(settings.faqbot_kb, settings.faqbot_cache_dir, settings.tuning())
        app = build_application(settings, EngineHolder(engine), MemoryRecorder())
        async with serving(app, settings):
            user = User(api)
            await user.say("/start")
            await user.say("/help")
            await user.say("/frobnicate")
            answer = await user.say("how much does a junior backend developer earn?")
            await user.tap(answer, "👍")
            print("     (keyboard now) " + " ".join(f"[{b}]" for b in buttons(api.message(USER, answer["message_id"]))))
            await user.say("what is git? and which database should I learn?")
            unsure = await user.say("How does the Node.js event loop work?")
            if "None of these" in buttons(unsure):
                await user.tap(unsure, "None of these")
            await user.say("combien gagne un développeur backend ?")
            await user.say("¿qué lenguaje debo aprender primero?")
            menu = await user.say("/topics")
            print("\n-- fast menu browsing: 12 taps in a row (taps are limited apart from messages)")
            themes = list(buttons(menu))
            for index in range(6):
                await user.tap(menu, themes[index % len(themes)])
                menu = api.message(USER, menu["message_id"])
                print("     (menu now) " + " ".join(f"[{b}]" for b in buttons(menu)))
                await user.tap(menu, "« All themes")
                menu = api.message(USER, menu["message_id"])
            await user.tap(menu, themes[-1])
            menu = api.message(USER, menu["message_id"])
            await user.tap(menu, next(iter(buttons(menu))))
        await api.stop()


if __name__ == "__main__":
    asyncio.run(main())
