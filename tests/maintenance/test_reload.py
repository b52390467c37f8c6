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

from bot.engine.core import Engine, EngineHolder, build
from bot.engine.dialogue import Dialogue
from bot.engine.semantic import Vectors
from bot.maintenance.reload import Reloader, ReloadResult
from bot.maintenance.validate import validate
from tests.helpers import PROJECT, count_confusion_checks


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A small valid knowledge base (quick to reload), see `small_kb`."""
    return small_kb(tmp_path / "small")


@pytest.fixture
def holder(pristine: tuple[Path, Engine]) -> EngineHolder:
    """Serving the engine of the unedited knowledge base."""
    return EngineHolder(pristine[1])


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


async def test_a_valid_edit_is_picked_up(kb_copy: Path, holder: EngineHolder) -> None:
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
async def test_an_invalid_edit_keeps_the_old_engine_and_reports_the_errors(kb_copy: Path, holder: EngineHolder, breakage: str) -> None:
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


async def test_questions_asked_during_reloads_are_all_answered_by_a_complete_engine(kb_copy: Path, holder: EngineHolder) -> None:
    reloader = Reloader(kb_copy, holder, check_confusions=False)
    dialogue = Dialogue(holder.get)
    question = first_example(kb_copy, "salary")
    intents = set(holder.get().kb.intents)
    salary_md = kb_copy / "content" / "salary.md"
    stop = asyncio.Event()
    replies = 0
    engines: set[int] = set()

    async def ask() -> None:
        nonlocal replies
        while not stop.is_set():
            engine: Engine = holder.get()  # no await until the reply: this is the engine that answers
            engines.add(id(engine))
            assert set(engine.kb.intents) == intents  # the whole knowledge base, never a part of it
            reply = dialogue.respond(question, "user-1")
            assert reply.intent == "salary"
            assert reply.text.startswith(engine.kb.intents["salary"].answer)
            replies += 1
            await asyncio.sleep(0.005)

    askers = [asyncio.create_task(ask()) for _ in range(2)]
    results: list[ReloadResult] = []
    for version in range(2):
        salary_md.write_text(f"Salary answer, version {version}.\n", encoding="utf-8")
        results.append(await reloader.reload(f"edit {version}"))
    (kb_copy / "intents" / "git.yaml").write_text("version: 1\nid: [broken\n", encoding="utf-8")
    results.append(await reloader.reload("broken"))
    stop.set()
    await asyncio.gather(*askers)  # re-raises any failed assertion or exception

    assert [r.ok for r in results] == [True, True, False]
    assert holder.get().kb.intents["salary"].answer == "Salary answer, version 1."
    assert replies > 20
    assert len(engines) == 3  # the askers saw every engine that was in service


async def test_a_failing_error_callback_does_not_break_the_reload(small: Path, vectors: Vectors) -> None:
    holder = EngineHolder(build(small, vectors))
    calls: list[ReloadResult] = []

    def explode(result: ReloadResult) -> None:
        calls.append(result)
        raise RuntimeError("admins unreachable")

    (small / "content" / "cats.md").unlink()
    result = await Reloader(small, holder, explode).reload()
    assert not result.ok
    assert calls == [result]


async def test_concurrent_reload_requests_run_one_after_the_other(small: Path, vectors: Vectors) -> None:
    holder = EngineHolder(build(small, vectors))
    reloader = Reloader(small, holder)

    async def edit_then_reload(n: int) -> ReloadResult:
        # Save as editors do (write aside, then rename): a reload already running in its
        # worker thread must never see the file half-written.
        draft = small / "content" / f".cats.md.{n}"
        draft.write_text(f"Cats {n}.\n", encoding="utf-8")
        draft.replace(small / "content" / "cats.md")
        return await reloader.reload(str(n))

    results = await asyncio.gather(*(edit_then_reload(n) for n in range(3)))
    assert [r.trigger for r in results] == ["0", "1", "2"]
    assert all(r.ok for r in results)
    assert reloader.last is not None
    assert reloader.last.trigger == "2"
    assert holder.get().kb.intents["cats"].answer == "Cats 2."  # the last reload saw the last edit


async def test_sighup_triggers_a_reload(small: Path, vectors: Vectors) -> None:
    holder = EngineHolder(build(small, vectors))
    before = holder.get()
    reloader = Reloader(small, holder)
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


async def test_watching_the_folders_reloads_after_an_edit(small: Path, vectors: Vectors) -> None:
    holder = EngineHolder(build(small, vectors))
    errors = Errors()
    reloader = Reloader(small, holder, errors, settle_ms=50)
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloader.watch(stop))
    answer = small / "content" / "cats.md"
    try:
        await asyncio.wait_for(reloader.watching.wait(), 5)
        (small / "content" / "notes.txt").write_text("not part of the knowledge base\n", encoding="utf-8")
        answer.write_text("Cats, hot-reloaded.\n", encoding="utf-8")
        deadline = time.monotonic() + 8
        while holder.get().kb.intents["cats"].answer != "Cats, hot-reloaded.":
            assert time.monotonic() < deadline, "the edit was not picked up"
            await asyncio.sleep(0.02)
        assert reloader.last is not None
        assert reloader.last.trigger == "watch"
        answer.write_text("", encoding="utf-8")  # an empty answer is an error
        while not errors.results:
            assert time.monotonic() < deadline, "the broken edit was not reported"
            await asyncio.sleep(0.02)
        assert holder.get().kb.intents["cats"].answer == "Cats, hot-reloaded."
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 5)


async def wait_for_answer(holder: EngineHolder, intent: str, text: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while holder.get().kb.intents[intent].answer != text:
        assert time.monotonic() < deadline, f"{text!r} was not picked up"
        await asyncio.sleep(0.02)


async def test_the_watcher_survives_content_deleted_and_created_again(small: Path, vectors: Vectors) -> None:
    holder = EngineHolder(build(small, vectors))
    reloader = Reloader(small, holder, Errors(), settle_ms=50)
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloader.watch(stop))
    saved = small.parent / "content-saved"
    try:
        await asyncio.wait_for(reloader.watching.wait(), 5)
        shutil.copytree(small / "content", saved)
        shutil.rmtree(small / "content")
        await asyncio.sleep(1)  # the reload of a knowledge base without answers is refused
        assert holder.get().kb.intents["cats"].answer == "All about cats."
        shutil.copytree(saved, small / "content")
        (small / "content" / "cats.md").write_text("Cats, back again.\n", encoding="utf-8")
        await wait_for_answer(holder, "cats", "Cats, back again.")
        await asyncio.sleep(0.5)
        (small / "content" / "cats.md").write_text("Cats, edited in the new folder.\n", encoding="utf-8")
        await wait_for_answer(holder, "cats", "Cats, edited in the new folder.")
        assert not watcher.done()
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 5)


def configmap(folder: Path, files: dict[str, str], version: int) -> None:
    """Publish `files` in `folder` the way a Kubernetes ConfigMap volume does: a new timestamped directory,
    `..data` swapped to it with an atomic rename, each file a symlink through `..data`."""
    folder.mkdir(exist_ok=True)
    data = folder / f"..2026_11_29_00_00_0{version}"
    data.mkdir()
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
    temporary = folder / "..data_tmp"
    temporary.symlink_to(data.name)
    temporary.replace(folder / "..data")
    for name in files:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(Path("..data") / name)


async def test_a_configmap_style_symlink_swap_triggers_a_reload(small: Path, vectors: Vectors) -> None:
    content = small / "content"
    files = {p.name: p.read_text(encoding="utf-8") for p in content.iterdir()}
    shutil.rmtree(content)
    configmap(content, files, 1)
    holder = EngineHolder(build(small, vectors))
    reloader = Reloader(small, holder, Errors(), settle_ms=50)
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloader.watch(stop))
    try:
        await asyncio.wait_for(reloader.watching.wait(), 5)
        configmap(content, {**files, "cats.md": "Cats, from the new ConfigMap.\n"}, 2)
        await wait_for_answer(holder, "cats", "Cats, from the new ConfigMap.")
        configmap(content, {**files, "cats.md": "Cats, version three.\n"}, 3)
        await wait_for_answer(holder, "cats", "Cats, version three.")
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 5)


# -- the full checks of `faqbot validate`, on a small knowledge base of its own -----------------

TOPICS = {
    "coffee": [
        "espresso",
        "latte",
        "cappuccino",
        "arabica beans",
        "french press",
        "coffee grinder",
        "filter coffee",
        "cold brew",
        "coffee roast",
        "caffeine",
        "mocha",
        "barista",
        "decaf coffee",
        "coffee crema",
        "drip coffee",
        "coffee mug",
    ],
    "cats": [
        "kitten",
        "cat purring",
        "cat litter",
        "whiskers",
        "tabby cat",
        "cat food",
        "siamese cat",
        "cat scratching post",
        "cat nap",
        "meowing",
        "cat fur",
        "catnip",
        "cat claws",
        "persian cat",
        "cat toys",
        "cat collar",
    ],
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


async def test_a_reload_that_changed_only_answers_reuses_the_check_it_passed(
    small: Path, vectors: Vectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = count_confusion_checks(monkeypatch)
    holder = EngineHolder(build(small, vectors))
    reloader = Reloader(small, holder)
    for text in ("Cats, revised.", "Cats, revised again."):
        (small / "content" / "cats.md").write_text(text + "\n", encoding="utf-8")
        assert (await reloader.reload()).ok
        assert holder.get().kb.intents["cats"].answer == text
    assert len(checked) == 1
    add_example(small, "cats", "tell me about whiskers")
    assert (await reloader.reload()).ok
    assert len(checked) == 2


async def test_the_confusion_check_of_validate_also_guards_reloads(small: Path, vectors: Vectors) -> None:
    root = small
    assert [p for p in validate(root, vectors) if not p.warning] == []
    holder = EngineHolder(build(root, vectors))
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
    assert [str(p) for p in result.problems] == [str(p) for p in validate(root, vectors) if not p.warning]

    lenient = await Reloader(root, holder, check_confusions=False).reload()
    assert lenient.ok
    assert holder.get() is not before
