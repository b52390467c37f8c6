"""Load the knowledge base (`intents/` and `content/`) into typed, immutable values.

Every problem found is reported as a `Problem` naming the file, the intent and the
field, so `faqbot validate` can print it and a reload can refuse a broken edit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.engine.analyzer import Lexicon
from bot.engine.models import EntityValue, Intent
from bot.engine.text import normalise

SUPPORTED_VERSION = 1
MAX_ANSWER_CHARS = 800
MIN_EXAMPLES = 15
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
LEXICON_FILE = "_lexicon.yaml"
ENTITIES_FILE = "_entities.yaml"
OUT_OF_SCOPE_FILE = "_out_of_scope.yaml"
MESSAGES_FILE = "_messages.yaml"
TOPICS_FILE = "_topics.yaml"
OTHER_PROFESSION = "otherprofession"
"""The canonical word every phrase of `other_professions` in `_lexicon.yaml` maps to."""
MESSAGE_KEYS = (
    "fallback_suggest",
    "fallback_topics",
    "clarify",
    "not_covered",
    "empty",
    "too_long",
    "also_asked",
    # Telegram (bot/telegram/)
    "start",
    "help",
    "about",
    "topics_header",
    "non_text",
    "slow_down",
    "button_expired",
    "feedback_thanks",
    "error",
    "inline_button",
    "button_helpful",
    "button_unhelpful",
    "button_back",
    "button_previous",
    "button_next",
    "command_start",
    "command_help",
    "command_topics",
    "command_about",
    "command_forgetme",
    "forgetme_done",
    "admin_no_log",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base."""

    file: str
    message: str
    intent: str | None = None
    field: str | None = None
    line: int | None = None

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

    def title(self, intent_id: str) -> str:
        return self.intents[intent_id].title


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(self, path: Path, message: str, intent: str | None = None, fld: str | None = None, line: int | None = None) -> None:
        self.problems.append(Problem(self.rel(path), message, intent, fld, line))

    def yaml_file(self, path: Path) -> dict[str, Any] | None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(path, f"YAML syntax error: {reason}", line=line)
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, f"cannot read file: {exc}")
            return None
        if not isinstance(data, dict):
            self.problem(path, "expected a mapping of keys (key: value) at the top level")
            return None
        version = data.get("version")
        if version != SUPPORTED_VERSION:
            self.problem(path, f"version must be {SUPPORTED_VERSION}, found {version!r}", fld="version")
        return data

    def str_list(self, path: Path, data: Mapping[str, Any], key: str, intent: str | None, required: bool = False) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(path, "is missing", intent, key)
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            self.problem(path, "must be a list of texts", intent, key)
            return ()
        for v in value:
            if isinstance(v, bool):
                self.problem(
                    path,
                    f"{str(v).lower()!r} was read as yes/no: YAML reads on, off, yes, no as booleans; put the word in quotes",
                    intent,
                    key,
                )
        items = tuple(str(v).strip() for v in value)
        if any(not v for v in items):
            self.problem(path, "contains an empty entry", intent, key)
        return tuple(v for v in items if v)


_INTENT_KEYS = {"version", "id", "title", "kind", "entity", "examples", "keywords", "follow_ups", "about"}


def load(root: Path) -> KnowledgeBase:
    """Load and check the knowledge base under `root`; raise KnowledgeBaseError on any problem."""
    reader = _Reader(root)
    intents_dir, content_dir = root / "intents", root / "content"
    for folder in (intents_dir, content_dir):
        if not folder.is_dir():
            raise KnowledgeBaseError([Problem(str(folder), "folder not found")])
    lexicon, entities = _load_lexicon(reader, intents_dir)
    out_of_scope, task_verbs, politeness = _load_out_of_scope(reader, intents_dir)
    messages = _load_messages(reader, content_dir)
    intents = _load_intents(reader, intents_dir, content_dir, entities)
    topics = _load_topics(reader, intents_dir, intents)
    if reader.problems:
        raise KnowledgeBaseError(reader.problems)
    return KnowledgeBase(root, intents, lexicon, entities, out_of_scope, task_verbs, politeness, messages, topics)


def _load_topics(reader: _Reader, folder: Path, intents: Mapping[str, Intent]) -> tuple[TopicGroup, ...]:
    path = folder / TOPICS_FILE
    if not path.exists():
        reader.problem(path, "file not found")
        return ()
    data = reader.yaml_file(path) or {}
    groups: list[TopicGroup] = []
    placed: dict[str, str] = {}
    raw = data.get("groups")
    if not isinstance(raw, list) or not raw:
        reader.problem(path, "must be a non-empty list of groups (title, intents)", fld="groups")
        return ()
    for position, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            reader.problem(path, f"group {position} needs a title and a list of intents", fld="groups")
            continue
        members = reader.str_list(path, item, "intents", None, required=True)
        for member in members:
            if member not in intents:
                reader.problem(path, f"group {item['title']!r} lists {member!r}, which is not an intent", member, "groups")
            elif member in placed:
                reader.problem(path, f"{member!r} is in both {placed[member]!r} and {item['title']!r}", member, "groups")
            placed.setdefault(member, item["title"])
        groups.append(TopicGroup(item["title"], tuple(m for m in members if m in intents)))
    for intent in intents.values():
        if intent.kind == "answer" and intent.id not in placed:
            reader.problem(path, "answer intent is in no topic group, so no menu shows it", intent.id, "groups")
    return tuple(groups)


def _load_lexicon(reader: _Reader, folder: Path) -> tuple[Lexicon, dict[str, dict[str, EntityValue]]]:
    path = folder / LEXICON_FILE
    data = reader.yaml_file(path) if path.exists() else {}
    if not path.exists():
        reader.problem(path, "file not found")
    data = data or {}
    stopwords = frozenset(normalise(w) for w in reader.str_list(path, data, "stopwords", None))
    synonyms: dict[str, str] = {}
    raw_synonyms = data.get("synonyms") or {}
    if not isinstance(raw_synonyms, dict):
        reader.problem(path, "must map a canonical word to a list of variants", fld="synonyms")
        raw_synonyms = {}
    for canonical, variants in raw_synonyms.items():
        if not isinstance(variants, list):
            reader.problem(path, f"variants of {canonical!r} must be a list", fld="synonyms")
            continue
        for variant in variants:
            key = normalise(str(variant))
            if key in synonyms and synonyms[key] != normalise(str(canonical)):
                reader.problem(path, f"{variant!r} is listed under both {synonyms[key]!r} and {canonical!r}", fld="synonyms")
            synonyms[key] = normalise(str(canonical))
    symbols = data.get("symbols") or {}
    if not isinstance(symbols, dict):
        reader.problem(path, "must map a symbol to its replacement", fld="symbols")
        symbols = {}

    epath = folder / ENTITIES_FILE
    edata = (reader.yaml_file(epath) if epath.exists() else None) or {}
    if not epath.exists():
        reader.problem(epath, "file not found")
    entities: dict[str, dict[str, EntityValue]] = {}
    aliases: dict[str, tuple[str, str]] = {}
    uncovered: set[str] = set()
    raw_entities = edata.get("entities") or {}
    if not isinstance(raw_entities, dict):
        reader.problem(epath, "must map an entity type to its values", fld="entities")
        raw_entities = {}
    for etype, values in raw_entities.items():
        if not isinstance(values, dict):
            reader.problem(epath, f"values of entity {etype!r} must be a mapping", fld="entities")
            continue
        entities[etype] = {}
        for value, spec in values.items():
            spec = spec or {}
            if not isinstance(spec, dict):
                reader.problem(epath, f"{etype}.{value} must have a label and aliases", fld="entities")
                continue
            names = reader.str_list(epath, spec, "aliases", f"{etype}.{value}")
            label = str(spec.get("label") or value)
            entities[etype][str(value)] = EntityValue(etype, str(value), label, names)
            if spec.get("covered", True) is False:
                uncovered.add(str(value))
            for name in (str(value), *names):
                key = normalise(name, {str(k): str(v) for k, v in symbols.items()})
                if not key or key in stopwords:
                    continue
                if key in aliases and aliases[key] != (etype, str(value)):
                    reader.problem(epath, f"alias {name!r} names both {aliases[key][1]} and {value}", fld="aliases")
                aliases[key] = (etype, str(value))
    anchors = frozenset(synonyms.get(normalise(w), normalise(w)) for w in reader.str_list(path, data, "anchors", None))
    for phrase in reader.str_list(path, data, "other_professions", None):
        synonyms[normalise(phrase)] = OTHER_PROFESSION
    lexicon = Lexicon(
        stopwords,
        synonyms,
        {str(k): str(v) for k, v in symbols.items()},
        aliases,
        anchors,
        frozenset(uncovered),
        frozenset({OTHER_PROFESSION}),
    )
    return lexicon, entities


def _load_out_of_scope(reader: _Reader, folder: Path) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    path = folder / OUT_OF_SCOPE_FILE
    if not path.exists():
        return (), frozenset(), frozenset()
    data = reader.yaml_file(path) or {}
    examples = reader.str_list(path, data, "examples", None, required=True)
    verbs = frozenset(normalise(v) for v in reader.str_list(path, data, "task_verbs", None))
    politeness = frozenset(normalise(v) for v in reader.str_list(path, data, "politeness", None))
    return examples, verbs, politeness


def _load_messages(reader: _Reader, folder: Path) -> dict[str, str]:
    path = folder / MESSAGES_FILE
    if not path.exists():
        reader.problem(path, "file not found")
        return {}
    data = reader.yaml_file(path) or {}
    messages = {k: str(v).strip() for k, v in data.items() if k != "version" and v is not None}
    for key in MESSAGE_KEYS:
        if not messages.get(key):
            reader.problem(path, "is missing", fld=key)
    return messages


def _load_intents(
    reader: _Reader, intents_dir: Path, content_dir: Path, entities: Mapping[str, Mapping[str, EntityValue]]
) -> dict[str, Intent]:
    intents: dict[str, Intent] = {}
    for path in sorted(intents_dir.glob("*.yaml")) + sorted(intents_dir.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        data = reader.yaml_file(path)
        if data is None:
            continue
        intent = _intent(reader, path, data, content_dir, entities)
        if intent is None:
            continue
        if intent.id in intents:
            reader.problem(path, f"duplicate id, also used by {reader.rel(intents[intent.id].source)}", intent.id, "id")
            continue
        intents[intent.id] = intent
    if not intents:
        reader.problem(intents_dir, "no intent files found")
    for intent in intents.values():
        for target in intent.follow_ups:
            if target not in intents:
                reader.problem(intent.source, f"follow-up {target!r} is not an intent", intent.id, "follow_ups")
    seen: dict[str, str] = {}
    for intent in intents.values():
        for example in intent.examples:
            key = normalise(example)
            other = seen.setdefault(key, intent.id)
            if other != intent.id:
                reader.problem(intent.source, f"example {example!r} is also listed under intent {other!r}", intent.id, "examples")
    for path in sorted(content_dir.glob("*.md")):
        stem = path.name[:-3]
        base, _, variant = stem.partition(".")
        if base not in intents:
            reader.problem(path, f"answer file for unknown intent {base!r} (no intents/{base}.yaml)")
        elif variant and variant not in intents[base].variants:
            entity = intents[base].entity
            reader.problem(
                path,
                f"variant {variant!r} is not a value of entity {entity!r}"
                if entity
                else "intent has no `entity`, so it cannot have variant answers",
                base,
            )
    return intents


def _intent(
    reader: _Reader, path: Path, data: Mapping[str, Any], content_dir: Path, entities: Mapping[str, Mapping[str, EntityValue]]
) -> Intent | None:
    intent_id = data.get("id")
    if not isinstance(intent_id, str) or not ID_PATTERN.match(intent_id):
        reader.problem(
            path, "must be lowercase letters, digits and underscores, starting with a letter", str(intent_id) if intent_id else None, "id"
        )
        return None
    if intent_id != path.stem:
        reader.problem(path, f"id {intent_id!r} must match the file name {path.stem!r}", intent_id, "id")
    for key in sorted(set(data) - _INTENT_KEYS):
        reader.problem(path, f"unknown field (allowed: {', '.join(sorted(_INTENT_KEYS))})", intent_id, str(key))
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        reader.problem(path, "is missing or empty", intent_id, "title")
        title = intent_id
    elif len(title) > 40:
        reader.problem(path, f"is {len(title)} characters; keep it at most 40 (it is shown on buttons)", intent_id, "title")
    kind = data.get("kind", "answer")
    if kind not in ("answer", "smalltalk"):
        reader.problem(path, f"must be 'answer' or 'smalltalk', found {kind!r}", intent_id, "kind")
        kind = "answer"
    examples = reader.str_list(path, data, "examples", intent_id, required=True)
    if len(examples) < MIN_EXAMPLES:
        reader.problem(path, f"has {len(examples)} examples; at least {MIN_EXAMPLES} are needed", intent_id, "examples")
    keywords = reader.str_list(path, data, "keywords", intent_id)
    follow_ups = reader.str_list(path, data, "follow_ups", intent_id)
    entity = data.get("entity")
    if entity is not None and entity not in entities:
        reader.problem(path, f"unknown entity type {entity!r} (known: {', '.join(entities)})", intent_id, "entity")
        entity = None
    answer_path = content_dir / f"{intent_id}.md"
    answer = _answer(reader, answer_path, intent_id)
    variants: dict[str, str] = {}
    if entity:
        for value in entities[entity]:
            variant_path = content_dir / f"{intent_id}.{value}.md"
            if variant_path.exists():
                variants[value] = _answer(reader, variant_path, intent_id)
    about = _about(reader, path, data, intent_id, entities)
    return Intent(intent_id, title.strip(), kind, examples, keywords, follow_ups, entity, answer, variants, path, about)


def _about(
    reader: _Reader, path: Path, data: Mapping[str, Any], intent_id: str, entities: Mapping[str, Mapping[str, EntityValue]]
) -> dict[str, str]:
    """The optional `about: {entity type: value}` of an intent, checked against _entities.yaml."""
    raw = data.get("about")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        reader.problem(path, "must map an entity type to one of its values, e.g. {language: python}", intent_id, "about")
        return {}
    about: dict[str, str] = {}
    for etype, value in raw.items():
        if etype not in entities or str(value) not in entities[etype]:
            reader.problem(path, f"{etype}: {value} is not an entity value of _entities.yaml", intent_id, "about")
        else:
            about[str(etype)] = str(value)
    return about


def _answer(reader: _Reader, path: Path, intent_id: str) -> str:
    if not path.exists():
        reader.problem(path, "answer file is missing", intent_id, "answer")
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
