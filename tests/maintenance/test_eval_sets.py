"""The evaluation sets stay honest: well-formed, and no case copied into the intents' examples."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from rapidfuzz import fuzz, process

from bot.engine.text import normalise

PROJECT = Path(__file__).resolve().parents[2]
SHARED_DEV = PROJECT.parent / "shared" / "eval" / "dev.jsonl"
"""The team's shared development sample, beside the project where it is checked out with it (not in a bare clone)."""
SETS = sorted([*(PROJECT / "tests" / "eval").glob("*.jsonl"), *(PROJECT / "benchmarks").glob("*.jsonl")]) + (
    [SHARED_DEV] if SHARED_DEV.is_file() else []
)


def _cases(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
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


NEAR_COPY = 95
"""rapidfuzz ratio (0-100) of two normalised texts at or above which one is the other with a word or a letter changed
("which languages are used for back end development" and the example "Which languages are used for backend
development?"): a pass that says nothing about understanding."""


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_no_evaluation_case_is_a_near_copy_of_an_example(path: Path) -> None:
    phrasings = _phrasings()
    keys = list(phrasings)
    near = []
    for case in _cases(path):
        if case.get("category") == "typo":
            continue  # a misspelt example, on purpose: it tests the spelling correction
        found = process.extractOne(normalise(str(case["text"])), keys, scorer=fuzz.ratio, score_cutoff=NEAR_COPY)
        if found is not None:
            near.append((case.get("id"), found[0], phrasings[found[0]]))
    assert near == [], "an example this close to an evaluation case makes the figures lie; rephrase the example"


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
