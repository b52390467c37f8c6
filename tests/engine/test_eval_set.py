"""The project's own evaluation set (tests/eval/cases.jsonl) must stay above the quality bar."""

from pathlib import Path

from bot.engine.dialogue import Dialogue
from bot.maintenance.evaluation import load_cases, run

CASES = Path(__file__).resolve().parents[1] / "eval" / "cases.jsonl"
MIN_IN_SCOPE = 0.95
MIN_DECLINED = 0.95


def test_eval_set_is_large_and_varied() -> None:
    cases = load_cases(CASES)
    assert len(cases) >= 300
    assert sum(c.want == "decline" for c in cases) >= 60
    assert {"paraphrase", "typo", "keyword", "entity", "followup", "oos"} <= {c.category for c in cases}


def test_eval_set_accuracy(dialogue: Dialogue) -> None:
    report = run(load_cases(CASES), dialogue)
    failures = "\n".join(f"{o.case.id}: {o.case.text!r}: {o.failure}" for o in report.outcomes if o.failure)
    answered, total_answered = report.answered
    declined, total_declined = report.declined
    assert answered / total_answered >= MIN_IN_SCOPE, failures
    assert declined / total_declined >= MIN_DECLINED, failures
