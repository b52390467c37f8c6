"""The YAML files of a knowledge base, one pydantic model per kind of file.

Each model checks what its file can check on its own: shape, types, allowed fields,
lengths, and (through the validation context) that an intent's `entity` and `about`
name entities of `_entities.yaml`. Checks across files (follow-ups, topic groups,
answer files, duplicates) are made by `bot.engine.knowledge`, which also turns the
validation errors into `Problem`s with file, intent, field and line.

Error messages are written for the maintainer who edits the file: each validator
raises `PydanticCustomError` with the message `faqbot validate` prints.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Annotated, Any, NoReturn, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

from bot.engine.models import EntityValue, IntentKind

SUPPORTED_VERSION = 1
MIN_EXAMPLES = 15
MAX_TITLE_CHARS = 40
MAX_EXAMPLE_CHARS = 300
"""An example is one question as people ask it; a longer text is a story, and every character is embedded and cached."""
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
ERROR_TYPE = "faqbot"
"""The pydantic error type of every message written here (the others are pydantic's own)."""

MESSAGE_KEYS = (
    "fallback_suggest",
    "fallback_topics",
    "clarify",
    "not_covered",
    "not_covered_here",
    "empty",
    "too_long",
    "also_asked",
    "task_request",
    "topic_not_covered",
    "continue_nothing",
    "other_language_fr",
    "other_language_es",
    "other_language_other",
    # Telegram (bot/telegram/)
    "start",
    "help",
    "help_inline",
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
    "button_none_of_these",
    "none_of_these",
    "unknown_command",
    "command_start",
    "command_help",
    "command_topics",
    "command_about",
    "command_forgetme",
    "forgetme_done",
    "admin_no_log",
)


MESSAGE_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "not_covered": frozenset({"value", "topic", "known"}),
    "not_covered_here": frozenset({"value", "topic", "known"}),
    "topic_not_covered": frozenset({"topic", "note"}),
    "help": frozenset({"bot"}),
    "help_inline": frozenset({"bot"}),
    "about": frozenset({"answers", "groups", "themes"}),
    "forgetme_done": frozenset({"count"}),
    "slow_down": frozenset({"seconds"}),
}
"""The `{placeholders}` the bot fills in each message (the others have none); any other `{...}` would be shown as typed."""
PLACEHOLDER = re.compile(r"\{([^{}\n]*)\}")


def fail(message: str) -> NoReturn:
    raise PydanticCustomError(ERROR_TYPE, message)


# --- lists of texts ---------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        read = str(value).lower()
        fail(f'a word was read as {read} (YAML reads yes, no, on, off, true, false as booleans): put it in quotes, e.g. "no"')
    if isinstance(value, dict):
        fail("a text containing ': ' was read as `key: value`: put the whole text in quotes")
    if isinstance(value, datetime.date):
        fail(f"{value} was read as a date (YAML reads 2024-02-03 as one): put it in quotes")
    if not isinstance(value, str | int | float):
        fail("must be a list of texts")
    return str(value).strip()


def _text_list(value: object) -> object:
    if value is None:
        return []
    if not isinstance(value, list):
        fail("must be a list of texts")
    return value


def _no_empty_entry(items: tuple[str, ...]) -> tuple[str, ...]:
    if not all(items):
        fail("contains an empty entry")
    return items


Text = Annotated[str, BeforeValidator(_text)]
Texts = Annotated[tuple[Text, ...], BeforeValidator(_text_list), AfterValidator(_no_empty_entry)]
"""A YAML list of words or phrases (numbers are read as text; yes/no/on/off must be quoted), stripped, none empty."""


def _short(text: str) -> str:
    if len(text) > MAX_EXAMPLE_CHARS:
        fail(f"is {len(text)} characters; keep an example to one question of at most {MAX_EXAMPLE_CHARS}")
    return text


Examples = Annotated[
    tuple[Annotated[str, BeforeValidator(_text), AfterValidator(_short)], ...], BeforeValidator(_text_list), AfterValidator(_no_empty_entry)
]
"""`Texts` of at most MAX_EXAMPLE_CHARS each: phrasings of a question."""


def _mapping(message: str) -> Any:
    """A before-validator: None is an empty mapping, anything else but a mapping fails with `message`; keys become text."""

    def check(value: object) -> object:
        if value is None:
            return {}
        if not isinstance(value, dict):
            fail(message)
        return {str(k): v for k, v in value.items()}

    return BeforeValidator(check)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _File(_Model):
    version: object = Field(default=None, validate_default=True)

    @field_validator("version")
    @classmethod
    def _supported(cls, value: object) -> object:
        if type(value) is not int or value != SUPPORTED_VERSION:
            fail(f"version must be {SUPPORTED_VERSION}, found {value!r}")
        return value


# --- intents/<id>.yaml ------------------------------------------------------------------------


def _id(value: object) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        fail("must be lowercase letters, digits and underscores, starting with a letter")
    return value


def _title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        fail("is missing or empty")
    title = value.strip()
    if len(title) > MAX_TITLE_CHARS:
        fail(f"is {len(value)} characters; keep it at most {MAX_TITLE_CHARS} (it is shown on buttons)")
    return title


def _kind(value: object) -> object:
    kinds = get_args(IntentKind)
    if value not in kinds:
        fail(f"must be one of {', '.join(repr(k) for k in kinds)}, found {value!r}")
    return value


def _enough_examples(examples: tuple[str, ...]) -> tuple[str, ...]:
    if len(examples) < MIN_EXAMPLES:
        fail(f"has {len(examples)} examples; at least {MIN_EXAMPLES} are needed")
    return examples


def _entities(info: ValidationInfo) -> Mapping[str, Mapping[str, EntityValue]] | None:
    """The entities of `_entities.yaml` from the validation context; None when that file is broken (nothing to check against)."""
    context = info.context or {}
    entities: Mapping[str, Mapping[str, EntityValue]] | None = context.get("entities")
    return entities


class IntentFile(_File):
    """`intents/<id>.yaml`: one intent, its examples and how it links to others."""

    id: Annotated[str, BeforeValidator(_id)]
    title: Annotated[str, BeforeValidator(_title)]
    kind: Annotated[IntentKind, BeforeValidator(_kind)] = "answer"
    entity: str | None = None
    """An entity type of `_entities.yaml`: the intent has variant answers `content/<id>.<value>.md`."""
    examples: Annotated[Examples, AfterValidator(_enough_examples)]
    keywords: Texts = ()
    follow_ups: Texts = ()
    about: Annotated[dict[str, str], _mapping("must map an entity type to one of its values, e.g. {language: python}")] = {}

    @field_validator("entity", mode="before")
    @classmethod
    def _known_entity(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and not isinstance(value, str):
            fail("must be one entity type name, e.g. language")
        entities = _entities(info)
        if value is not None and entities is not None and value not in entities:
            fail(f"unknown entity type {value!r} (known: {', '.join(entities)})")
        return value

    @field_validator("about", mode="before")
    @classmethod
    def _entity_values(cls, value: object, info: ValidationInfo) -> object:
        entities = _entities(info)
        if not isinstance(value, dict):
            return value
        about = {str(k): str(v) for k, v in value.items()}
        for etype, name in about.items():
            if entities is not None and (etype not in entities or name not in entities[etype]):
                fail(f"{etype}: {name} is not an entity value of _entities.yaml")
        return about


# --- intents/_lexicon.yaml and intents/_entities.yaml -----------------------------------------


def _variants(value: object) -> object:
    if not isinstance(value, dict):
        return value
    for canonical, variants in value.items():
        if not isinstance(variants, list):
            fail(f"variants of {canonical!r} must be a list")
    return {k: [str(v) for v in variants] for k, variants in value.items()}


def _symbols(value: object) -> object:
    if not isinstance(value, dict):
        return value
    for symbol, replacement in value.items():
        if not str(symbol or ""):
            fail("has an empty symbol: every key is a character or text to replace, e.g. {'&': and}")
        if not isinstance(replacement, str | int | float) and replacement is not None:
            fail(f"maps {symbol!r} to {replacement!r}: the replacement must be one text")
    return {k: "" if v is None else str(v) for k, v in value.items()}


class LexiconFile(_File):
    """`intents/_lexicon.yaml`: stop words, anchors, other professions, phrases asking the answerer, synonyms, spellings
    and symbols."""

    stopwords: Texts = ()
    anchors: Texts = ()
    other_professions: Texts = ()
    answerer_phrases: Texts = ()
    """Phrases that ask the person answering about their own life ("did you", "your typical day")."""
    synonyms: Annotated[
        dict[str, tuple[str, ...]],
        BeforeValidator(_variants),
        _mapping("must map a canonical word to a list of variants"),
    ] = {}
    spellings: Annotated[
        dict[str, tuple[str, ...]],
        BeforeValidator(_variants),
        _mapping("must map a word to the ways people misspell or shorten it, e.g. {should: [shud, shld]}"),
    ] = {}
    """Misspellings, chat spellings, abbreviations and glued words too far from the words to be corrected ("shud" ->
    should, "ror" -> ruby on rails, "softskills" -> soft skills): unlike synonyms, the semantic side reads the words."""
    symbols: Annotated[dict[str, str], BeforeValidator(_symbols), _mapping("must map a symbol to its replacement")] = {}
    numbers: Annotated[dict[str, int], _mapping("must map a number word to a whole number, e.g. {a few: 3}")] = {}
    """Words for amounts ("a few", "two"), for "a few years' experience" -> a seniority with `years:`."""


def _spec(value: object) -> object:
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail("must have a label and aliases")
    return value


class EntitySpec(_Model):
    """One entity value: how the bot names it, other ways of writing it, and whether the article covers it."""

    label: Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))] = None
    aliases: Texts = ()
    covered: bool = True
    years: tuple[int, int] | None = None
    """Years of experience this value stands for, from and below ("5 years' experience" -> senior)."""

    @field_validator("years")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not 0 <= value[0] < value[1]:
            fail(f"must be [from, below] with from < below, e.g. [2, 5], found {list(value)}")
        return value


class EntitiesFile(_File):
    """`intents/_entities.yaml`: entity type -> value -> label and aliases."""

    entities: Annotated[
        dict[str, Annotated[dict[str, Annotated[EntitySpec, BeforeValidator(_spec)]], _mapping("must be a mapping of values")]],
        _mapping("must map an entity type to its values"),
    ] = {}


# --- intents/_out_of_scope.yaml and intents/_topics.yaml --------------------------------------


class OutOfScopeFile(_File):
    """`intents/_out_of_scope.yaml`: questions to decline, and the words of task requests."""

    examples: Examples
    task_verbs: Texts = ()
    politeness: Texts = ()


def _group(value: object) -> object:
    if not isinstance(value, dict) or not isinstance(value.get("title"), str):
        fail("needs a title and a list of intents")
    return value


def _groups(value: object) -> object:
    if not isinstance(value, list) or not value:
        fail("must be a non-empty list of groups (title, intents)")
    return value


class TopicGroupEntry(_Model):
    title: str
    intents: Texts


class TopicsFile(_File):
    """`intents/_topics.yaml`: how intents are grouped in menus."""

    groups: Annotated[tuple[Annotated[TopicGroupEntry, BeforeValidator(_group)], ...], BeforeValidator(_groups)] = Field(
        default=None, validate_default=True
    )


# --- content/_messages.yaml -------------------------------------------------------------------


def _message(value: object) -> str:
    if value is not None and not isinstance(value, str | int | float):
        fail("must be one text (put a text with ': ' or several lines in quotes, or use `|` for a block)")
    text = "" if value is None else str(value).strip()
    if not text:
        fail("is missing")
    return text


Message = Annotated[str, BeforeValidator(_message)]


def _placeholders(key: str) -> AfterValidator:
    """A check that every `{...}` of message `key` is one the bot fills there."""
    allowed = MESSAGE_PLACEHOLDERS.get(key, frozenset())

    def check(text: str) -> str:
        unknown = [f"{{{name}}}" for name in PLACEHOLDER.findall(text) if name not in allowed]
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in sorted(allowed)) if allowed else "none"
            fail(f"has {', '.join(unknown)}, which the bot does not fill here (it fills: {known}): fix the name or remove the braces")
        return text

    return AfterValidator(check)


class _MessagesBase(_File):
    model_config = ConfigDict(extra="allow", frozen=True)


MessagesFile: type[_MessagesBase] = create_model(
    "MessagesFile",
    __base__=_MessagesBase,
    __doc__="`content/_messages.yaml`: every text the bot says that is not an answer (other keys are kept too).",
    **{key: (Annotated[Message, _placeholders(key)], ...) for key in MESSAGE_KEYS},  # type: ignore[call-overload]
)


def messages_of(model: _MessagesBase) -> dict[str, str]:
    """The messages of a validated `MessagesFile`: the required ones and any other key, stripped."""
    messages = {key: str(getattr(model, key)) for key in MESSAGE_KEYS}
    for key, value in (model.model_extra or {}).items():
        if value is not None:
            messages[key] = str(value).strip()
    return messages
