"""`faqbot report`: what users asked that the bot could not answer well, and how each intent is doing.

The maintainers' to-do list: the unanswered (fallback) and low-confidence questions of
a period, grouped by similarity, each group with its count, a representative wording
and the intent it came closest to, most frequent first ("add these phrasings to intent
X", "create a new intent for Y"). Then per intent: times asked, mean score, 👍/👎, and
the intents nobody asked about.

Grouping: each question is reduced to its meaningful words (the knowledge base's stop
words removed, its synonyms canonicalised: "how much do back-end devs earn" ->
"much backend developer earn"), and questions join a group when rapidfuzz's
`token_sort_ratio` between their keys and any member's reaches `similarity` (0..100).
Questions are taken most frequent first, so a group's first member is its most asked
wording.

Everything here is plain data in, plain data out; `build_report` reads the store, the
render functions turn a `Report` into a rich table, CSV, JSON, a short chat message or
a YAML patch of suggested example phrasings.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import yaml
from rapidfuzz import fuzz, process
from rich.console import Console
from rich.table import Table

from bot.engine.text import normalise
from bot.maintenance.events import FeedbackCount, Recorder, StoredQuestion

DEFAULT_THRESHOLD = 0.65
"""Questions answered with a score below this count as low-confidence."""
DEFAULT_SIMILARITY = 75.0
"""token_sort_ratio (0..100) of the meaningful words from which two questions are grouped."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Format = Literal["table", "csv", "json"]


def parse_duration(text: str) -> float:
    """Seconds in "30m", "24h", "7d", "2w" (or "90s"); raise ValueError otherwise."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d, 2w)")
    seconds = float(found.group(1)) * _UNITS[found.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"the duration must be positive: {text!r}")
    return seconds


@dataclass(frozen=True)
class Wording:
    """One way a question was put (its most common spelling) and how often."""

    text: str
    count: int


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that say the same thing."""

    count: int
    representative: str
    """The most asked wording (the most central one among equally frequent ones)."""
    closest_intent: str | None
    """The intent these questions came closest to (answered with low confidence, or suggested); None: no intent was near."""
    closest_title: str | None
    fallbacks: int
    """How many of them got a fallback (the rest were answered with low confidence)."""
    mean_score: float
    wordings: tuple[Wording, ...]
    """Distinct wordings, most asked first (the representative included)."""


@dataclass(frozen=True)
class IntentStats:
    intent: str
    title: str
    asked: int
    mean_score: float | None
    helpful: int
    unhelpful: int
    in_kb: bool = True
    """False for intents found in the log but no longer in the knowledge base."""


@dataclass(frozen=True)
class Report:
    since: float
    until: float
    threshold: float
    similarity: float
    questions: int
    """All questions of the period."""
    unanswered: int
    """Fallbacks and low-confidence answers of the period (with their text still kept)."""
    groups: tuple[QuestionGroup, ...]
    intents: tuple[IntentStats, ...]
    never_asked: tuple[str, ...]


class Keys:
    """The grouping key of a question: its meaningful words, synonyms canonicalised."""

    def __init__(
        self, stopwords: Iterable[str] = (), synonyms: Mapping[str, str] | None = None, symbols: Mapping[str, str] | None = None
    ) -> None:
        self.stopwords = frozenset(stopwords)
        synonyms = synonyms or {}
        self.words = {k: v for k, v in synonyms.items() if " " not in k}
        self.phrases = sorted(((k, v) for k, v in synonyms.items() if " " in k), key=lambda kv: -len(kv[0]))
        self.symbols = dict(symbols or {})

    def __call__(self, text: str) -> str:
        padded = f" {normalise(text, self.symbols)} "
        for phrase, canonical in self.phrases:
            padded = padded.replace(f" {phrase} ", f" {canonical} ")
        words = [self.words.get(w, w) for w in padded.split()]
        content = [w for w in words if w not in self.stopwords]
        return " ".join(content or words)


def is_unanswered(row: StoredQuestion, threshold: float) -> bool:
    """A fallback, or an answer with a score below `threshold`."""
    return row.fallback or row.score < threshold


def closest_intent(row: StoredQuestion, known: Mapping[str, str] | None = None) -> str | None:
    """The intent the question was answered with, else its first suggestion (ids or, failing that, titles of `known`)."""
    if row.intent:
        return row.intent
    by_title = {title: intent for intent, title in (known or {}).items()}
    for suggestion in row.suggestions:
        if known is None or suggestion in known:
            return suggestion
        if suggestion in by_title:
            return by_title[suggestion]
    return None


def group_questions(
    rows: Sequence[StoredQuestion],
    similarity: float = DEFAULT_SIMILARITY,
    key: Callable[[str], str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> list[QuestionGroup]:
    """Group `rows` by similarity of their (normalised) text; most frequent group first. Rows without text are skipped."""
    key = key or Keys()
    by_key: dict[str, list[StoredQuestion]] = {}
    for row in rows:
        source = row.normalised or row.text
        if not source:
            continue
        by_key.setdefault(key(source), []).append(row)
    ordered = sorted(by_key, key=lambda k: (-len(by_key[k]), k))
    members: list[list[str]] = []
    assigned: list[str] = []
    group_of: list[int] = []
    for text_key in ordered:
        found = process.extractOne(text_key, assigned, scorer=fuzz.token_sort_ratio, score_cutoff=similarity) if assigned else None
        if found is None:
            members.append([text_key])
            group_of.append(len(members) - 1)
        else:
            group = group_of[found[2]]
            members[group].append(text_key)
            group_of.append(group)
        assigned.append(text_key)
    groups = [_group([row for k in keys for row in by_key[k]], key, titles) for keys in members]
    return sorted(groups, key=lambda g: (-g.count, g.representative.casefold()))


def _group(rows: list[StoredQuestion], key: Callable[[str], str], titles: Mapping[str, str] | None) -> QuestionGroup:
    spellings: dict[str, Counter[str]] = {}
    for row in rows:
        text = " ".join((row.text or row.normalised or "").split())
        spellings.setdefault(row.normalised or normalise(text), Counter())[text] += 1
    wordings = [Wording(counter.most_common(1)[0][0], sum(counter.values())) for counter in spellings.values()]
    keys = [key(w.text) for w in wordings]

    def centrality(index: int) -> float:
        return sum(fuzz.token_sort_ratio(keys[index], other) * w.count for other, w in zip(keys, wordings, strict=True))

    order = sorted(range(len(wordings)), key=lambda i: (-wordings[i].count, -centrality(i), len(wordings[i].text), wordings[i].text))
    intents = Counter(i for i in (closest_intent(row, titles) for row in rows) if i is not None)
    intent = intents.most_common(1)[0][0] if intents else None
    return QuestionGroup(
        count=len(rows),
        representative=wordings[order[0]].text,
        closest_intent=intent,
        closest_title=(titles or {}).get(intent) if intent else None,
        fallbacks=sum(row.fallback for row in rows),
        mean_score=sum(row.score for row in rows) / len(rows),
        wordings=tuple(wordings[i] for i in order),
    )


def intent_stats(
    rows: Sequence[StoredQuestion], feedback: Sequence[FeedbackCount], titles: Mapping[str, str]
) -> tuple[list[IntentStats], list[str]]:
    """Per intent of the knowledge base (`titles`: id -> title) and of the log: times asked, mean score, 👍/👎.

    Returns the statistics (most asked first) and the knowledge-base intents never asked.
    """
    scores: dict[str, list[float]] = {}
    for row in rows:
        if row.intent:
            scores.setdefault(row.intent, []).append(row.score)
    votes = {f.intent: f for f in feedback if f.intent}
    stats: list[IntentStats] = []
    for intent in dict.fromkeys([*titles, *scores, *votes]):
        asked = scores.get(intent, [])
        vote = votes.get(intent)
        stats.append(
            IntentStats(
                intent=intent,
                title=titles.get(intent, intent),
                asked=len(asked),
                mean_score=sum(asked) / len(asked) if asked else None,
                helpful=vote.helpful if vote else 0,
                unhelpful=vote.unhelpful if vote else 0,
                in_kb=intent in titles,
            )
        )
    never = [s.intent for s in stats if s.in_kb and s.asked == 0]
    stats.sort(key=lambda s: (-s.asked, -(s.helpful + s.unhelpful), s.intent))
    return stats, never


async def build_report(
    store: Recorder,
    titles: Mapping[str, str],
    since: float,
    until: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    similarity: float = DEFAULT_SIMILARITY,
    key: Callable[[str], str] | None = None,
) -> Report:
    """Read the period [since, until) from `store` and build the report. `titles`: the knowledge base's intent id -> title."""
    until = time.time() if until is None else until
    rows = await store.questions(since, until)
    feedback = await store.feedback_counts(since, until)
    unanswered = [r for r in rows if is_unanswered(r, threshold) and (r.normalised or r.text)]
    groups = group_questions(unanswered, similarity, key, titles)
    stats, never = intent_stats(rows, feedback, titles)
    return Report(since, until, threshold, similarity, len(rows), len(unanswered), tuple(groups), tuple(stats), tuple(never))


# -- rendering ---------------------------------------------------------------------------------


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def render_table(report: Report, console: Console, limit: int = 30) -> None:
    """Print the report as rich tables."""
    period = f"{_when(report.since)} – {_when(report.until)}"
    console.print(
        f"[bold]{report.questions}[/bold] questions, [bold]{report.unanswered}[/bold] unanswered or low-confidence "
        f"(score < {report.threshold:g}) in {period}",
        highlight=False,
    )
    groups = Table(title=f"Unanswered and low-confidence questions, grouped ({len(report.groups)} groups)", show_lines=False)
    for column in ("#", "count", "representative wording", "closest intent", "fallbacks", "other wordings"):
        groups.add_column(column, justify="left" if column in ("representative wording", "closest intent", "other wordings") else "right")
    for rank, group in enumerate(report.groups[:limit], 1):
        others = "; ".join(w.text for w in group.wordings[1:4]) + (" …" if len(group.wordings) > 4 else "")
        groups.add_row(
            str(rank),
            str(group.count),
            group.representative,
            group.closest_intent or "[dim]none (new intent?)[/dim]",
            str(group.fallbacks),
            others,
        )
    console.print(groups)
    if len(report.groups) > limit:
        console.print(f"… and {len(report.groups) - limit} more groups (use --format csv for all)")
    intents = Table(title="Per intent")
    for column in ("intent", "asked", "mean score", "👍", "👎"):
        intents.add_column(column, justify="left" if column == "intent" else "right")
    for stat in report.intents:
        if stat.asked or stat.helpful or stat.unhelpful:
            name = stat.intent if stat.in_kb else f"{stat.intent} [dim](not in the KB)[/dim]"
            score = "" if stat.mean_score is None else f"{stat.mean_score:.2f}"
            intents.add_row(name, str(stat.asked), score, str(stat.helpful), str(stat.unhelpful))
    console.print(intents)
    if report.never_asked:
        console.print(f"Never asked ({len(report.never_asked)}): {', '.join(report.never_asked)}", highlight=False)


# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), with their full-width forms.
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")


def csv_cell(value: object) -> object:
    """A text cell that starts (after any blanks) with a formula character gets a leading `'`, so spreadsheets show it
    as text; numbers and other texts are returned unchanged."""
    if isinstance(value, str) and value and (value[0] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS):
        return "'" + value
    return value


CSV_COLUMNS = ("section", "name", "count", "closest_intent", "fallbacks", "mean_score", "helpful", "unhelpful", "wordings")


def safe_row(writer: csv.DictWriter[str], row: dict[str, object]) -> None:
    """Write one row with every cell made safe by `csv_cell`."""
    writer.writerow({key: csv_cell(value) for key, value in row.items()})


def to_csv(report: Report) -> str:
    """One CSV with a `section` column: `group` rows (the to-do list, most frequent first), then `intent` rows.

    Never-asked intents are `intent` rows with count 0. Every text cell goes through `csv_cell` (no formulas).
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for group in report.groups:
        safe_row(
            writer,
            {
                "section": "group",
                "name": group.representative,
                "count": group.count,
                "closest_intent": group.closest_intent or "",
                "fallbacks": group.fallbacks,
                "mean_score": f"{group.mean_score:.4f}",
                "helpful": "",
                "unhelpful": "",
                "wordings": " | ".join(f"{w.text} ({w.count})" for w in group.wordings),
            }
        )
    for stat in report.intents:
        safe_row(
            writer,
            {
                "section": "intent",
                "name": stat.intent,
                "count": stat.asked,
                "closest_intent": "",
                "fallbacks": "",
                "mean_score": "" if stat.mean_score is None else f"{stat.mean_score:.4f}",
                "helpful": stat.helpful,
                "unhelpful": stat.unhelpful,
                "wordings": "",
            }
        )
    return out.getvalue()


def to_json(report: Report) -> str:
    data = asdict(report)
    data["since_iso"] = datetime.fromtimestamp(report.since).isoformat(timespec="seconds")
    data["until_iso"] = datetime.fromtimestamp(report.until).isoformat(timespec="seconds")
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def summary_text(report: Report, limit: int = 10) -> str:
    """A short plain-text version for a chat message (e.g. the admin command /report)."""
    lines = [f"{report.unanswered} of {report.questions} questions unanswered or low-confidence since {_when(report.since)}."]
    if not report.groups:
        lines.append("Nothing to do.")
    for rank, group in enumerate(report.groups[:limit], 1):
        target = f"→ {group.closest_intent}" if group.closest_intent else "→ new intent?"
        lines.append(f"{rank}. {group.count}× “{group.representative}” {target}")
    if len(report.groups) > limit:
        lines.append(f"… and {len(report.groups) - limit} more groups.")
    return "\n".join(lines)


def _yaml_scalar(text: str) -> str:
    dumped = yaml.safe_dump(text, allow_unicode=True, width=1_000_000).removesuffix("\n...\n").removesuffix("\n")
    return dumped if "\n" not in dumped else json.dumps(text, ensure_ascii=False)


def suggest_yaml(report: Report, examples: Mapping[str, Iterable[str]], min_count: int = 1) -> str:
    """A YAML patch of suggested example phrasings, per closest intent, for a maintainer to review and merge into intents/.

    `examples`: the current examples of each intent, so phrasings already listed are left out.
    Groups close to no intent are listed under `new_intents` (candidates for a new intent).
    """
    known = {intent: {normalise(e) for e in texts} for intent, texts in examples.items()}
    by_intent: dict[str, list[QuestionGroup]] = {}
    orphans: list[QuestionGroup] = []
    for group in report.groups:
        if group.count < min_count:
            continue
        phrasing = " ".join(group.representative.split())
        if group.closest_intent and group.closest_intent in known:
            if normalise(phrasing) not in known[group.closest_intent]:
                by_intent.setdefault(group.closest_intent, []).append(group)
        else:
            orphans.append(group)
    lines = [
        "version: 1",
        "# Suggested example phrasings from the questions the bot could not answer well",
        f"# ({_when(report.since)} – {_when(report.until)}; fallbacks and scores below {report.threshold:g}).",
        "# Review each one, then copy those that fit under `examples:` in intents/<intent>.yaml",
        "# (run `faqbot validate` afterwards). `new_intents` lists questions close to no intent.",
    ]
    lines.append("intents:" if by_intent else "intents: {}")
    for intent in sorted(by_intent, key=lambda i: (-sum(g.count for g in by_intent[i]), i)):
        lines.append(f"  {intent}:")
        lines.append("    examples:")
        for group in by_intent[intent]:
            lines.append(f"      - {_yaml_scalar(' '.join(group.representative.split()))}  # asked {group.count}×")
    lines.append("new_intents:" if orphans else "new_intents: []")
    for group in orphans:
        lines.append(f"  - {_yaml_scalar(' '.join(group.representative.split()))}  # asked {group.count}×")
    return "\n".join(lines) + "\n"
