"""Matching latency through `Dialogue.respond`, its growth with the knowledge base, and fuzzy-matching baselines.

Ours: `Dialogue.respond(text)` (normalisation, synonyms, entities, scoring, dialogue),
a fresh context per question. Baselines, on the same questions, against every example
of every intent, as FAQ bot tutorials do:

- `rapidfuzz`: `rapidfuzz.process.extractOne(q, examples, scorer=fuzz.WRatio)` (no processor: as written in tutorials);
- `rapidfuzz+proc`: the same with `processor=rapidfuzz.utils.default_process` (lower-cased, punctuation removed);
- `thefuzz`: `thefuzz.process.extractOne(q, examples)` (WRatio with thefuzz's own `full_process`).

Calls are interleaved question by question (ours, then each baseline, order rotating),
so a ratio compares calls made at the same moment on the same machine.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, utils
from rapidfuzz import process as rf_process

from benchmarks.common import ROOT, bench_engine, median_of, rss_mb, summary_ms
from benchmarks.questions import QUESTIONS
from benchmarks.synthetic import grown_engine, size
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.knowledge import KnowledgeBase

CASES = ROOT / "tests" / "eval" / "cases.jsonl"
CUTOFFS = range(50, 91)

Call = Callable[[str], object]


@dataclass(frozen=True)
class Baselines:
    """The examples of a knowledge base as a flat list of choices, and the intent of each."""

    choices: list[str]
    intents: list[str]

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Baselines:
        pairs = [(example, intent.id) for intent in kb.intents.values() for example in intent.examples]
        return cls([p[0] for p in pairs], [p[1] for p in pairs])

    def rapidfuzz(self, question: str) -> tuple[str | None, float]:
        found = rf_process.extractOne(question, self.choices, scorer=fuzz.WRatio)
        return (self.intents[found[2]], float(found[1])) if found else (None, 0.0)

    def rapidfuzz_processed(self, question: str) -> tuple[str | None, float]:
        found = rf_process.extractOne(question, self.choices, scorer=fuzz.WRatio, processor=utils.default_process)
        return (self.intents[found[2]], float(found[1])) if found else (None, 0.0)

    def thefuzz(self, question: str) -> tuple[str | None, float]:
        from thefuzz import process as tf_process

        found = tf_process.extractOne(question, self.choices)
        if not found:
            return None, 0.0
        # thefuzz returns (choice, score); the first example with that text gives the intent.
        return self.intents[self._index()[found[0]]], float(found[1])

    def _index(self) -> dict[str, int]:
        cached: dict[str, int] | None = self.__dict__.get("_by_text")
        if cached is None:
            cached = {}
            for i, text in enumerate(self.choices):
                cached.setdefault(text, i)
            object.__setattr__(self, "_by_text", cached)
        return cached

    def calls(self) -> dict[str, Callable[[str], tuple[str | None, float]]]:
        self._index()
        return {"rapidfuzz": self.rapidfuzz, "rapidfuzz+proc": self.rapidfuzz_processed, "thefuzz": self.thefuzz}


def ours(engine: Engine) -> Call:
    dialogue = Dialogue(lambda: engine)
    return dialogue.respond


def clear_caches(engine: Engine) -> None:
    """Forget memoised spelling corrections, as for questions never seen before (stems are not memoised)."""
    engine.matcher.analyzer._cached_correct.cache_clear()


def interleaved(
    calls: dict[str, Call], questions: Sequence[tuple[str, str]], rounds: int, rng: random.Random, budget_s: dict[str, float] | None = None
) -> dict[str, dict[str, list[int]]]:
    """Nanoseconds per call: {implementation: {category: samples}}; `budget_s` stops an implementation early (at least one pass)."""
    samples: dict[str, dict[str, list[int]]] = {name: defaultdict(list) for name in calls}
    spent: dict[str, float] = dict.fromkeys(calls, 0.0)
    names = list(calls)
    clock = time.perf_counter_ns
    for round_ in range(rounds):
        order = list(questions)
        rng.shuffle(order)
        for position, (category, text) in enumerate(order):
            shift = position % len(names)
            for name in names[shift:] + names[:shift]:
                if round_ and budget_s is not None and spent[name] > budget_s.get(name, float("inf")):
                    continue
                call = calls[name]
                started = clock()
                call(text)
                elapsed = clock() - started
                samples[name][category].append(elapsed)
                spent[name] += elapsed / 1e9
    return samples


def _flat(by_category: dict[str, list[int]]) -> list[int]:
    return [s for values in by_category.values() for s in values]


def _ratio(a: dict[str, float], b: dict[str, float], key: str) -> float:
    return a[key] / b[key] if b.get(key) else float("nan")


def shipped_latency(runs: int = 5, rounds: int = 20, seed: int = 11) -> dict[str, Any]:
    """p50/p99 per question on the shipped knowledge base, ours and baselines; medians over `runs`."""
    engine = bench_engine()
    baselines = Baselines.of(engine.kb)
    calls: dict[str, Call] = {"ours": ours(engine), **baselines.calls()}
    per_run: list[dict[str, Any]] = []
    for run in range(runs):
        rng = random.Random(seed + run)
        clear_caches(engine)
        cold = interleaved({"ours": calls["ours"]}, QUESTIONS, 1, rng)["ours"]
        alone = interleaved({"ours": calls["ours"]}, QUESTIONS, rounds, rng)["ours"]
        # The baselines scan every example and evict our data from the CPU caches: ratios come from
        # calls interleaved question by question, absolute figures for ours from calls made alone.
        samples = interleaved(calls, QUESTIONS, max(1, rounds // 2), rng)
        figures: dict[str, Any] = {name: summary_ms(_flat(by_cat)) for name, by_cat in samples.items()}
        figures["ours_interleaved"] = figures["ours"]
        figures["ours"] = summary_ms(_flat(alone))
        figures["ours_cold"] = summary_ms(_flat(cold))
        figures["ours_by_category"] = {cat: summary_ms(values) for cat, values in alone.items()}
        figures["ratios"] = {
            f"ours/{name}": {q: _ratio(figures["ours_interleaved"], figures[name], f"{q}_ms") for q in ("p50", "p99")}
            for name in baselines.calls()
        }
        per_run.append(figures)
    slowest = _slowest(calls["ours"], engine)
    names = ["ours", "ours_cold", "ours_interleaved", *baselines.calls()]
    result: dict[str, Any] = {
        "questions": len(QUESTIONS),
        "runs": runs,
        "rounds": rounds,
        "examples": size(engine.kb)[1],
        "intents": size(engine.kb)[0],
        **{name: median_of(r[name] for r in per_run) for name in names},
        "ours_by_category": {cat: median_of(r["ours_by_category"][cat] for r in per_run) for cat in per_run[0]["ours_by_category"]},
        "ratios": {
            key: {q: statistics.median(r["ratios"][key][q] for r in per_run) for q in ("p50", "p99")} for key in per_run[0]["ratios"]
        },
        "slowest_questions": slowest,
        "per_run": per_run,
    }
    return result


def _slowest(call: Call, engine: Engine, repeats: int = 15, top: int = 8) -> list[dict[str, Any]]:
    """The questions with the highest median latency (warm caches), to know where to look."""
    rows: list[dict[str, Any]] = []
    for category, text in QUESTIONS:
        times = []
        for _ in range(repeats):
            started = time.perf_counter_ns()
            call(text)
            times.append(time.perf_counter_ns() - started)
        rows.append({"category": category, "text": text, "median_ms": statistics.median(times) / 1e6})
    rows.sort(key=lambda r: r["median_ms"], reverse=True)
    return rows[:top]


def _subsample(questions: Sequence[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    """`count` questions spread evenly over the list (so every category is represented)."""
    if count >= len(questions):
        return list(questions)
    step = len(questions) / count
    return [questions[int(i * step)] for i in range(count)]


# At each growth factor: how many questions (spread over the categories) and warm rounds for ours,
# how many runs at most; baselines get a subsample and a time budget per run (seconds), since
# they scan every example. The largest sizes take seconds per question, hence the smaller samples.
SCALE_PLAN: dict[int, dict[str, Any]] = {
    1: {"questions": 200, "rounds": 20, "max_runs": 99, "baseline_questions": 200, "budget": 3.0},
    10: {"questions": 200, "rounds": 5, "max_runs": 99, "baseline_questions": 200, "budget": 5.0},
    100: {"questions": 200, "rounds": 1, "max_runs": 3, "baseline_questions": 24, "budget": 8.0},
    1000: {"questions": 24, "rounds": 1, "max_runs": 1, "baseline_questions": 6, "budget": 12.0},
}


def scale_row(factor: int, runs: int = 3, seed: int = 23, baselines: bool = True) -> dict[str, Any]:
    """Latency at one growth factor of the knowledge base (p50/p99 medians over runs), with build time, memory and baselines."""
    plan = SCALE_PLAN.get(factor, SCALE_PLAN[1000])
    before = rss_mb()["rss_mb"]
    started = time.perf_counter()
    engine = grown_engine(ROOT, factor)
    build_s = time.perf_counter() - started
    memory = rss_mb()
    intents, examples = size(engine.kb)
    base = Baselines.of(engine.kb)
    ours_call = ours(engine)
    questions = _subsample(QUESTIONS, plan["questions"])
    per_run = []
    for run in range(min(runs, plan["max_runs"])):
        rng = random.Random(seed + run)
        clear_caches(engine)
        cold = interleaved({"ours": ours_call}, questions, 1, rng)["ours"]
        warm = interleaved({"ours": ours_call}, questions, plan["rounds"], rng)["ours"]
        figures: dict[str, Any] = {"ours": summary_ms(_flat(warm)), "ours_cold": summary_ms(_flat(cold))}
        if baselines:
            subset = _subsample(QUESTIONS, plan["baseline_questions"])
            budgets = {"ours": float("inf"), "rapidfuzz": plan["budget"], "thefuzz": plan["budget"]}
            calls = {"ours": ours_call, "rapidfuzz": base.rapidfuzz, "thefuzz": base.thefuzz}
            paired = {name: summary_ms(_flat(s)) for name, s in interleaved(calls, subset, 3, rng, budgets).items()}
            figures["ours_on_subset"] = paired["ours"]
            for name in ("rapidfuzz", "thefuzz"):
                figures[name] = paired[name]
                figures[f"ours/{name}"] = _ratio(paired["ours"], paired[name], "p50_ms")
        per_run.append(figures)
    row: dict[str, Any] = {
        "factor": factor,
        "intents": intents,
        "examples": examples,
        "entries": len(engine.matcher.lexical.entries),
        "vocabulary": len(engine.matcher.analyzer.vocabulary),
        "questions": len(questions),
        "runs": len(per_run),
        "build_s": build_s,
        "index_rss_mb": memory["rss_mb"] - before,
        "rss_mb": memory["rss_mb"],
        "ours": median_of(r["ours"] for r in per_run),
        "ours_cold": median_of(r["ours_cold"] for r in per_run),
    }
    if baselines:
        for name in ("rapidfuzz", "thefuzz"):
            row[name] = median_of(r[name] for r in per_run)
            row[f"ours/{name}"] = statistics.median(r[f"ours/{name}"] for r in per_run)
    return row


MEMORY_LIMIT_GB = 8.0
"""Address space allowed to the process measuring one growth factor (the machine is shared)."""
SCALE_TIMEOUT_S = 2400.0


def scaling(
    factors: Sequence[int] = (1, 10, 100, 1000), runs: int = 3, baselines: bool = True, memory_limit_gb: float = MEMORY_LIMIT_GB
) -> dict[str, Any]:
    """`scale_row` for each factor, each in a fresh process with a memory limit; a factor that fails is reported, not fatal."""
    rows: list[dict[str, Any]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    limit = int(memory_limit_gb * 1024**3)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for factor in factors:
        command = [sys.executable, "-m", "benchmarks.matching", "--factor", str(factor), "--runs", str(runs)]
        if not baselines:
            command.append("--no-baselines")
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=SCALE_TIMEOUT_S,
                preexec_fn=limit_memory if hasattr(resource, "RLIMIT_AS") else None,
            )
        except subprocess.TimeoutExpired:
            rows.append({"factor": factor, "error": f"took more than {SCALE_TIMEOUT_S:.0f} s"})
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            reason = tail[0]
            if "MemoryError" in done.stderr or "Unable to allocate" in done.stderr:
                reason = f"out of memory under a {memory_limit_gb:.0f} GB limit ({reason})"
            rows.append({"factor": factor, "error": reason[:300]})
            continue
        rows.append(json.loads(lines[-1]))
    _growth([row for row in rows if "error" not in row])
    return {"rows": rows, "plan": {f: SCALE_PLAN.get(f, SCALE_PLAN[1000]) for f in factors}, "memory_limit_gb": memory_limit_gb}


def _growth(rows: list[dict[str, Any]]) -> None:
    """How cost grows: the exponent k in latency ~ examples^k between consecutive sizes (1 = linear)."""
    for previous, row in itertools.pairwise(rows):
        size_ratio = row["examples"] / previous["examples"]
        row["ours"]["growth_from"] = previous["factor"]
        for key in ("p50_ms", "p99_ms"):
            a, b = previous["ours"][key], row["ours"][key]
            row["ours"][f"{key[:3]}_growth_exponent"] = math.log(b / a) / math.log(size_ratio) if a > 0 and b > 0 else float("nan")


# --- accuracy on the project's evaluation set -----------------------------------------------


def _intent_right(case: Any, kind: str, intent: str | None) -> bool:
    """The intent-level rule of `faqbot eval` without the answer-text checks: decline when asked, else the right intent."""
    if case.want == "decline":
        return kind != "answer"
    return kind == case.want and (case.intent is None or intent == case.intent)


def _rates(rows: list[tuple[Any, bool]]) -> dict[str, float]:
    def share(chosen: list[bool]) -> float:
        return sum(chosen) / len(chosen) if chosen else float("nan")

    return {
        "overall": share([ok for _, ok in rows]),
        "in_scope": share([ok for case, ok in rows if case.want != "decline"]),
        "declined": share([ok for case, ok in rows if case.want == "decline"]),
        "without_followups": share([ok for case, ok in rows if case.conversation is None]),
    }


def accuracy(cases_path: Path = CASES) -> dict[str, Any]:
    """Ours and the baselines on tests/eval/cases.jsonl; each baseline at the cutoff (50..90) best for it."""
    from bot.maintenance.evaluation import load_cases
    from bot.maintenance.evaluation import run as evaluate

    engine = bench_engine()
    cases = load_cases(cases_path)
    report = evaluate(cases, Dialogue(lambda: engine))
    ours_rows = [(o.case, _intent_right(o.case, o.reply.kind, o.reply.intent)) for o in report.outcomes]
    passed, total = report.overall
    result: dict[str, Any] = {
        "cases": len(cases),
        "ours": {**_rates(ours_rows), "graded_pass": passed / total},
    }
    base = Baselines.of(engine.kb)
    kinds = {i.id: i.kind for i in engine.kb.intents.values()}
    for name, call in base.calls().items():
        found = [call(case.text) for case in cases]
        best: dict[str, Any] | None = None
        for cutoff in CUTOFFS:
            rows = []
            for case, (intent, score) in zip(cases, found, strict=True):
                if intent is None or score < cutoff:
                    rows.append((case, _intent_right(case, "fallback", None)))
                else:
                    rows.append((case, _intent_right(case, kinds[intent], intent)))
            rates = _rates(rows)
            if best is None or rates["overall"] > best["overall"]:
                best = {**rates, "cutoff": cutoff}
        result[name] = best
    return result


if __name__ == "__main__":  # one growth factor, in its own process: python -m benchmarks.matching --factor 100
    import argparse

    parser = argparse.ArgumentParser(description="Matching latency at one growth factor of the knowledge base (JSON on stdout).")
    parser.add_argument("--factor", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    options = parser.parse_args()
    print(json.dumps(scale_row(options.factor, options.runs, baselines=options.baselines)))
