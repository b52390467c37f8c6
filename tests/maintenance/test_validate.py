"""`faqbot validate` catches every kind of problem it claims to, naming file, intent and field."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBaseError, Problem, load
from bot.engine.matcher import Matcher
from bot.engine.semantic import Vectors
from bot.maintenance.validate import PassedChecks, check_key, validate, validated_engine
from tests.helpers import FIXTURE_KB, PROJECT, copy_kb, count_confusion_checks


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append_example(intent: str, example: str) -> Callable[[Path], None]:
    return lambda kb: _edit(kb / "intents" / f"{intent}.yaml", "examples:\n", f"examples:\n  - {example}\n")


def _borrow_example(intent: str, owner: str) -> Callable[[Path], None]:
    """Copy the first example of `owner` into `intent`."""

    def mutate(kb: Path) -> None:
        example = yaml.safe_load((kb / "intents" / f"{owner}.yaml").read_text(encoding="utf-8"))["examples"][0]
        _append_example(intent, json.dumps(example))(kb)

    return mutate


MUTATIONS: list[tuple[str, Callable[[Path], object], str, str | None, str | None, str]] = [
    # (name, mutation, file, intent, field, words in the message)
    (
        "yaml syntax",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "title:", "title: [unclosed\nx:"),
        "intents/cto.yaml",
        None,
        None,
        "YAML syntax error",
    ),
    (
        "missing version",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "version: 1\n", ""),
        "intents/cto.yaml",
        None,
        "version",
        "version must be 1",
    ),
    ("missing title", lambda kb: _edit(kb / "intents" / "cto.yaml", "title:", "titel:"), "intents/cto.yaml", "cto", "title", "missing"),
    (
        "unknown field",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:", "colour: red\nexamples:"),
        "intents/cto.yaml",
        "cto",
        "colour",
        "unknown field",
    ),
    (
        "bad kind",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:", "kind: joke\nexamples:"),
        "intents/cto.yaml",
        "cto",
        "kind",
        "must be",
    ),
    (
        "id differs from file",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "id: cto", "id: chief"),
        "intents/cto.yaml",
        "chief",
        "id",
        "must match the file name",
    ),
    (
        "duplicate id",
        lambda kb: (kb / "intents" / "cto_copy.yaml").write_text((kb / "intents" / "cto.yaml").read_text()),
        "intents/cto_copy.yaml",
        "cto",
        "id",
        "duplicate id",
    ),
    (
        "too few examples",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:\n", "examples: []\nold_examples:\n"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "at least",
    ),
    (
        "example under two intents, reported in the file just edited",
        _borrow_example("cto", "full_stack"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "also listed under intent 'full_stack'",
    ),
    (
        "example closer to another intent",
        _append_example("cto", "what is the average salary of a junior backend developer in the US"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "rather than its own",
    ),
    (
        "follow-up nowhere",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "follow_ups: [", "follow_ups: [nowhere, "),
        "intents/cto.yaml",
        "cto",
        "follow_ups",
        "'nowhere' is not an intent",
    ),
    (
        "follow-up misspelt",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "follow_ups: [", "follow_ups: [carrer_path, "),
        "intents/cto.yaml",
        "cto",
        "follow_ups",
        "did you mean 'career_path'?",
    ),
    (
        "follow-up to itself",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "follow_ups: [", "follow_ups: [cto, "),
        "intents/cto.yaml",
        "cto",
        "follow_ups",
        "its own follow-up",
    ),
    (
        "unquoted no",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:\n", "examples:\n  - no\n"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "the line reads: - no",
    ),
    (
        "text with a colon",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:\n", "examples:\n  - cto: how\n"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "put the whole text in quotes",
    ),
    ("missing answer", lambda kb: (kb / "content" / "cto.md").unlink(), "content/cto.md", "cto", "answer", "missing"),
    ("unused answer", lambda kb: (kb / "content" / "astronaut.md").write_text("hi"), "content/astronaut.md", None, None, "unknown intent"),
    (
        "answer too long",
        lambda kb: (kb / "content" / "cto.md").write_text("word " * 300),
        "content/cto.md",
        "cto",
        "answer",
        "limit is 800",
    ),
    (
        "variant of unknown value",
        lambda kb: (kb / "content" / "frameworks.cobol.md").write_text("x"),
        "content/frameworks.cobol.md",
        "frameworks",
        None,
        "not a value",
    ),
    (
        "about names no entity value",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:", "about: {language: cobol}\nexamples:"),
        "intents/cto.yaml",
        "cto",
        "about",
        "not an entity value",
    ),
    (
        "unknown entity type",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:", "entity: planet\nexamples:"),
        "intents/cto.yaml",
        "cto",
        "entity",
        "unknown entity type",
    ),
    (
        "yaml boolean",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "keywords: [", "keywords: [yes, "),
        "intents/cto.yaml",
        "cto",
        "keywords",
        "quotes",
    ),
    (
        "missing message",
        lambda kb: _edit(kb / "content" / "_messages.yaml", "empty:", "emptiness:"),
        "content/_messages.yaml",
        None,
        "empty",
        "missing",
    ),
    (
        "example too long",
        _append_example("cto", "how do I become CTO " * 20),
        "intents/cto.yaml",
        "cto",
        "examples",
        "at most",
    ),
    (
        "message as a list",
        lambda kb: _edit(kb / "content" / "_messages.yaml", 'empty: "', 'empty: [a, b]\nold_empty: "'),
        "content/_messages.yaml",
        None,
        "empty",
        "one text",
    ),
    (
        "example read as a date",
        _append_example("cto", "2024-02-03"),
        "intents/cto.yaml",
        "cto",
        "examples",
        "read as a date",
    ),
    (
        "years the wrong way round",
        lambda kb: _edit(kb / "intents" / "_entities.yaml", "years: [2, 5]", "years: [5, 2]"),
        "intents/_entities.yaml",
        "seniority.experienced",
        "entities",
        "from < below",
    ),
    (
        "empty symbol",
        lambda kb: _edit(kb / "intents" / "_lexicon.yaml", "symbols:", "symbols:\n  '': nothing"),
        "intents/_lexicon.yaml",
        None,
        "symbols",
        "empty symbol",
    ),
    (
        "a spelling typed as two words",
        lambda kb: _edit(kb / "intents" / "_lexicon.yaml", "spellings:", "spellings:\n  server: [sevr er]"),
        "intents/_lexicon.yaml",
        None,
        "spellings",
        "one word as people type it",
    ),
    (
        "a spelling that is also a synonym",
        lambda kb: _edit(kb / "intents" / "_lexicon.yaml", "spellings:", "spellings:\n  coder: [devs]"),
        "intents/_lexicon.yaml",
        None,
        "spellings",
        "both a spelling of 'coder' and a synonym",
    ),
    (
        "a spelling of two words",
        lambda kb: _edit(kb / "intents" / "_lexicon.yaml", "spellings:", "spellings:\n  when: [wht]"),
        "intents/_lexicon.yaml",
        None,
        "spellings",
        "spelling of both",
    ),
    (
        "a key given twice",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "title:", "examples: [a, b]\ntitle:"),
        "intents/cto.yaml",
        None,
        None,
        "given twice",
    ),
    (
        "alias",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "title:", "note: &x [a, b]\nother: [*x, *x]\ntitle:"),
        "intents/cto.yaml",
        None,
        None,
        "aliases",
    ),
    (
        "impossible date",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "examples:\n", "examples:\n  - 2001-13-45\n"),
        "intents/cto.yaml",
        None,
        None,
        "quotes",
    ),
    (
        "entity as a list",
        lambda kb: _edit(kb / "intents" / "salary.yaml", "entity: seniority", "entity: [seniority]"),
        "intents/salary.yaml",
        "salary",
        "entity",
        "one entity type",
    ),
    (
        "placeholder the bot does not fill",
        lambda kb: _edit(kb / "content" / "_messages.yaml", "{value}", "{value} {valeu}"),
        "content/_messages.yaml",
        None,
        "not_covered",
        "{valeu}",
    ),
    (
        "numbered placeholder",
        lambda kb: _edit(kb / "content" / "_messages.yaml", "{known}", "{0}"),
        "content/_messages.yaml",
        None,
        "not_covered",
        "{0}",
    ),
    (
        "topic group names unknown intent",
        lambda kb: _edit(kb / "intents" / "_topics.yaml", "intents: [definition,", "intents: [ghost, definition,"),
        "intents/_topics.yaml",
        "ghost",
        "groups",
        "not an intent",
    ),
]


@pytest.mark.parametrize("root", [PROJECT, FIXTURE_KB], ids=["shipped", "fixture"])
def test_knowledge_base_is_valid(root: Path, vectors: Vectors) -> None:
    errors = [p for p in validate(root, vectors) if not p.warning]
    assert errors == [], "\n".join(str(p) for p in errors)


def test_a_clear_confusion_is_an_error_naming_both_examples(kb_copy: Path, vectors: Vectors) -> None:
    _append_example("cto", "what is the average salary of a junior backend developer in the US")(kb_copy)
    [problem] = [p for p in validate(kb_copy, vectors) if not p.warning]
    assert (problem.file, problem.intent, problem.field) == ("intents/cto.yaml", "cto", "examples")
    assert "'salary'" in problem.message  # the intent that wins
    assert "its example" in problem.message  # and its example that collides
    assert "make the two examples more distinct" in problem.message


@pytest.mark.parametrize(("name", "mutate", "file", "intent", "field", "words"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_validate_reports_problem(
    kb_copy: Path,
    name: str,
    mutate: Callable[[Path], object],
    file: str,
    intent: str | None,
    field: str | None,
    words: str,
    vectors: Vectors,
) -> None:
    mutate(kb_copy)
    problems = validate(kb_copy, vectors)
    matching = [p for p in problems if p.file == file and p.intent == intent and p.field == field and words in p.message]
    assert matching, f"{name}: expected {file} / {intent} / {field} / {words!r}, got:\n" + "\n".join(map(str, problems))


def test_yaml_syntax_error_has_a_line_number(kb_copy: Path, vectors: Vectors) -> None:
    (kb_copy / "intents" / "cto.yaml").write_text("version: 1\nid: cto\ntitle: [oops\n")
    problem: Problem = next(p for p in validate(kb_copy, vectors) if "YAML" in p.message)
    assert problem.line is not None
    assert problem.line >= 3
    assert str(problem).startswith(f"intents/cto.yaml:{problem.line}:")


# -- one mistake, one problem: nothing that depends on a broken file is reported again ----------

ONE_MISTAKE = [
    # (name, mutation, file, intent, field, message)
    (
        "yaml syntax error in an intent file",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "title:", "title: [unclosed\nx:"),
        "intents/cto.yaml",
        None,
        None,
        "YAML syntax error: ",
    ),
    ("missing id", lambda kb: _edit(kb / "intents" / "cto.yaml", "id: cto\n", ""), "intents/cto.yaml", None, "id", "is missing"),
    (
        "id differs from the file name",
        lambda kb: _edit(kb / "intents" / "cto.yaml", "id: cto", "id: chief"),
        "intents/cto.yaml",
        "chief",
        "id",
        "id 'chief' must match the file name 'cto'",
    ),
    (
        "yaml syntax error in _entities.yaml",
        lambda kb: _edit(kb / "intents" / "_entities.yaml", "entities:", "entities: [\n"),
        "intents/_entities.yaml",
        None,
        None,
        "YAML syntax error",
    ),
    (
        "yaml syntax error in _topics.yaml",
        lambda kb: _edit(kb / "intents" / "_topics.yaml", "groups:", "groups: {\n"),
        "intents/_topics.yaml",
        None,
        None,
        "YAML syntax error",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "file", "intent", "field", "message"), ONE_MISTAKE, ids=[m[0] for m in ONE_MISTAKE])
def test_one_mistake_is_reported_once(
    kb_copy: Path,
    name: str,
    mutate: Callable[[Path], object],
    file: str,
    intent: str | None,
    field: str | None,
    message: str,
    vectors: Vectors,
) -> None:
    mutate(kb_copy)
    [problem] = validate(kb_copy, vectors)
    assert (problem.file, problem.intent, problem.field) == (file, intent, field), str(problem)
    assert problem.message.startswith(message), str(problem)


def test_validation_errors_carry_the_line_of_the_field(kb_copy: Path, vectors: Vectors) -> None:
    _edit(kb_copy / "intents" / "cto.yaml", "keywords: [", "keywords: [yes, ")
    [problem] = validate(kb_copy, vectors)
    lines = (kb_copy / "intents" / "cto.yaml").read_text(encoding="utf-8").splitlines()
    assert problem.line is not None
    assert lines[problem.line - 1].startswith("keywords: [yes, ")
    assert str(problem).startswith(f"intents/cto.yaml:{problem.line}: intent cto: field keywords: ")


def test_an_intent_in_no_menu_group_is_a_warning_and_loads(kb_copy: Path, vectors: Vectors) -> None:
    """The README's order: write the intent, then add it to _topics.yaml; a running bot reloads in between."""
    from bot.engine.knowledge import load

    _edit(kb_copy / "intents" / "_topics.yaml", "intents: [definition, ", "intents: [")
    kb = load(kb_copy)  # does not raise
    assert "definition" in kb.intents
    [warning] = [p for p in kb.warnings if p.intent == "definition"]
    assert warning.warning
    assert "no topic group" in warning.message
    assert warning in validate(kb_copy, vectors)


def test_an_invisible_control_character_is_named_with_its_line(kb_copy: Path, vectors: Vectors) -> None:
    _edit(kb_copy / "intents" / "cto.yaml", "title:", "# a comment\x07\ntitle:")
    [problem] = [p for p in validate(kb_copy, vectors) if p.file == "intents/cto.yaml"]
    assert problem.line is not None
    assert "U+0007" in problem.message


def test_an_intent_file_with_an_upper_case_extension_is_named(kb_copy: Path, vectors: Vectors) -> None:
    (kb_copy / "intents" / "cto.yaml").rename(kb_copy / "intents" / "cto.YAML")
    problems = validate(kb_copy, vectors)
    assert any(p.file == "intents/cto.YAML" and "rename it to cto.yaml" in p.message for p in problems)


def _key(root: Path, vectors: Vectors) -> str:
    kb = load(root)
    return check_key(kb, Matcher(kb, Tuning(), vectors))


# (name, edit of the fixture knowledge base, whether the confusion check reads what it changes)
CHECK_INPUTS: list[tuple[str, Callable[[Path], object], bool]] = [
    ("answer reworded", lambda kb: _edit(kb / "content" / "git.md", "GitHub", "GitHub (or a tool like it)"), False),
    (
        "variant answer reworded",
        lambda kb: _edit(kb / "content" / "frameworks.python.md", "(fixture answer)", "(fixture answer, reworded)"),
        False,
    ),
    ("message reworded", lambda kb: _edit(kb / "content" / "_messages.yaml", ":", ": "), False),
    ("example added", _append_example("git", "which version control tool do teams use"), True),
    ("title changed", lambda kb: _edit(kb / "intents" / "git.yaml", "title: ", "title: All about "), True),
    (
        "negative example added",
        lambda kb: _edit(kb / "intents" / "_out_of_scope.yaml", "examples:\n", "examples:\n- best pizza in town\n"),
        True,
    ),
    ("variant answer added", lambda kb: (kb / "content" / "frameworks.ruby.md").write_text("Ruby on Rails.\n", encoding="utf-8"), True),
]


@pytest.mark.parametrize(("name", "edit", "read"), CHECK_INPUTS, ids=[c[0] for c in CHECK_INPUTS])
def test_the_check_key_changes_with_what_the_confusion_check_reads(
    tmp_path: Path, vectors: Vectors, name: str, edit: Callable[[Path], object], read: bool
) -> None:
    kb = copy_kb(FIXTURE_KB, tmp_path / "kb")
    before = _key(kb, vectors)
    edit(kb)
    assert (_key(kb, vectors) != before) is read


def test_a_passed_confusion_check_is_not_worked_out_again_until_what_it_reads_changes(
    tmp_path: Path, vectors: Vectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = copy_kb(FIXTURE_KB, tmp_path / "kb")
    checked = count_confusion_checks(monkeypatch)
    passed = PassedChecks()
    validated_engine(kb, vectors, passed=passed)
    _edit(kb / "content" / "git.md", "GitHub", "GitHub (or a tool like it)")
    validated_engine(kb, vectors, passed=passed)
    assert len(checked) == 1
    _append_example("git", "which version control tool do teams use")(kb)
    validated_engine(kb, vectors, passed=passed)
    assert len(checked) == 2
    validated_engine(kb, vectors)  # no memory given: always checked
    assert len(checked) == 3


def test_a_failed_confusion_check_is_not_remembered(kb_copy: Path, vectors: Vectors) -> None:
    _append_example("cto", "what is the average salary of a junior backend developer in the US")(kb_copy)
    passed = PassedChecks()
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError):
            validated_engine(kb_copy, vectors, passed=passed)
