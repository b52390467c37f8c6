"""Fit the scoring model's weight and the decision thresholds on data, and print the values for `bot/engine/config.py`.

    .venv/bin/python -m benchmarks.fit_scoring [--top N]

The data (never the real-question holdout):
- the intents' own examples, each left out of the index in turn (it must still get its intent);
- the negative examples, each left out in turn (they must be declined);
- tests/eval/cases.jsonl, tests/eval/real-tune.jsonl and the real-extra sets (single
  messages; the cases that are part of a conversation are left to the dialogue).

For every message the two signals are computed once per entity bonus tried (`Matcher.signals`; the
examples and negatives left out all at once, `Matcher.left_out_signals`); each
candidate configuration then only recombines them (`Matcher.score`) and asks the decision policy
(`policy.decide`), so a grid of a few thousand configurations takes about three minutes. A message counts
as right when the decision is to answer and the intent's answer passes the case's `expect`
and `forbid` (for the examples: the intent itself), or when a case to decline is not answered.
`--lexical` checks the lexical side's knobs instead (`word_weight`, `centroid_weight`, `unknown_penalty`,
`foreign_penalty`): they shape the lexical signal itself, so each value tried rebuilds the index and recomputes the
signals (about 15 seconds); one knob at a time moves to each of its neighbours, and the semantic weight and the
threshold are refitted for it on a small grid, so that a knob is not judged by a threshold fitted for another value.
The objective is the mean of two means: that of the answered and declined halves of the
real-question sets (tune and the extra sets), and that of the halves of the sets the team wrote (examples, negatives,
cases.jsonl). Real people's questions are what the bot is for, so they weigh as much as all the
written sets together; within each group, a small half weighs as much as a large one.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.engine.config import Tuning
from bot.engine.core import Engine, build
from bot.engine.matcher import Signals
from bot.engine.policy import decide
from bot.engine.render import plain
from bot.engine.semantic import Vectors
from bot.engine.text import is_question
from bot.maintenance.vector_cache import load_vectors, save_vectors
from bot.settings import Settings

PROJECT = Path(__file__).resolve().parents[1]
ANSWERING = ("answered", "smalltalk")
REAL = ("real-tune.jsonl", *sorted(path.name for path in (PROJECT / "tests" / "eval").glob("real-extra*.jsonl")))
"""The real-question sets the fit may use (never the holdout): the tune set and every real-extra set there is."""


@dataclass(frozen=True)
class Sample:
    source: str
    want: str
    text: str
    signals: Signals
    right: frozenset[str]
    """Intents whose answer passes this sample (empty for a sample to decline)."""


def _passes(engine: Engine, case: dict[str, object], intent_id: str, entities: dict[str, str]) -> bool:
    """Would the answer of `intent_id` (its variant for a named value) pass `case`?"""
    intent = engine.kb.intents[intent_id]
    want = str(case.get("want", "answer"))
    if (want == "smalltalk") != (intent.kind == "smalltalk") or intent.kind not in ("answer", "smalltalk"):
        return False
    value = entities.get(intent.entity) if intent.entity else None
    if value is not None and intent.variants and value not in intent.variants:
        return False
    answer = plain(intent.variants.get(value, intent.answer) if value is not None else intent.answer).casefold().replace("\u2013", "-")
    groups = case.get("expect") or []
    forbid = case.get("forbid") or []
    assert isinstance(groups, list)
    assert isinstance(forbid, list)
    return all(any(str(alt).casefold() in answer for alt in group) for group in groups) and not any(
        str(bad).casefold() in answer for bad in forbid
    )


def samples(engine: Engine) -> list[Sample]:
    matcher = engine.matcher
    # Each example left out of the index in turn, scored all at once (as validation's confusion check does).
    left_out: list[tuple[str, str, str, frozenset[str]]] = []  # source, want, text, right
    for intent in engine.kb.intents.values():
        if intent.kind in ("answer", "smalltalk"):
            want = "smalltalk" if intent.kind == "smalltalk" else "answer"
            left_out += [("examples (left out)", want, example, frozenset({intent.id})) for example in intent.examples]
    left_out += [("negatives (left out)", "decline", example, frozenset()) for example in engine.kb.out_of_scope]
    signals = matcher.left_out_signals([(text, matcher.analyzer.analyse(text)) for _, _, text, _ in left_out])
    found = [Sample(source, want, text, s, right) for (source, want, text, right), s in zip(left_out, signals, strict=True)]
    for name in ("cases.jsonl", *REAL):
        for line in (PROJECT / "tests" / "eval" / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            if case.get("conversation"):
                continue
            text = str(case["text"])
            asked = matcher.signals(text, matcher.analyzer.analyse(text))
            want = str(case.get("want", "answer"))
            right = frozenset(i for i in engine.kb.intents if want != "decline" and _passes(engine, case, i, asked.entities))
            found.append(Sample(name, want, text, asked, right))
    return found


def evaluate(engine: Engine, data: list[Sample], tuning: Tuning) -> dict[tuple[str, str], tuple[int, int]]:
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for sample in data:
        match = engine.matcher.score(sample.signals, tuning, limit=4)
        decision = decide(match, engine.kb, tuning, in_conversation=False, asks=is_question(sample.text))
        answered = decision.reason.value in ANSWERING
        right = not answered if sample.want == "decline" else answered and decision.intent in sample.right
        half = "declined" if sample.want == "decline" else "answered"
        tally[(sample.source, half)][0] += int(right)
        tally[(sample.source, half)][1] += 1
    return {key: (passed, total) for key, (passed, total) in tally.items()}


def objective(result: dict[tuple[str, str], tuple[int, int]]) -> float:
    real = [passed / total for (source, _), (passed, total) in result.items() if total and source in REAL]
    written = [passed / total for (source, _), (passed, total) in result.items() if total and source not in REAL]
    return (sum(real) / len(real) + sum(written) / len(written)) / 2


LEXICAL = {
    "word_weight": (0.6, 0.8),
    "centroid_weight": (0.35, 0.55),
    "unknown_penalty": (0.7, 1.3),
    "foreign_penalty": (2.0, 6.0),
}
"""The lexical knobs `--lexical` moves, one at a time, to each of these values (the shipped one is the reference)."""


def _refitted(engine: Engine, data: list[Sample], tuning: Tuning) -> tuple[float, Tuning]:
    """The best objective over a small grid of semantic weights and thresholds around `tuning`'s, and its tuning."""
    best: tuple[float, Tuning] | None = None
    for weight in (0.6, 0.7, 0.8):
        for threshold in [round(0.38 + 0.02 * i, 2) for i in range(7)]:
            candidate = replace(tuning, semantic_weight=weight, threshold=threshold)
            score = objective(evaluate(engine, data, candidate))
            if best is None or score > best[0]:
                best = (score, candidate)
    assert best is not None
    return best


def lexical(vectors: Vectors, base: Tuning) -> None:
    """Print, for the shipped lexical knobs and each neighbour of each, the objective as shipped and refitted."""
    print("lexical knobs, one at a time; objective with config.py's weight and threshold, and refitted (weight, threshold)")
    shipped = ", ".join(f"{knob}={getattr(base, knob)}" for knob in LEXICAL)
    tried: list[tuple[str, Tuning]] = [(f"shipped ({shipped})", base)]
    for knob, values in LEXICAL.items():
        changes: list[dict[str, Any]] = [{knob: value} for value in values]
        tried += [(f"{knob}={value}", replace(base, **change)) for value, change in zip(values, changes, strict=True)]
    for label, tuning in tried:
        engine = build(PROJECT, vectors, tuning)
        data = samples(engine)
        as_shipped = objective(evaluate(engine, data, tuning))
        refit, fitted = _refitted(engine, data, tuning)
        print(
            f"  {label}: {as_shipped:.4f}, refitted {refit:.4f} (semantic_weight={fitted.semantic_weight}, threshold={fitted.threshold})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=5, help="how many of the best configurations to print")
    parser.add_argument("--lexical", action="store_true", help="check the lexical knobs instead (one at a time)")
    args = parser.parse_args()
    settings = Settings()
    vectors = load_vectors(settings.faqbot_cache_dir)
    base = Tuning()
    if args.lexical:
        lexical(vectors, base)
        save_vectors(vectors, settings.faqbot_cache_dir)
        return
    # The entity bonus is part of each sample's signals: one engine (and one set of samples) per value tried.
    bonuses = sorted({0.0, 0.05, 0.1, base.entity_bonus})
    engines = {bonus: build(PROJECT, vectors, replace(base, entity_bonus=bonus)) for bonus in bonuses}
    save_vectors(vectors, settings.faqbot_cache_dir)
    data = {bonus: samples(engine) for bonus, engine in engines.items()}
    engine = engines[base.entity_bonus]
    grid = itertools.product(
        bonuses,  # entity_bonus
        (0.5, 0.6, 0.7, 0.8, 0.9),  # semantic_weight
        (0.1, 0.2, 0.3),  # semantic_floor
        [round(0.30 + 0.02 * i, 2) for i in range(12)],  # threshold
        (0.25, 0.3),  # smalltalk_threshold (0.35 and 0.4 never won)
        (0.05,),  # off_topic_margin (0 and 0.1 never won)
        (0.5, 0.75),  # other_subject_share (1.0 never won)
    )
    results = []
    for bonus, weight, floor, threshold, smalltalk, margin, other in grid:
        tuning = replace(
            base,
            entity_bonus=bonus,
            semantic_weight=weight,
            semantic_floor=floor,
            threshold=threshold,
            smalltalk_threshold=smalltalk,
            off_topic_margin=margin,
            other_subject_share=other,
        )
        result = evaluate(engines[bonus], data[bonus], tuning)
        results.append((objective(result), tuning, result))
    results.sort(key=lambda item: -item[0])
    print(f"{len(data[base.entity_bonus])} messages, {len(results)} configurations; objective = mean pass rate over the set halves")
    for score, tuning, result in results[: args.top]:
        print(
            f"\n{score:.4f}  entity_bonus={tuning.entity_bonus} semantic_weight={tuning.semantic_weight}"
            f" semantic_floor={tuning.semantic_floor}"
            f" threshold={tuning.threshold} smalltalk_threshold={tuning.smalltalk_threshold}"
            f" off_topic_margin={tuning.off_topic_margin} other_subject_share={tuning.other_subject_share}"
        )
        for (source, half), (passed, total) in sorted(result.items()):
            print(f"    {source:22s} {half:9s} {passed:4d}/{total:<4d} {passed / total:6.1%}")
    current = evaluate(engine, data[base.entity_bonus], base)
    print(f"\ncurrent config.py: {objective(current):.4f}")
    for (source, half), (passed, total) in sorted(current.items()):
        print(f"    {source:22s} {half:9s} {passed:4d}/{total:<4d} {passed / total:6.1%}")


if __name__ == "__main__":
    main()
