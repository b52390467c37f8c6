"""Admin commands (/stats, /reload, /report), /forgetme and hot reload in the Telegram layer.

Driven through Application.process_update with the recording request; the conversation
log is a real SQLite Store in tmp_path, and reloads read a copy of intents/ and content/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.error import Forbidden

from bot.engine.core import Engine, EngineHolder
from bot.engine.render import plain
from bot.maintenance.storage import Store
from bot.telegram.app import build_application
from bot.telegram.handlers import UpdateEngine
from bot.telegram.rendering import fill
from tests.helpers.telegram import Harness, MemoryRecorder, make_settings, started, watcher_started, write_atomically
from tests.telegram.factories import BOT_USERNAME, GROUP_ID, group_chat
from tests.telegram.recording import Call, RecordingRequest

JSON = dict[str, Any]
ADMIN = 7001
OTHER_ADMIN = 7002
USER = 111
SALT = "test-salt"
ADMIN_COMMANDS = ("stats", "reload", "report")


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def kb(kb_copy: Path) -> Path:
    """A copy of the knowledge base for this test to edit; the bot reloads from it."""
    return kb_copy


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "log.sqlite3", SALT, flush_interval=0.05) as opened:
        yield opened


@pytest.fixture
async def bot(tmp_path: Path, kb: Path, pristine: tuple[Path, Engine], store: Store) -> AsyncIterator[Harness]:
    """The bot with two admins, a SQLite conversation log and the editable knowledge base."""
    settings = make_settings(tmp_path, admin_ids=[ADMIN, OTHER_ADMIN], faqbot_kb=kb)
    async with started(pristine[1], settings, store) as harness:
        yield harness


def sends(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("sendMessage", "sendDocument")]


def texts(calls: list[Call]) -> list[str]:
    return [c.params["text"] for c in calls if c.method == "sendMessage"]


def replies(calls: list[Call]) -> list[tuple[str, JSON]]:
    """What a user sees: each reply's method and parameters."""
    return [(c.method, c.params) for c in sends(calls)]


async def ask(bot: Harness, text: str, user_id: int = USER) -> None:
    await bot.send(bot.make.message(text, user_id=user_id))


# --- who may use them ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_an_admin_command_from_anyone_else_looks_like_an_unknown_command(bot: Harness, command: str) -> None:
    engine = bot.holder.get()
    unknown = await bot.send(bot.make.command("frobnicate", user_id=USER))
    admin_only = await bot.send(bot.make.command(command, user_id=USER))
    assert replies(admin_only) == replies(unknown)
    assert len(sends(unknown)) == 1
    assert bot.holder.get() is engine  # /reload did nothing

    # in a group an unknown command gets no reply at all, and neither does an admin command
    for to in (None, BOT_USERNAME):
        assert await bot.send(bot.make.command("frobnicate", to=to, user_id=USER, chat=group_chat())) == []
        assert await bot.send(bot.make.command(command, to=to, user_id=USER, chat=group_chat())) == []


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_admin_commands_answer_admins_in_private_chats_only(bot: Harness, command: str) -> None:
    await ask(bot, "how do I bake sourdough bread")  # something for /report to list
    unknown = texts(await bot.send(bot.make.command("frobnicate", user_id=ADMIN)))
    calls = await bot.send(bot.make.command(command, user_id=OTHER_ADMIN))
    private = next(c for c in calls if c.method == "sendMessage")
    assert [private.params["text"]] != unknown
    assert "entities" not in private.params  # plain text: user-written questions are never parsed as Markdown
    # in a group, an admin's command is not answered: /report would post every user's questions there
    engine = bot.holder.get()
    for to in (None, BOT_USERNAME):
        assert await bot.send(bot.make.command(command, to=to, user_id=ADMIN, chat=group_chat())) == []
    assert bot.holder.get() is engine


async def test_the_command_menu_does_not_list_admin_commands(bot: Harness) -> None:
    await bot.app.post_init(bot.app)  # type: ignore[misc]
    try:
        listed = {c["command"] for c in bot.request.of("setMyCommands")[-1].params["commands"]}
    finally:
        await bot.app.post_stop(bot.app)  # type: ignore[misc]
    assert "forgetme" in listed
    assert listed.isdisjoint(ADMIN_COMMANDS)


# --- /stats and /report ----------------------------------------------------------------------


async def test_stats_counts_the_recorded_questions(bot: Harness) -> None:
    for question in ("how much does a junior backend dev make?", "what is git?", "how do I bake sourdough bread"):
        await ask(bot, question)
    await ask(bot, "what does a backend developer earn?", user_id=222)
    [text] = texts(await bot.send(bot.make.command("stats", user_id=ADMIN)))
    assert "Questions today: 4; last 7 days: 4." in text
    assert "Fallback rate (7 days): 25% (1)." in text
    assert f"{bot.holder.get().kb.intents['salary'].title} (2)" in text
    assert "sourdough" in text  # the top unanswered group


async def test_report_sends_the_unanswered_groups_as_csv(bot: Harness) -> None:
    calls = await bot.send(bot.make.command("report", user_id=ADMIN))
    assert [c.method for c in sends(calls)] == ["sendMessage"]  # nothing unanswered: no document
    assert "Nothing to do" in texts(calls)[0]

    for question in ("how do I bake sourdough bread", "how to bake sourdough bread at home", "what is sql used for?"):
        await ask(bot, question)
    calls = await bot.send(bot.make.command("report", user_id=ADMIN))
    message, document = sends(calls)
    assert (message.method, document.method) == ("sendMessage", "sendDocument")
    assert "2×" in message.params["text"]
    assert "sourdough" in message.params["text"]
    assert document.params["chat_id"] == ADMIN
    assert "1 groups" in document.params["caption"]
    [(filename, content)] = document.files.values()
    assert filename.startswith("faqbot-report-")
    assert filename.endswith(".csv")
    csv = content.decode("utf-8")
    assert "sourdough" in csv
    groups = [line for line in csv.splitlines() if line.startswith("group,")]
    assert len(groups) == 1
    assert "sql" not in groups[0].lower()  # well-answered questions are not on the to-do list


async def test_without_a_conversation_log_admins_are_told_so(engine: Engine, tmp_path: Path) -> None:
    request = RecordingRequest()
    app = build_application(
        make_settings(tmp_path, admin_ids=[ADMIN]), EngineHolder(engine), None, request=request, updates_request=RecordingRequest()
    )
    await app.initialize()
    bot = Harness(app, request, None, EngineHolder(engine))
    try:
        for command in ("stats", "report"):
            [text] = texts(await bot.send(bot.make.command(command, user_id=ADMIN)))
            assert text == plain(engine.kb.messages["admin_no_log"])
    finally:
        await app.shutdown()


async def test_stats_read_any_recorder_through_the_protocol(engine: Engine, tmp_path: Path) -> None:
    async with started(engine, make_settings(tmp_path, admin_ids=[ADMIN])) as bot:  # the in-memory recorder, not the SQLite log
        await bot.send(bot.make.message("how much does a junior backend dev make?"))
        [text] = texts(await bot.send(bot.make.command("stats", user_id=ADMIN)))
        assert "last 7 days: 1." in text


# --- /forgetme -------------------------------------------------------------------------------


async def test_forgetme_deletes_the_users_rows_and_context_and_confirms(bot: Harness, store: Store) -> None:
    engine = bot.holder.get()
    await ask(bot, "how much does a junior backend dev make?")
    await bot.send(bot.make.mention("how much does a junior backend dev make?", user_id=USER))  # the same user in a group
    await ask(bot, "what is git?", user_id=222)
    assert len([q for q in await store.questions(0) if q.user_hash == store.hash_user(USER)]) == 2

    [text] = texts(await bot.send(bot.make.command("forgetme", user_id=USER)))

    assert text == plain(fill(engine.kb.messages["forgetme_done"], {"count": "2"}))
    left = await store.questions(0)
    assert [q.user_hash for q in left] == [store.hash_user(222)]  # only the other user's question is left
    # the contexts are gone too, in both conversations: a follow-up has nothing to follow any more
    [follow_up] = texts(await bot.send(bot.make.message("and for seniors?", user_id=USER)))
    assert "SENIOR-PAY" not in follow_up
    [in_group] = texts(await bot.send(bot.make.mention("and for seniors?", user_id=USER)))
    assert "SENIOR-PAY" not in in_group


async def test_forgetme_in_a_group_forgets_the_private_conversation_too(bot: Harness, store: Store) -> None:
    await ask(bot, "how much does a junior backend dev make?")
    calls = await bot.send(bot.make.command("forgetme", to=BOT_USERNAME, user_id=USER, chat=group_chat()))
    [reply] = [c for c in calls if c.method == "sendMessage"]
    assert reply.params["chat_id"] == GROUP_ID
    assert await store.questions(0) == []
    [follow_up] = texts(await bot.send(bot.make.message("and for seniors?", user_id=USER)))
    assert "SENIOR-PAY" not in follow_up


async def test_forgetme_without_a_conversation_log_still_forgets_the_context(harness: Harness, engine: Engine) -> None:
    await harness.send(harness.make.message("how much does a junior backend dev make?"))
    [text] = texts(await harness.send(harness.make.command("forgetme")))
    assert text == plain(fill(engine.kb.messages["forgetme_done"], {"count": "1"}))  # the in-memory recorder's one row
    assert harness.recorder.asked == []
    [follow_up] = texts(await harness.send(harness.make.message("and for seniors?")))
    assert "SENIOR-PAY" not in follow_up


# --- /reload and reload problems -------------------------------------------------------------


async def test_reload_with_a_valid_edit_swaps_the_engine(bot: Harness, kb: Path) -> None:
    before = bot.holder.get()
    (kb / "content" / "git.md").write_text("Git, **freshly** reloaded.\n", encoding="utf-8")

    [text] = texts(await bot.send(bot.make.command("reload", user_id=ADMIN)))

    assert text.startswith("Knowledge base reloaded (/reload)")
    assert f"{len(before.kb.intents)} intents" in text
    assert bot.holder.get() is not before
    [answer] = texts(await bot.send(bot.make.message("what is git?")))
    assert answer.startswith("Git, freshly reloaded.")


async def test_reload_with_a_broken_edit_keeps_the_old_engine_and_tells_the_admins(bot: Harness, kb: Path) -> None:
    before = bot.holder.get()
    (kb / "content" / "git.md").unlink()
    salary = kb / "intents" / "salary.yaml"
    salary.write_text(salary.read_text(encoding="utf-8").replace("follow_ups: [", "follow_ups: [no_such_intent, "), encoding="utf-8")

    calls = await bot.send(bot.make.command("reload", user_id=ADMIN))

    assert bot.holder.get() is before
    by_chat = {c.params["chat_id"]: c.params["text"] for c in calls if c.method == "sendMessage"}
    assert set(by_chat) == {ADMIN, OTHER_ADMIN}  # the reply, and one message to the other admin; nobody else
    for text in by_chat.values():
        assert text.startswith("Reload refused (/reload): 2 problem(s)")
        assert "git.md" in text
        assert "no_such_intent" in text
    [answer] = texts(await bot.send(bot.make.message("what is git?")))
    assert answer.startswith(before.kb.intents["git"].answer.split("\n")[0][:20])  # still answered from the old engine


async def test_problems_of_a_sighup_reload_go_to_every_admin_and_send_failures_are_only_logged(
    bot: Harness, kb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = bot.holder.get()
    (kb / "content" / "git.md").write_text("", encoding="utf-8")  # an empty answer is an error
    bot.request.fail("sendMessage", Forbidden("Forbidden: bot was blocked by the user"))  # the first admin blocked the bot
    await bot.app.post_init(bot.app)  # type: ignore[misc]  # installs the SIGHUP handler
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not [c for c in bot.request.of("sendMessage") if c.params["chat_id"] == OTHER_ADMIN]:
            assert time.monotonic() < deadline, "no admin was told"
            await asyncio.sleep(0.02)
    finally:
        await bot.app.post_stop(bot.app)  # type: ignore[misc]
    assert bot.holder.get() is before
    [message] = [c for c in bot.request.of("sendMessage") if c.params["chat_id"] == OTHER_ADMIN]
    assert message.params["text"].startswith("Reload refused (SIGHUP): 1 problem(s)")
    assert "git.md" in message.params["text"]
    assert "entities" not in message.params
    assert "could not send the reload problems to an admin: Forbidden" in caplog.text


async def test_reload_problems_are_capped_at_twenty_lines(bot: Harness, kb: Path) -> None:
    for path in (kb / "content").glob("*.md"):
        path.unlink()
    for n in range(10):
        (kb / "content" / f"ghost{n}.md").write_text("An answer for no intent.\n", encoding="utf-8")
    calls = await bot.send(bot.make.command("reload", user_id=ADMIN))
    text = next(c.params["text"] for c in calls if c.params.get("chat_id") == OTHER_ADMIN)
    lines = text.splitlines()
    problems = int(lines[0].removeprefix("Reload refused (/reload): ").split()[0])
    assert problems > 20
    assert len(lines) == 1 + 20 + 1
    assert lines[-1].startswith(f"… and {problems - 20} more")


# --- watching the folders --------------------------------------------------------------------


async def test_the_watcher_runs_from_post_init_to_post_stop_only_when_enabled(engine: Engine, tmp_path: Path, kb: Path) -> None:
    def watchers() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t.get_name() == "faqbot-reload-watch" and not t.done()]

    for enabled in (True, False):
        settings = make_settings(tmp_path, faqbot_kb=kb, faqbot_reload_watch=enabled)
        async with started(engine, settings) as bot:
            await bot.app.post_init(bot.app)  # type: ignore[misc]
            assert len(watchers()) == (1 if enabled else 0)
            await bot.app.post_stop(bot.app)  # type: ignore[misc]
            assert watchers() == []
            await bot.app.post_shutdown(bot.app)  # type: ignore[misc]  # stopping twice is harmless


async def test_a_watched_edit_is_picked_up(tmp_path: Path, kb: Path, pristine: tuple[Path, Engine]) -> None:
    settings = make_settings(tmp_path, faqbot_kb=kb, faqbot_reload_watch=True)
    async with started(pristine[1], settings) as bot:
        before = bot.holder.get()
        await bot.app.post_init(bot.app)  # type: ignore[misc]
        try:
            await watcher_started(bot.app)
            write_atomically(kb / "content" / "git.md", "Git, watched.\n")
            deadline = time.monotonic() + 10
            while bot.holder.get() is before:
                assert time.monotonic() < deadline, "the edit was not picked up"
                await asyncio.sleep(0.05)
        finally:
            await bot.app.post_stop(bot.app)  # type: ignore[misc]
        [answer] = texts(await bot.send(bot.make.message("what is git?")))
        assert answer.startswith("Git, watched.")


# --- one engine per update -------------------------------------------------------------------


class CountingHolder(EngineHolder):
    """Counts reads; `swap_after_read` puts another engine in service right after the next read (a reload mid-update)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.reads = 0
        self.swap_after_read: Engine | None = None

    def get(self) -> Engine:
        self.reads += 1
        engine = super().get()
        if self.swap_after_read is not None:
            self.swap(self.swap_after_read)
            self.swap_after_read = None
        return engine


async def test_each_update_reads_the_engine_once_even_when_a_reload_swaps_it_meanwhile(engine: Engine, tmp_path: Path) -> None:
    kb = engine.kb
    salary = dataclasses.replace(kb.intents["salary"], answer="Swapped.")
    swapped = Engine(dataclasses.replace(kb, intents={**kb.intents, "salary": salary}), engine.matcher)
    holder = CountingHolder(engine)
    request, recorder = RecordingRequest(), MemoryRecorder()
    app = build_application(make_settings(tmp_path), holder, recorder, request=request, updates_request=RecordingRequest())
    await app.initialize()
    bot = Harness(app, request, recorder, holder)
    try:
        updates = [
            bot.make.message("how much does a junior backend dev make?"),
            bot.make.command("start", "salary"),
            bot.make.command("topics"),
            bot.make.inline_query("salary"),
            bot.make.command("forgetme"),
        ]
        for update in updates:
            holder.swap(engine)
            holder.reads, holder.swap_after_read = 0, swapped
            calls = await bot.send(update)
            assert holder.reads == 1, update  # read once...
            assert holder.get() is swapped  # ...and a reload swapped the engine right after that read...
            for call in calls:  # ...yet the update was answered by the engine it started with
                assert "Swapped." not in str(call.params)
        assert [e.intent for e in recorder.asked] == []  # /forgetme
    finally:
        await app.shutdown()


def test_update_engine_outside_an_update_is_the_holders(engine: Engine, pristine: tuple[Path, Engine]) -> None:
    holder = EngineHolder(engine)
    current = UpdateEngine(holder)
    assert current() is engine
    holder.swap(pristine[1])
    assert current() is pristine[1]


async def test_questions_asked_during_a_reload_are_all_answered_by_a_complete_engine(bot: Harness, kb: Path) -> None:
    [old] = texts(await bot.send(bot.make.message("what is git?", user_id=5000)))
    (kb / "content" / "git.md").write_text("Git, version two.\n", encoding="utf-8")
    reload = asyncio.create_task(bot.send(bot.make.command("reload", user_id=ADMIN)))
    asked = 0
    while not reload.done():
        asked += 1
        await bot.send(bot.make.message("what is git?", user_id=5000 + asked))
        await asyncio.sleep(0.002)
    await reload
    answers = [c.params["text"] for c in bot.request.of("sendMessage") if 5001 <= c.params["chat_id"] <= 5000 + asked]
    assert len(answers) == asked
    [reloaded] = [c.params["text"] for c in bot.request.of("sendMessage") if c.params["chat_id"] == ADMIN]
    assert reloaded.startswith("Knowledge base reloaded")
    [new] = texts(await bot.send(bot.make.message("what is git?", user_id=4999)))
    assert new.startswith("Git, version two.")
    assert len(answers) >= 3
    assert set(answers) <= {old, new}  # each from the old or the new knowledge base, never a mix
