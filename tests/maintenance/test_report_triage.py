"""`faqbot report` on what the bot really decided: triage by reason and real candidates, grouping by meaning, proposals."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from bot.cli.main import main
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.text import normalise
from bot.maintenance.events import Scored, StoredQuestion, question_event
from bot.maintenance.report import Meaning, Report, group_questions, suggest_yaml, triage
from bot.maintenance.services import meaning


def logged(text: str, reason: str, candidates: list[tuple[str, float]], intent: str | None = None, score: float = 0.2) -> StoredQuestion:
    return StoredQuestion(
        1.0, "u", "private", text, normalise(text), intent, score, intent is None, (), 0.0, None, reason,
        tuple(Scored(i, s) for i, s in candidates),
    )  # fmt: skip


def test_triage_follows_the_decision_and_the_real_candidates() -> None:
    near = logged("how much do backnd devs make", "unsure", [("salary", 0.33), ("__out_of_scope__", 0.1)])
    claimed = logged("how much does a nurse earn", "off_topic", [("salary", 0.3), ("__out_of_scope__", 0.5)])
    unclaimed = logged("do backend developers write tests", "off_topic", [("definition", 0.2), ("__out_of_scope__", 0.05)])
    assert triage(near) == "phrasing"
    assert triage(claimed) == "off_topic"
    assert triage(unclaimed) == "new_intent"
    assert triage(unclaimed, relevance=0.5) == "off_topic", "far from every topic: not about the job"
    assert triage(logged("write me a poem about cats", "task_request", [("__out_of_scope__", 0.0)])) == "off_topic"
    for noise in ("", "   ", "👍👍", "🙂", "x" * 5000, "a very long story. " * 30):
        assert triage(logged(noise, "off_topic", [("definition", 0.05), ("__out_of_scope__", 0.0)])) == "ignored", noise
    assert triage(logged("and for seniors?", "off_topic", [("salary", 0.2), ("__out_of_scope__", 0.0)])) == "ignored"
    assert triage(logged("bonjour", "off_topic", [("greeting", 0.2), ("__out_of_scope__", 0.0)])) == "ignored"


def fake_meaning() -> Meaning:
    """Vectors by topic word: texts naming the same animal are alike, others orthogonal."""
    words = ("cat", "dog", "fish")

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = [[float(w in t.lower()) for w in words] + [0.01] for t in texts]
        matrix = np.array(rows, dtype=np.float32)
        normalised: npt.NDArray[np.float32] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        return normalised

    return Meaning(embed)


def test_grouping_is_by_meaning_not_by_shared_words() -> None:
    rows = [
        logged("how do I feed my cat", "off_topic", [("__out_of_scope__", 0.4)]),
        logged("what do cats eat every day", "off_topic", [("__out_of_scope__", 0.4)]),
        logged("how do I feed my dog", "off_topic", [("__out_of_scope__", 0.4)]),
    ]
    groups = group_questions(rows, meaning=fake_meaning())
    assert sorted(sorted(w.text for w in g.wordings) for g in groups) == [
        ["how do I feed my cat", "what do cats eat every day"],
        ["how do I feed my dog"],
    ]
    assert all(g.triage == "off_topic" and g.closest_intent is None for g in groups)


def test_the_patch_proposes_phrasings_new_intents_and_negatives_but_never_noise() -> None:
    rows = [
        logged("how much do backnd devs make", "unsure", [("salary", 0.33), ("__out_of_scope__", 0.1)]),
        logged("how much do backnd devs make", "unsure", [("salary", 0.33), ("__out_of_scope__", 0.1)]),
        logged("do backend developers write tests", "off_topic", [("definition", 0.2), ("__out_of_scope__", 0.05)]),
        logged("what's the weather in Paris?", "off_topic", [("salary_abroad", 0.1), ("__out_of_scope__", 0.2)]),
        logged("  ", "empty", []),
        logged("👍", "off_topic", [("definition", 0.05), ("__out_of_scope__", 0.0)]),
        logged("x" * 5000, "too_long", []),
    ]
    groups = tuple(group_questions(rows))
    report = Report(0, 1, 0.65, 70, len(rows), len(rows), groups, (), ())
    patch = yaml.safe_load(suggest_yaml(report, {"salary": ["how much does a backend developer earn"], "definition": []}))
    assert patch["intents"] == {"salary": {"examples": ["how much do backnd devs make"]}}
    assert patch["new_intents"] == ["do backend developers write tests"]
    assert patch["out_of_scope"] == ["what's the weather in Paris?"]


def test_the_engine_meaning_tells_the_job_from_everyday_questions(engine: Engine) -> None:
    found = meaning(engine)
    assert found is not None
    assert found.centre is not None
    job, cake = found.embed(["is backend development a stressful career", "why did my cake sink in the middle"])
    assert float(job @ found.centre) >= found.domain > float(cake @ found.centre)


def test_a_replayed_conversation_is_logged_like_the_bot_and_reported(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = [
        "how much does a junior backend developer earn?",
        "what's the weather in Paris tomorrow?",
        "what's the weather like in Paris?",
        "🙂",
        "x" * 3000,
    ]
    lines = "".join(json.dumps({"conversation": str(i), "text": t}) + "\n" for i, t in enumerate(questions))
    db = tmp_path / "log.sqlite3"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["ask", "--jsonl", "--log", "--db", str(db)]) == 0
    capsys.readouterr()
    out = tmp_path / "patch.yaml"
    assert main(["report", "--db", str(db), "--suggest", "--out", str(out)]) == 0
    patch = yaml.safe_load(out.read_text(encoding="utf-8"))
    proposed = [e for i in (patch["intents"] or {}).values() for e in i["examples"]] + patch["new_intents"] + patch["out_of_scope"]
    assert not any(e.strip() in ("🙂", "") or len(e) > 200 for e in proposed)
    assert not any("weather" in e for i in (patch["intents"] or {}).values() for e in i["examples"])
    assert len([e for e in patch["out_of_scope"] if "weather" in e]) == 1, "the two weather questions form one group"


def test_question_event_carries_the_reason_and_the_matchers_candidates(engine: Engine) -> None:
    reply = Dialogue(lambda: engine).respond("what's the weather in Paris?")
    event = question_event(reply, at=1.0, user_id=1, chat_type="console", text="q", normalised="q")
    assert event.reason == reply.reason.value
    assert reply.match is not None
    assert [c.intent for c in event.candidates][:-1] == [c.intent for c in reply.match.candidates[:3]]
    assert event.candidates[-1] == Scored("__out_of_scope__", round(reply.match.out_of_scope, 4))
    assert event.suggestions == tuple(s.intent for s in reply.suggestions)
