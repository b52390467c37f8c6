"""Hot reload: valid edits are picked up, broken ones keep the old engine and are reported, no question is lost meanwhile."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
import yaml

from bot.dialogue import Dialogue
from bot.engine import Engine, EngineHolder, build
from bot.reload import Reloader, ReloadResult

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """The project's own intents/ and content/, copied so the test can edit them."""
    root = tmp_path / "kb"
    for folder in ("intents", "content"):
        shutil.copytree(PROJECT / folder, root / folder)
    return root


def first_example(root: Path, intent: str) -> str:
    data = yaml.safe_load((root / "intents" / f"{intent}.yaml").read_text(encoding="utf-8"))
    return str(data["examples"][0])


def add_example(root: Path, intent: str, example: str) -> None:
    path = root / "intents" / f"{intent}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["examples"].insert(0, example)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


class Errors:
    """An async on_error callback that remembers what it was told."""

    def __init__(self) -> None:
        self.results: list[ReloadResult] = []

    async def __call__(self, result: ReloadResult) -> None:
        self.results.append(result)


async def test_a_valid_edit_is_picked_up(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))
    before = holder.get()
    errors = Errors()
    reloader = Reloader(kb_copy, holder, errors, check_confusions=False)
    question = "what does a lighthouse keeper eat for breakfast"
    assert before.matcher.match(question).intent != "salary"

    add_example(kb_copy, "salary", question)
    (kb_copy / "content" / "salary.md").write_text("Brand new salary answer.\n", encoding="utf-8")
    result = await reloader.reload("test")

    assert result.ok, result.summary()
    assert (result.trigger, result.problems, errors.results) == ("test", (), [])
    assert result.duration > 0
    assert result.intents == len(before.kb.intents)
    after = holder.get()
    assert after is not before
    assert after.kb.intents["salary"].answer == "Brand new salary answer."
    assert before.kb.intents["salary"].answer != "Brand new salary answer."
    assert after.matcher.match(question).intent == "salary"
    assert reloader.last == result


@pytest.mark.parametrize("breakage", ["yaml syntax", "missing answer", "unknown follow-up"])
async def test_an_invalid_edit_keeps_the_old_engine_and_reports_the_errors(kb_copy: Path, breakage: str) -> None:
    holder = EngineHolder(build(kb_copy))
    before = holder.get()
    errors = Errors()
    reloader = Reloader(kb_copy, holder, errors, check_confusions=False)
    salary = kb_copy / "intents" / "salary.yaml"
    if breakage == "yaml syntax":
        salary.write_text(salary.read_text(encoding="utf-8") + "examples: [unclosed\n", encoding="utf-8")
        expected = "salary.yaml"
    elif breakage == "missing answer":
        (kb_copy / "content" / "git.md").unlink()
        expected = "git.md"
    else:
        salary.write_text(salary.read_text(encoding="utf-8").replace("follow_ups: [", "follow_ups: [no_such_intent, "), encoding="utf-8")
        expected = "no_such_intent"

    result = await reloader.reload("test")

    assert not result.ok
    assert holder.get() is before
    assert any(expected in str(p) for p in result.problems), result.problems
    assert errors.results == [result]
    assert result.intents == len(before.kb.intents)
    assert "Reload refused" in result.summary()
    assert expected in result.summary()
    # the bot still answers from the previous knowledge base
    assert Dialogue(holder.get).respond(first_example(kb_copy, "git")).intent == "git"


async def test_a_failing_error_callback_does_not_break_the_reload(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))

    def explode(result: ReloadResult) -> None:
        raise RuntimeError("admins unreachable")

    (kb_copy / "content" / "git.md").unlink()
    result = await Reloader(kb_copy, holder, explode, check_confusions=False).reload()
    assert not result.ok


async def test_questions_asked_during_reloads_are_all_answered_by_a_complete_engine(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))
    reloader = Reloader(kb_copy, holder, check_confusions=False)
    dialogue = Dialogue(holder.get)
    question = first_example(kb_copy, "salary")
    answers = {holder.get().kb.intents["salary"].answer}
    salary_md = kb_copy / "content" / "salary.md"
    stop = asyncio.Event()
    replies = 0
    engines: set[int] = set()

    async def ask() -> None:
        nonlocal replies
        while not stop.is_set():
            engine: Engine = holder.get()
            engines.add(id(engine))
            assert set(engine.kb.intents) >= {"salary", "git"}  # a complete knowledge base
            reply = dialogue.respond(question, "user-1")
            assert reply.intent == "salary"
            assert reply.text.split("\n\n")[0] in answers or reply.text in answers
            replies += 1
            await asyncio.sleep(0.002)

    askers = [asyncio.create_task(ask()) for _ in range(2)]
    results: list[ReloadResult] = []
    for version in range(3):
        text = f"Salary answer, version {version}."
        answers.add(text)
        salary_md.write_text(text + "\n", encoding="utf-8")
        results.append(await reloader.reload(f"edit {version}"))
    broken = kb_copy / "intents" / "git.yaml"
    broken.write_text("version: 1\nid: [broken\n", encoding="utf-8")
    results.append(await reloader.reload("broken"))
    stop.set()
    await asyncio.gather(*askers)  # re-raises any failed assertion or exception

    assert [r.ok for r in results] == [True, True, True, False]
    assert holder.get().kb.intents["salary"].answer == "Salary answer, version 2."
    assert replies > 20
    assert len(engines) >= 3  # the askers really saw several engines come and go


async def test_concurrent_reload_requests_run_one_after_the_other(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))
    reloader = Reloader(kb_copy, holder, check_confusions=False)
    results = await asyncio.gather(*(reloader.reload(str(i)) for i in range(3)))
    assert all(r.ok for r in results)
    assert reloader.last is not None
    assert reloader.last.trigger == "2"


async def test_sighup_triggers_a_reload(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))
    before = holder.get()
    reloader = Reloader(kb_copy, holder, check_confusions=False)
    assert reloader.install_sighup(asyncio.get_running_loop())
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 5
        while reloader.last is None:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            await asyncio.sleep(0.01)
    finally:
        reloader.remove_sighup()
    assert reloader.last.ok
    assert reloader.last.trigger == "SIGHUP"
    assert holder.get() is not before


async def test_watching_the_folders_reloads_after_an_edit(kb_copy: Path) -> None:
    holder = EngineHolder(build(kb_copy))
    errors = Errors()
    reloader = Reloader(kb_copy, holder, errors, check_confusions=False, settle_ms=50)
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloader.watch(stop))
    try:
        await asyncio.sleep(0.3)  # let the watcher start
        (kb_copy / "content" / "git.md").write_text("Git, hot-reloaded.\n", encoding="utf-8")
        deadline = time.monotonic() + 8
        while holder.get().kb.intents["git"].answer != "Git, hot-reloaded.":
            assert time.monotonic() < deadline, "the edit was not picked up"
            await asyncio.sleep(0.02)
        assert reloader.last is not None
        assert reloader.last.trigger == "watch"
        (kb_copy / "content" / "git.md").write_text("", encoding="utf-8")  # an empty answer is an error
        while not errors.results:
            assert time.monotonic() < deadline, "the broken edit was not reported"
            await asyncio.sleep(0.02)
        assert holder.get().kb.intents["git"].answer == "Git, hot-reloaded."
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 5)


# -- the full checks of `faqbot validate`, on a small knowledge base of its own -----------------

TOPICS = {
    "coffee": ["espresso", "latte", "cappuccino", "arabica beans", "french press", "coffee grinder", "filter coffee", "cold brew",
               "coffee roast", "caffeine", "mocha", "barista", "decaf coffee", "coffee crema", "drip coffee", "coffee mug"],
    "cats": ["kitten", "cat purring", "cat litter", "whiskers", "tabby cat", "cat food", "siamese cat", "cat scratching post",
             "cat nap", "meowing", "cat fur", "catnip", "cat claws", "persian cat", "cat toys", "cat collar"],
}


def small_kb(root: Path) -> Path:
    """Two unrelated intents, with the project's lexicon, entities and messages (so it keeps up with required messages)."""
    (root / "intents").mkdir(parents=True)
    (root / "content").mkdir()
    for name in ("_lexicon.yaml", "_entities.yaml"):
        shutil.copy(PROJECT / "intents" / name, root / "intents" / name)
    shutil.copy(PROJECT / "content" / "_messages.yaml", root / "content" / "_messages.yaml")
    for intent, phrases in TOPICS.items():
        data = {"version": 1, "id": intent, "title": intent.title(), "examples": [f"tell me about {p}" for p in phrases]}
        (root / "intents" / f"{intent}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        (root / "content" / f"{intent}.md").write_text(f"All about {intent}.\n", encoding="utf-8")
    topics = {"version": 1, "groups": [{"title": "Everything", "intents": list(TOPICS)}]}
    (root / "intents" / "_topics.yaml").write_text(yaml.safe_dump(topics), encoding="utf-8")
    return root


async def test_the_confusion_check_of_validate_also_guards_reloads(tmp_path: Path) -> None:
    from bot.validate import validate

    root = small_kb(tmp_path / "small")
    assert validate(root) == []
    holder = EngineHolder(build(root))
    errors = Errors()
    strict = Reloader(root, holder, errors)
    (root / "content" / "cats.md").write_text("Cats, revised.\n", encoding="utf-8")
    assert (await strict.reload()).ok
    assert holder.get().kb.intents["cats"].answer == "Cats, revised."

    before = holder.get()
    add_example(root, "coffee", "tell me about kitten whiskers and cat purring")  # a cats question filed under coffee
    result = await strict.reload()
    assert not result.ok
    assert holder.get() is before
    assert any("kitten whiskers" in str(p) for p in result.problems)
    assert errors.results == [result]
    assert [str(p) for p in result.problems] == [str(p) for p in validate(root)]

    lenient = await Reloader(root, holder, check_confusions=False).reload()
    assert lenient.ok
    assert holder.get() is not before
