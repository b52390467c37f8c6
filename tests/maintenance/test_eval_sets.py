"""The evaluation sets stay honest: well-formed, and no case copied into the intents' examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.engine.text import normalise

PROJECT = Path(__file__).resolve().parents[2]
SETS = sorted([*(PROJECT / "tests" / "eval").glob("*.jsonl"), *(PROJECT / "benchmarks").glob("*.jsonl")])


def _cases(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _phrasings() -> dict[str, str]:
    """Normalised example or negative example -> the file it is in."""
    found: dict[str, str] = {}
    for path in sorted((PROJECT / "intents").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for text in data.get("examples") or []:
            if isinstance(text, str):
                found[normalise(text)] = path.name
    return found


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_no_evaluation_case_is_an_example(path: Path) -> None:
    phrasings = _phrasings()
    copied = [(case["text"], phrasings[key]) for case in _cases(path) if (key := normalise(str(case["text"]))) in phrasings]
    assert copied == [], "evaluation cases pasted into intents' examples make the figures lie; rephrase or remove the example"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_cases_are_well_formed(path: Path) -> None:
    for case in _cases(path):
        assert isinstance(case.get("text"), str), case
        assert case.get("want", "answer") in ("answer", "smalltalk", "decline"), case
        for group in case.get("expect", []):  # type: ignore[attr-defined]
            assert group, case
            assert all(isinstance(alt, str) and alt for alt in group), case


def test_real_questions_keep_their_source() -> None:
    for name in ("real-tune.jsonl", "real-holdout.jsonl"):
        cases = _cases(PROJECT / "tests" / "eval" / name)
        assert cases
        assert all(str(case.get("source", "")).startswith(("http://", "https://")) for case in cases)
