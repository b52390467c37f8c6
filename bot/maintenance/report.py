"""`faqbot report`: what users asked that the bot could not answer well, and how each intent is doing.

The maintainers' to-do list: the unanswered (fallback) and low-confidence questions of
a period, grouped by similarity, each group with its count, a representative wording
and the intent it came closest to, most frequent first ("add these phrasings to intent
X", "create a new intent for Y"). Then per intent: times asked, mean score, 👍/👎, and
the intents nobody asked about.

What to do with each question ("triage", from what the log recorded: the decision's reason
and the matcher's real best candidates with the closest negative example's score):

- `phrasing`: a plausible question whose best candidate scored at least `near` (the policy's
  "did you mean" level) or that was answered with low confidence: add it to that intent's examples;
- `new_intent`: a question about the job the bot declined although no negative example was close,
  and no intent was near: a topic the knowledge base lacks;
- ignored (only counted): empty, emoji-only, very long, too short to tell, another language,
  a follow-up asked without its conversation, or a value the topic has no answer for.

Grouping is by meaning: with an embedder (the matcher's sentence vectors), each distinct
wording joins the group of the same triage whose centroid it is closest to when their cosine
reaches `similarity` / 100; without one, rapidfuzz's `token_sort_ratio` of the meaningful
words (the knowledge base's stop words removed, synonyms canonicalised) must reach
`similarity`. Wordings are taken most frequent first, so a group's first member is its most
asked wording.

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
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import yaml
from rapidfuzz import fuzz, process

from bot.engine.text import normalise
from bot.maintenance.events import FeedbackCount, Recorder, StoredQuestion

if TYPE_CHECKING:  # the table is for the command line; the bot's /report sends CSV and text without rich
    from rich.console import Console

DEFAULT_THRESHOLD = 0.65
"""Questions answered with a score below this count as low-confidence."""
DEFAULT_SIMILARITY = 70.0
"""From how similar (0..100: cosine x 100 of the sentence vectors, or token_sort_ratio without them) two questions are grouped."""
DEFAULT_NEAR = 0.3
"""A declined question whose best intent scored at least this is a phrasing of that intent (the policy's `suggest`)."""
DEFAULT_MARGIN = 0.05
"""A declined question whose closest negative example scored within this of its best intent is off topic (`off_topic_margin`)."""
DEFAULT_DOMAIN = 0.3
"""Cosine to the centre of the topics from which a declined question is about the job (unrelated everyday questions
score below 0.2 with all-MiniLM-L6-v2, questions about the developer job above 0.3 on the replayed tune set)."""
MAX_PHRASING_CHARS = 200
"""Longer messages are never proposed as example phrasings (stories, pasted text)."""
MIN_WORDS_UNMATCHED = 3
"""A question near no intent needs this many words to be proposed as a new intent or a negative example ("lol" is not)."""
Triage = Literal["phrasing", "new_intent", "off_topic", "ignored"]
_IGNORED_REASONS = frozenset({"empty", "too_long", "other_language", "value_not_covered"})
_DECLINED_REASONS = frozenset({"off_topic", "task_request"})
Embed = Callable[[Sequence[str]], "npt.NDArray[np.float32]"]
"""Texts in, L2-normalised sentence vectors out (e.g. `Vectors.embedder.embed`)."""

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
    triage: Triage = "phrasing"
    """What to do with them (see the module's docstring)."""


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
    ignored: int = 0
    """Unanswered messages left out of the to-do list: empty, emoji-only, very long, too short, another language."""


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
    """The intent the question was answered with, else the matcher's best logged candidate; for records written
    before candidates were logged, its first suggestion (ids or, failing that, titles of `known`)."""
    if row.intent:
        return row.intent
    if row.candidates:
        nearest = row.nearest
        return nearest.intent if nearest else None
    by_title = {title: intent for intent, title in (known or {}).items()}
    for suggestion in row.suggestions:
        if known is None or suggestion in known:
            return suggestion
        if suggestion in by_title:
            return by_title[suggestion]
    return None


def plausible_text(text: str) -> bool:
    """A message worth reading as a question: some letters, not longer than `MAX_PHRASING_CHARS`."""
    stripped = " ".join(text.split())
    return any(ch.isalpha() for ch in stripped) and len(stripped) <= MAX_PHRASING_CHARS


@dataclass(frozen=True)
class Meaning:
    """The semantic signal the report groups and triages with: the matcher's sentence vectors and the centre of
    the knowledge base's topics (the normalised mean vector of the answer intents' examples)."""

    embed: Embed
    centre: npt.NDArray[np.float32] | None = None
    domain: float = DEFAULT_DOMAIN
    """A declined question closer than this (cosine) to the centre is about the job: a new intent, not off topic."""


_FOLLOW_UP_OPENINGS = ("and ", "what about ", "how about ", "same for ", "same with ")


def triage(row: StoredQuestion, near: float = DEFAULT_NEAR, margin: float = DEFAULT_MARGIN, relevance: float | None = None) -> Triage:
    """What a maintainer should do with one unanswered or low-confidence question (see the module's docstring).

    `relevance`: the question's cosine to the topics' centre (`Meaning`), divided by the domain bar: below 1, a declined
    question near no intent is off topic; without it, one the negative examples did not claim is a new intent."""
    text = row.text or row.normalised or ""
    if not plausible_text(text) or row.reason in _IGNORED_REASONS:
        return "ignored"
    if row.reason is None and not row.candidates:  # recorded before reasons and candidates were kept
        return "phrasing" if closest_intent(row) else ("new_intent" if _words(text) >= MIN_WORDS_UNMATCHED else "ignored")
    folded = " ".join(text.casefold().split())
    if folded.startswith(_FOLLOW_UP_OPENINGS):
        return "ignored"  # a follow-up ("and for seniors?") means something only in its conversation
    nearest = row.nearest
    best = nearest.score if nearest else 0.0
    if row.intent and (not row.fallback or row.reason == "topic_not_covered"):
        return "phrasing"  # answered with low confidence, or by a topic the sources do not cover (about the job all the same)
    if nearest is not None and best >= near and row.reason not in _DECLINED_REASONS and (relevance is None or relevance >= 1.0):
        return "phrasing"  # a "did you mean" about the job (one far from every topic is off topic, below)
    if row.reason == "task_request":
        return "off_topic"
    if _words(text) < MIN_WORDS_UNMATCHED:
        return "ignored"  # too short to tell
    oos = row.out_of_scope or 0.0
    if oos >= best - margin or (relevance is not None and relevance < 1.0):
        return "off_topic"
    return "new_intent"


def _words(text: str) -> int:
    return sum(1 for w in text.split() if any(ch.isalpha() for ch in w))


def group_questions(
    rows: Sequence[StoredQuestion],
    similarity: float = DEFAULT_SIMILARITY,
    key: Callable[[str], str] | None = None,
    titles: Mapping[str, str] | None = None,
    meaning: Meaning | None = None,
    near: float = DEFAULT_NEAR,
    margin: float = DEFAULT_MARGIN,
) -> list[QuestionGroup]:
    """Group `rows` by meaning (with `meaning`) or by their words, within the same triage; most frequent group first.

    Rows without text and rows triaged `ignored` are skipped.
    """
    rows = [row for row in rows if row.normalised or row.text]
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    if meaning is not None:
        texts = list(dict.fromkeys(_text(row) for row in rows))
        vectors = dict(zip(texts, meaning.embed(texts), strict=True)) if texts else {}
    by_triage: dict[Triage, list[StoredQuestion]] = {}
    for row in rows:
        relevance = None
        if meaning is not None and meaning.centre is not None:
            relevance = float(vectors[_text(row)] @ meaning.centre) / max(meaning.domain, 1e-9)
        kind = triage(row, near, margin, relevance)
        if kind != "ignored":
            by_triage.setdefault(kind, []).append(row)
    groups: list[QuestionGroup] = []
    for kind, members in by_triage.items():
        if meaning is None:
            groups += _group_by_words(members, similarity, key or Keys(), titles, kind)
        else:
            groups += _group_by_meaning(members, similarity, vectors, titles, kind)
    return sorted(groups, key=lambda g: (-g.count, g.representative.casefold()))


def _text(row: StoredQuestion) -> str:
    """The text a row is embedded by (cut like the matcher cuts questions)."""
    return " ".join((row.text or row.normalised or "").split())[:MAX_PHRASING_CHARS]


def _by_wording(rows: Sequence[StoredQuestion]) -> dict[str, list[StoredQuestion]]:
    """Rows by normalised wording, most asked first."""
    found: dict[str, list[StoredQuestion]] = {}
    for row in rows:
        found.setdefault(row.normalised or normalise(row.text or ""), []).append(row)
    return dict(sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def _group_by_meaning(
    rows: Sequence[StoredQuestion],
    similarity: float,
    vectors: Mapping[str, npt.NDArray[np.float32]],
    titles: Mapping[str, str] | None,
    kind: Triage,
) -> list[QuestionGroup]:
    """Leader clustering on sentence vectors: a wording joins the group whose centroid is closest, if close enough."""
    wordings = _by_wording(rows)
    bar = similarity / 100.0
    sums: list[npt.NDArray[np.float32]] = []
    members_of: list[list[str]] = []
    for wording, members in wordings.items():
        vector = vectors[_text(members[0])]
        if sums:
            centroids = np.stack(sums)
            centroids = centroids / np.clip(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12, None)
            cosines = centroids @ vector
            best = int(np.argmax(cosines))
            if float(cosines[best]) >= bar:
                sums[best] = sums[best] + vector * len(wordings[wording])
                members_of[best].append(wording)
                continue
        sums.append(vector * len(wordings[wording]))
        members_of.append([wording])
    return [_group([row for w in members for row in wordings[w]], Keys(), titles, kind) for members in members_of]


def _group_by_words(
    rows: Sequence[StoredQuestion], similarity: float, key: Callable[[str], str], titles: Mapping[str, str] | None, kind: Triage
) -> list[QuestionGroup]:
    by_key: dict[str, list[StoredQuestion]] = {}
    for row in rows:
        by_key.setdefault(key(row.normalised or row.text or ""), []).append(row)
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
    return [_group([row for k in keys for row in by_key[k]], key, titles, kind) for keys in members]


def _group(rows: list[StoredQuestion], key: Callable[[str], str], titles: Mapping[str, str] | None, kind: Triage) -> QuestionGroup:
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
    intent = intents.most_common(1)[0][0] if intents and kind == "phrasing" else None
    return QuestionGroup(
        count=len(rows),
        representative=wordings[order[0]].text,
        closest_intent=intent,
        closest_title=(titles or {}).get(intent) if intent else None,
        fallbacks=sum(row.fallback for row in rows),
        mean_score=sum(row.score for row in rows) / len(rows),
        wordings=tuple(wordings[i] for i in order),
        triage=kind,
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
    meaning: Meaning | None = None,
    near: float = DEFAULT_NEAR,
    margin: float = DEFAULT_MARGIN,
) -> Report:
    """Read the period [since, until) from `store` and build the report. `titles`: the knowledge base's intent id -> title.

    `meaning` groups by meaning and tells the job's questions from the rest (see `group_questions`);
    `near`/`margin`: the policy's levels (see `triage`).
    """
    until = time.time() if until is None else until
    rows = await store.questions(since, until)
    feedback = await store.feedback_counts(since, until)
    unanswered = [r for r in rows if is_unanswered(r, threshold) and (r.normalised or r.text)]
    groups = group_questions(unanswered, similarity, key, titles, meaning, near, margin)
    stats, never = intent_stats(rows, feedback, titles)
    ignored = len(unanswered) - sum(g.count for g in groups)
    return Report(since, until, threshold, similarity, len(rows), len(unanswered), tuple(groups), tuple(stats), tuple(never), ignored)


# -- rendering ---------------------------------------------------------------------------------


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def action(group: QuestionGroup) -> str:
    """What to do with a group, in a few words."""
    if group.triage == "phrasing" and group.closest_intent:
        return f"add to {group.closest_intent}"
    if group.triage == "off_topic":
        return "off topic: _out_of_scope.yaml?"
    return "new intent?"


def render_table(report: Report, console: Console, limit: int = 30) -> None:
    """Print the report as rich tables."""
    from rich.table import Table

    period = f"{_when(report.since)} – {_when(report.until)}"
    console.print(
        f"[bold]{report.questions}[/bold] questions, [bold]{report.unanswered}[/bold] unanswered or low-confidence "
        f"(score < {report.threshold:g}) in {period}",
        highlight=False,
    )
    groups = Table(title=f"Unanswered and low-confidence questions, grouped ({len(report.groups)} groups)", show_lines=False)
    for column in ("#", "count", "representative wording", "to do", "fallbacks", "other wordings"):
        groups.add_column(column, justify="left" if column in ("representative wording", "to do", "other wordings") else "right")
    for rank, group in enumerate(report.groups[:limit], 1):
        others = "; ".join(w.text for w in group.wordings[1:4]) + (" …" if len(group.wordings) > 4 else "")
        groups.add_row(
            str(rank),
            str(group.count),
            group.representative,
            action(group),
            str(group.fallbacks),
            others,
        )
    console.print(groups)
    if len(report.groups) > limit:
        console.print(f"… and {len(report.groups) - limit} more groups (use --format csv for all)")
    if report.ignored:
        console.print(f"{report.ignored} unanswered message(s) left out: empty, emoji-only, very long, too short or in another language.")
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


CSV_COLUMNS = ("section", "name", "count", "triage", "closest_intent", "fallbacks", "mean_score", "helpful", "unhelpful", "wordings")


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
                "triage": group.triage,
                "closest_intent": group.closest_intent or "",
                "fallbacks": group.fallbacks,
                "mean_score": f"{group.mean_score:.4f}",
                "helpful": "",
                "unhelpful": "",
                "wordings": " | ".join(f"{w.text} ({w.count})" for w in group.wordings),
            },
        )
    for stat in report.intents:
        safe_row(
            writer,
            {
                "section": "intent",
                "name": stat.intent,
                "count": stat.asked,
                "triage": "",
                "closest_intent": "",
                "fallbacks": "",
                "mean_score": "" if stat.mean_score is None else f"{stat.mean_score:.4f}",
                "helpful": stat.helpful,
                "unhelpful": stat.unhelpful,
                "wordings": "",
            },
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
        lines.append(f"{rank}. {group.count}× “{group.representative}” → {action(group)}")
    if len(report.groups) > limit:
        lines.append(f"… and {len(report.groups) - limit} more groups.")
    return "\n".join(lines)


def _yaml_scalar(text: str) -> str:
    dumped = yaml.safe_dump(text, allow_unicode=True, width=1_000_000).removesuffix("\n...\n").removesuffix("\n")
    return dumped if "\n" not in dumped else json.dumps(text, ensure_ascii=False)


def suggest_yaml(report: Report, examples: Mapping[str, Iterable[str]], min_count: int = 1) -> str:
    """A YAML patch for a maintainer to review and merge into intents/: per intent, the plausible questions near it
    (phrasings already listed left out); `new_intents`, questions close to no intent; `out_of_scope`, real off-topic
    questions for `intents/_out_of_scope.yaml`. Empty, emoji-only, very long and too short messages are never proposed.

    `examples`: the current examples of each intent (and `_out_of_scope` for the negative examples, if given).
    """
    known = {intent: {normalise(e) for e in texts} for intent, texts in examples.items()}
    by_intent: dict[str, list[QuestionGroup]] = {}
    orphans: list[QuestionGroup] = []
    off_topic: list[QuestionGroup] = []
    for group in report.groups:
        phrasing = " ".join(group.representative.split())
        if group.count < min_count or not plausible_text(phrasing):
            continue
        if group.triage == "phrasing" and group.closest_intent in known:
            if normalise(phrasing) not in known[group.closest_intent]:
                by_intent.setdefault(group.closest_intent, []).append(group)
        elif group.triage == "off_topic":
            if normalise(phrasing) not in known.get("_out_of_scope", set()):
                off_topic.append(group)
        elif group.triage == "new_intent":
            orphans.append(group)
    lines = [
        "version: 1",
        "# Suggested example phrasings from the questions the bot could not answer well",
        f"# ({_when(report.since)} – {_when(report.until)}; fallbacks and scores below {report.threshold:g}).",
        "# Review each one, then copy those that fit under `examples:` in intents/<intent>.yaml",
        "# (run `faqbot validate` afterwards). `new_intents` lists questions close to no intent;",
        "# `out_of_scope` lists off-topic questions to add to intents/_out_of_scope.yaml if they were answered wrongly.",
    ]
    lines.append("intents:" if by_intent else "intents: {}")
    for intent in sorted(by_intent, key=lambda i: (-sum(g.count for g in by_intent[i]), i)):
        lines.append(f"  {intent}:")
        lines.append("    examples:")
        for group in by_intent[intent]:
            lines.append(f"      - {_yaml_scalar(' '.join(group.representative.split()))}  # asked {group.count}×")
    for name, found in (("new_intents", orphans), ("out_of_scope", off_topic)):
        lines.append(f"{name}:" if found else f"{name}: []")
        for group in found:
            lines.append(f"  - {_yaml_scalar(' '.join(group.representative.split()))}  # asked {group.count}×")
    return "\n".join(lines) + "\n"
