"""Load the knowledge base (`intents/` and `content/`) into typed, immutable values.

Each YAML file is read into its pydantic model (`bot.engine.schema`); this module makes
the checks across files (follow-ups, topic groups, answer files, duplicates) and turns
every validation error into a `Problem` naming the file, the intent, the field and the
line, so `faqbot validate` can print it and a reload can refuse a broken edit.

A file that cannot be read or validated is reported once: what depends on it is not
reported again (an intent file with a syntax error does not also make its answer file
"unknown", and an unreadable `_entities.yaml` does not make every `entity:` unknown).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.engine.analyzer import Lexicon
from bot.engine.models import EntityValue, Intent
from bot.engine.schema import (
    ERROR_TYPE,
    ID_PATTERN,
    MESSAGE_KEYS,
    MIN_EXAMPLES,
    SUPPORTED_VERSION,
    EntitiesFile,
    IntentFile,
    LexiconFile,
    MessagesFile,
    OutOfScopeFile,
    TopicsFile,
    messages_of,
)
from bot.engine.text import normalise

__all__ = [
    "ID_PATTERN",
    "MAX_ANSWER_CHARS",
    "MESSAGE_KEYS",
    "MIN_EXAMPLES",
    "SUPPORTED_VERSION",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "TopicGroup",
    "load",
]

MAX_ANSWER_CHARS = 800
LEXICON_FILE = "_lexicon.yaml"
ENTITIES_FILE = "_entities.yaml"
OUT_OF_SCOPE_FILE = "_out_of_scope.yaml"
MESSAGES_FILE = "_messages.yaml"
TOPICS_FILE = "_topics.yaml"
OTHER_PROFESSION = "otherprofession"
"""The canonical word every phrase of `other_professions` in `_lexicon.yaml` maps to."""
ANSWERER = "youyourself"
"""The canonical word every phrase of `answerer_phrases` in `_lexicon.yaml` maps to."""

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]
Where = Callable[[Loc], tuple[str | None, str | None, str]]
"""Where a validation error at `loc` is: (intent, field, prefix of the message)."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML was built with it (the wheels are): the same documents and line numbers, ten times
faster than the pure-Python one (0.11 -> 0.01 s for the shipped intents), which was half of a reload."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base."""

    file: str
    message: str
    intent: str | None = None
    field: str | None = None
    line: int | None = None
    warning: bool = False
    """A warning is shown by `faqbot validate` but does not stop a load or a reload."""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.intent:
            parts.append(f"intent {self.intent}")
        if self.field:
            parts.append(f"field {self.field}")
        return ": ".join(parts) + f": {self.message}"


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be used; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class TopicGroup:
    """A named group of intents, shown together in menus."""

    title: str
    intents: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the bot knows, loaded from one folder. Immutable once loaded."""

    root: Path
    intents: Mapping[str, Intent]
    lexicon: Lexicon
    entities: Mapping[str, Mapping[str, EntityValue]]
    out_of_scope: tuple[str, ...]
    task_verbs: frozenset[str]
    """Imperative verbs that make a message a task request rather than a question."""
    politeness: frozenset[str]
    messages: Mapping[str, str]
    topics: tuple[TopicGroup, ...]
    warnings: tuple[Problem, ...] = ()
    """What `faqbot validate` shows but does not stop a load or a reload (e.g. an intent in no menu group yet)."""

    def title(self, intent_id: str) -> str:
        return self.intents[intent_id].title


@dataclass
class _Source:
    """One YAML file as read: its data and the line of each key and list item."""

    path: Path
    data: dict[str, Any]
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def quote(self, line: int | None) -> str:
        """The text ` (the line reads: ...)` for a message about a value YAML changed (e.g. `no` read as false);
        "" if the line is unknown."""
        if line is None:
            return ""
        try:
            text = self.path.read_text(encoding="utf-8").splitlines()[line - 1].strip()
        except (OSError, UnicodeDecodeError, IndexError):
            return ""
        return f" (the line reads: {text})" if text else ""

    def line(self, *loc: str | int) -> int | None:
        """The line of the deepest part of `loc` found in the file (None: not in the file, e.g. a missing field)."""
        key = tuple(str(part) for part in loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None


def _index_lines(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                here = (*path, str(key.value))
                lines.setdefault(here, key.start_mark.line + 1)
                _index_lines(value, here, lines)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            here = (*path, str(position))
            lines.setdefault(here, item.start_mark.line + 1)
            _index_lines(item, here, lines)


def _top_level(loc: Loc) -> tuple[str | None, str | None, str]:
    return None, str(loc[0]) if loc else None, ""


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(
        self, path: Path, message: str, intent: str | None = None, fld: str | None = None, line: int | None = None, warning: bool = False
    ) -> None:
        self.problems.append(Problem(self.rel(path), message, intent, fld, line, warning))

    def source(self, path: Path) -> _Source | None:
        """The YAML mapping in `path` with its line numbers; None (and a problem) if it cannot be read."""
        if path.exists() and not path.is_file():  # a folder, a pipe or a device: reading it could wait forever
            self.problem(path, "not a regular file: replace it with a YAML file")
            return None
        try:
            loader = _LOADER(path.read_text(encoding="utf-8"))
            try:
                node = loader.get_single_node()
                problems, aliased = _structure_problems(node)
                for message, at in problems:
                    self.problem(path, message, line=at)
                if aliased:
                    return None  # never expanded: nine nested aliases of nine can take minutes and gigabytes
                try:
                    data = loader.construct_document(node) if node is not None else None
                except (ValueError, OverflowError) as exc:  # a date or number YAML recognises but cannot build
                    reason = str(exc).split(";")[0]  # not Python's advice on sys.set_int_max_str_digits()
                    message = f"a value cannot be read ({reason}): put it in quotes to keep it as text"
                    self.problem(path, message, line=_unbuildable(node))
                    return None
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(exc, "problem", None) or str(exc)
            position = getattr(exc, "position", None)  # a character YAML refuses (a control character) has a position only
            if line is None and isinstance(position, int):
                line = path.read_text(encoding="utf-8", errors="replace").count("\n", 0, position) + 1
                character = getattr(exc, "character", None)
                code = ord(character) if isinstance(character, str) and len(character) == 1 else character
                shown = f"U+{code:04X}" if isinstance(code, int) else "?"
                reason = f"{getattr(exc, 'reason', reason)} (the invisible character {shown}): delete it"
            self.problem(path, f"YAML syntax error: {reason}", line=line)
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, f"cannot read file: {exc}")
            return None
        if not isinstance(data, dict):
            self.problem(path, "expected a mapping of keys (key: value) at the top level")
            return None
        source = _Source(path, data)
        if node is not None:
            _index_lines(node, (), source.lines)
        return source

    def validate(self, source: _Source, model: type[M], where: Where = _top_level, context: Mapping[str, Any] | None = None) -> M | None:
        """The file's data as `model`; None (and one problem per validation error) if it is not valid."""
        try:
            return model.model_validate(source.data, context=context)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc: Loc = error["loc"]
                intent, fld, prefix = where(loc)
                if error["type"] == "missing":
                    message = "is missing"
                elif error["type"] == "extra_forbidden":
                    fld = str(loc[-1])
                    allowed = _allowed(model, loc)
                    message = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
                elif error["type"] == ERROR_TYPE:
                    message = error["msg"]
                    if "in quotes" in message:  # YAML changed the value: show what the maintainer wrote
                        message += source.quote(source.line(*loc))
                else:
                    message = error["msg"][:1].lower() + error["msg"][1:]
                if loc and loc[0] == "version":
                    intent = None
                self.problem(source.path, prefix + message, intent, fld, source.line(*loc))
            return None

    def read(
        self, path: Path, model: type[M], *, required: bool = True, where: Where = _top_level, context: Mapping[str, Any] | None = None
    ) -> tuple[M, _Source] | None:
        if not path.exists():
            if required:
                self.problem(path, "file not found")
            return None
        source = self.source(path)
        if source is None:
            return None
        valid = self.validate(source, model, where, context)
        return None if valid is None else (valid, source)


def _allowed(model: type[BaseModel], loc: Loc) -> list[str]:
    """The fields allowed where an unknown field `loc` was found (top level only; nested: not listed)."""
    return sorted(model.model_fields) if len(loc) == 1 else []


def load(root: Path) -> KnowledgeBase:
    """Load and check the knowledge base under `root`; raise KnowledgeBaseError on any problem."""
    reader = _Reader(root)
    intents_dir, content_dir = root / "intents", root / "content"
    for folder in (intents_dir, content_dir):
        if not folder.is_dir():
            raise KnowledgeBaseError([Problem(str(folder), "folder not found")])
    lexicon, entities = _load_lexicon(reader, intents_dir)
    out_of_scope = reader.read(intents_dir / OUT_OF_SCOPE_FILE, OutOfScopeFile, required=False)
    examples: tuple[str, ...] = ()
    task_verbs: frozenset[str] = frozenset()
    politeness: frozenset[str] = frozenset()
    if out_of_scope is not None:
        oos = out_of_scope[0]
        examples = oos.examples
        task_verbs = frozenset(normalise(v) for v in oos.task_verbs)
        politeness = frozenset(normalise(v) for v in oos.politeness)
    read_messages = reader.read(content_dir / MESSAGES_FILE, MessagesFile)
    messages = messages_of(read_messages[0]) if read_messages else {}
    intents, sources, claimed = _load_intents(reader, intents_dir, content_dir, entities)
    topics = _load_topics(reader, intents_dir, intents, sources, claimed)
    if any(not p.warning for p in reader.problems):
        raise KnowledgeBaseError(reader.problems)
    warnings = tuple(reader.problems)
    return KnowledgeBase(root, intents, lexicon, entities or {}, examples, task_verbs, politeness, messages, topics, warnings)


def _load_lexicon(reader: _Reader, folder: Path) -> tuple[Lexicon, dict[str, dict[str, EntityValue]] | None]:
    """The lexicon and the entities; entities are None when `_entities.yaml` is unusable (so nothing is checked against them)."""
    read = reader.read(folder / LEXICON_FILE, LexiconFile)
    lexicon, source = read if read is not None else (None, None)
    stopwords = frozenset(normalise(w) for w in lexicon.stopwords) if lexicon else frozenset()
    symbols = dict(lexicon.symbols) if lexicon else {}
    synonyms: dict[str, str] = {}
    for canonical, variants in (lexicon.synonyms if lexicon else {}).items():
        for position, variant in enumerate(variants):
            key = normalise(variant)
            if key in synonyms and synonyms[key] != normalise(canonical):
                line = source.line("synonyms", canonical, position) if source else None
                reader.problem(
                    folder / LEXICON_FILE, f"{variant!r} is listed under both {synonyms[key]!r} and {canonical!r}", None, "synonyms", line
                )
            synonyms[key] = normalise(canonical)
    spellings = _spellings(reader, folder, lexicon, source, synonyms)

    read_entities = reader.read(folder / ENTITIES_FILE, EntitiesFile, where=_entity_where)
    entities: dict[str, dict[str, EntityValue]] | None = None
    aliases: dict[str, tuple[str, str]] = {}
    uncovered: set[str] = set()
    years: list[tuple[str, str, int, int]] = []
    if read_entities is not None:
        entities_file, esource = read_entities
        entities = {}
        for etype, values in entities_file.entities.items():
            entities[etype] = {}
            for value, spec in values.items():
                entities[etype][value] = EntityValue(etype, value, spec.label or value, spec.aliases)
                if not spec.covered:
                    uncovered.add(value)
                if spec.years is not None:
                    years.append((etype, value, *spec.years))
                for position, name in enumerate((value, *spec.aliases)):
                    key = normalise(name, symbols)
                    if not key or key in stopwords:
                        continue
                    if key in aliases and aliases[key] != (etype, value):
                        line = esource.line("entities", etype, value, *(("aliases", position - 1) if position else ()))
                        reader.problem(esource.path, f"alias {name!r} names both {aliases[key][1]} and {value}", None, "aliases", line)
                    aliases[key] = (etype, value)
    anchors = frozenset(synonyms.get(normalise(w), normalise(w)) for w in (lexicon.anchors if lexicon else ()))
    for phrase in lexicon.other_professions if lexicon else ():
        synonyms[normalise(phrase)] = OTHER_PROFESSION
    for phrase in lexicon.answerer_phrases if lexicon else ():
        synonyms[normalise(phrase)] = ANSWERER
    numbers = {normalise(word): amount for word, amount in (lexicon.numbers if lexicon else {}).items()}
    lexicon_out = Lexicon(
        stopwords,
        synonyms,
        symbols,
        aliases,
        anchors,
        frozenset(uncovered),
        frozenset({OTHER_PROFESSION}),
        tuple(years),
        numbers,
        answerer=frozenset({ANSWERER}),
        spellings=spellings,
    )
    return lexicon_out, entities


def _spellings(
    reader: _Reader, folder: Path, lexicon: LexiconFile | None, source: _Source | None, synonyms: Mapping[str, str]
) -> dict[str, str]:
    """`spellings` as way of writing -> the word or words it stands for (normalised): each a single word as people type it
    ("shud", "ror", "softskills"), none also a synonym or listed twice."""
    spellings: dict[str, str] = {}
    for word, variants in (lexicon.spellings if lexicon else {}).items():
        target = normalise(word)
        for position, variant in enumerate(variants):
            key = normalise(variant)
            line = source.line("spellings", word, position) if source else None
            if " " in key or not key or not target:
                problem = f"{variant!r} -> {word!r}: a spelling is one word as people type it; put phrases under synonyms"
            elif key in synonyms:
                problem = f"{variant!r} is both a spelling of {word!r} and a synonym of {synonyms[key]!r}: keep one"
            elif key in spellings and spellings[key] != target:
                problem = f"{variant!r} is listed as a spelling of both {spellings[key]!r} and {word!r}"
            else:
                spellings[key] = target
                continue
            reader.problem(folder / LEXICON_FILE, problem, None, "spellings", line)
    return spellings


def _structure_problems(node: yaml.Node | None) -> tuple[list[tuple[str, int]], bool]:
    """What YAML would silently get wrong in a document, as (message, line) pairs, and whether it uses an alias: a key
    given twice in one mapping (the last one wins, the first list of examples is lost) and anchors/aliases (`&name`,
    `*name`: not needed here, and a few nested ones expand to millions of values; the document must not be built)."""
    problems: list[tuple[str, int]] = []
    seen: set[int] = set()
    aliased = False
    pending = [node] if node is not None else []
    while pending:
        current = pending.pop()
        if id(current) in seen:
            line = current.start_mark.line + 1
            problems.append(("anchors and aliases (&name, *name) are not supported (one is defined here): write the value out", line))
            aliased = True
            break
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in lines:
                        problems.append(
                            (
                                f"key {key.value!r} is given twice (lines {lines[key.value]} and {key.start_mark.line + 1}): "
                                "YAML keeps only the last one; merge them into one",
                                key.start_mark.line + 1,
                            )
                        )
                    lines.setdefault(key.value, key.start_mark.line + 1)
                pending.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
    return sorted(set(problems), key=lambda p: p[1]), aliased


def _unbuildable(node: yaml.Node | None) -> int | None:
    """The line of the first value under `node` that YAML cannot build ("2001-13-45", a 5,000-digit number)."""
    builder = _LOADER("")
    try:
        pending = [node] if node is not None else []
        while pending:
            current = pending.pop(0)
            if isinstance(current, yaml.ScalarNode):
                try:
                    builder.construct_object(current)
                except (ValueError, OverflowError, yaml.YAMLError):
                    return int(current.start_mark.line) + 1
            elif isinstance(current, yaml.SequenceNode):
                pending.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                pending.extend(item for pair in current.value for item in pair)
        return None
    finally:
        builder.dispose()


def _entity_where(loc: Loc) -> tuple[str | None, str | None, str]:
    """Errors inside `entities:` name the entity value (`language.python`) or type as the intent."""
    if len(loc) >= 3 and loc[0] == "entities":
        name = f"{loc[1]}.{loc[2]}"
        return name, "aliases" if len(loc) > 3 and loc[3] == "aliases" else "entities", ""
    if len(loc) == 2 and loc[0] == "entities":
        return str(loc[1]), "entities", ""
    return _top_level(loc)


def _load_intents(
    reader: _Reader, intents_dir: Path, content_dir: Path, entities: Mapping[str, Mapping[str, EntityValue]] | None
) -> tuple[dict[str, Intent], dict[str, _Source], set[str]]:
    """The intents, their sources, and every name an intent file claims (its file name, its id) even if it is broken."""
    intents: dict[str, Intent] = {}
    sources: dict[str, _Source] = {}
    claimed: set[str] = set()
    listed = sorted(intents_dir.iterdir()) if intents_dir.is_dir() else []
    for path in (p for p in listed if p.suffix.lower() in (".yaml", ".yml") and p.suffix not in (".yaml", ".yml")):
        reader.problem(path, f"not read: intent files end in .yaml (lower case): rename it to {path.stem}.yaml", warning=True)
    for path in sorted(intents_dir.glob("*.yaml")) + sorted(intents_dir.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        claimed.add(path.stem)
        source = reader.source(path)
        if source is None:
            continue
        raw_id = source.data.get("id")
        label = str(raw_id) if raw_id not in (None, "") else None
        if isinstance(raw_id, str):
            claimed.add(raw_id)

        def where(loc: Loc, label: str | None = label) -> tuple[str | None, str | None, str]:
            return label, str(loc[0]) if loc else None, ""

        data = reader.validate(source, IntentFile, where, {"entities": entities})
        if data is None:
            continue
        if data.id in intents:
            reader.problem(path, f"duplicate id, also used by {reader.rel(intents[data.id].source)}", data.id, "id", source.line("id"))
            continue
        if data.id != path.stem:
            reader.problem(path, f"id {data.id!r} must match the file name {path.stem!r}", data.id, "id", source.line("id"))
            continue
        intents[data.id] = _intent(reader, path, data, content_dir, entities)
        sources[data.id] = source
    if not claimed:
        reader.problem(intents_dir, "no intent files found")
    for intent in intents.values():
        for position, target in enumerate(intent.follow_ups):
            line = sources[intent.id].line("follow_ups", position)
            if target == intent.id:
                reader.problem(intent.source, "an intent cannot be its own follow-up: remove it", intent.id, "follow_ups", line)
            elif target not in intents and target not in claimed:
                close = difflib.get_close_matches(target, sorted({*intents, *claimed}), n=1, cutoff=0.6)
                hint = f": did you mean {close[0]!r}?" if close else " (see intents/ for the ids)"
                reader.problem(intent.source, f"follow-up {target!r} is not an intent{hint}", intent.id, "follow_ups", line)
    _duplicate_examples(reader, intents, sources)
    for path in sorted(content_dir.glob("*.md")):
        base, _, variant = path.name[:-3].partition(".")
        if base not in intents:
            if base not in claimed:
                reader.problem(path, f"answer file for unknown intent {base!r} (no intents/{base}.yaml)")
        elif variant and variant not in intents[base].variants:
            entity = intents[base].entity
            if not entity:
                reader.problem(path, "intent has no `entity`, so it cannot have variant answers", base)
            elif entities is not None:
                reader.problem(path, f"variant {variant!r} is not a value of entity {entity!r}", base)
    return intents, sources, claimed


def _duplicate_examples(reader: _Reader, intents: Mapping[str, Intent], sources: Mapping[str, _Source]) -> None:
    """An example listed under two intents, reported in the file edited last (the one that just gained it)."""
    first: dict[str, Intent] = {}
    for intent in intents.values():
        for example in intent.examples:
            first.setdefault(normalise(example), intent)
    for intent in intents.values():
        for example in intent.examples:
            other = first[normalise(example)]
            if other.id == intent.id:
                continue
            newer, older = (intent, other) if _mtime(intent.source) >= _mtime(other.source) else (other, intent)
            where = newer.examples.index(next(e for e in newer.examples if normalise(e) == normalise(example)))
            line = sources[newer.id].line("examples", where)
            message = f"example {example!r} is also listed under intent {older.id!r} ({reader.rel(older.source)}): keep it in one"
            reader.problem(newer.source, message, newer.id, "examples", line)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _intent(
    reader: _Reader, path: Path, data: IntentFile, content_dir: Path, entities: Mapping[str, Mapping[str, EntityValue]] | None
) -> Intent:
    answer = _answer(reader, content_dir / f"{data.id}.md", data.id)
    variants: dict[str, str] = {}
    if data.entity and entities is not None:
        for value in entities[data.entity]:
            variant_path = content_dir / f"{data.id}.{value}.md"
            if variant_path.exists():
                variants[value] = _answer(reader, variant_path, data.id)
    return Intent(
        data.id, data.title, data.kind, data.examples, data.keywords, data.follow_ups, data.entity, answer, variants, path, data.about
    )


def _answer(reader: _Reader, path: Path, intent_id: str) -> str:
    if not path.exists():
        reader.problem(path, "answer file is missing", intent_id, "answer")
        return ""
    if not path.is_file():  # a folder, a pipe or a device: reading it could wait forever
        reader.problem(path, "not a regular file: replace it with a Markdown file", intent_id, "answer")
        return ""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reader.problem(path, f"cannot read answer: {exc}", intent_id, "answer")
        return ""
    if not text:
        reader.problem(path, "answer file is empty", intent_id, "answer")
    elif len(text) > MAX_ANSWER_CHARS:
        reader.problem(path, f"answer is {len(text)} characters; the limit is {MAX_ANSWER_CHARS}: split the topic", intent_id, "answer")
    return text


def _topic_where(loc: Loc) -> tuple[str | None, str | None, str]:
    if len(loc) >= 2 and loc[0] == "groups" and isinstance(loc[1], int):
        return None, "groups", f"group {loc[1] + 1}: "
    return _top_level(loc)


def _load_topics(
    reader: _Reader, folder: Path, intents: Mapping[str, Intent], sources: Mapping[str, _Source], claimed: set[str]
) -> tuple[TopicGroup, ...]:
    read = reader.read(folder / TOPICS_FILE, TopicsFile, where=_topic_where)
    if read is None:
        return ()
    topics, source = read
    groups: list[TopicGroup] = []
    placed: dict[str, str] = {}
    for number, group in enumerate(topics.groups):
        for position, member in enumerate(group.intents):
            line = source.line("groups", number, "intents", position)
            if member not in intents:
                if member not in claimed:
                    reader.problem(source.path, f"group {group.title!r} lists {member!r}, which is not an intent", member, "groups", line)
            elif member in placed:
                reader.problem(source.path, f"{member!r} is in both {placed[member]!r} and {group.title!r}", member, "groups", line)
            placed.setdefault(member, group.title)
        groups.append(TopicGroup(group.title, tuple(m for m in group.intents if m in intents)))
    for intent in intents.values():
        if intent.kind == "answer" and intent.id not in placed:
            message = f"answer intent is in no topic group, so no menu shows it yet: add it to a group of {TOPICS_FILE}"
            reader.problem(source.path, message, intent.id, "groups", warning=True)
    return tuple(groups)
