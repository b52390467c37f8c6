"""How well and how fast the bot understands real questions: the accuracy table and the speed figures of issue 9.

    .venv/bin/python -m benchmarks.understanding [--set tests/eval/real-holdout.jsonl] [--speed-only] [--models]

Accuracy, graded like ../shared/eval/score.py (bot.maintenance.evaluation.grade), on one case file:
- ours: the dialogue as `faqbot ask --jsonl` runs it (lexical + semantic, the fitted Tuning);
- lexical only: the same dialogue with no embedder (semantic weight 0), its threshold swept on
  tests/eval/cases.jsonl (never on the set measured);
- semantic only: the same dialogue with semantic weight 1, threshold swept the same way;
- naive rapidfuzz `extractOne(WRatio)` over every example, cutoff swept the same way.
A case to decline passes when the reply is not an answer; a case to answer when the answer passes
its `expect` and `forbid` groups (for the naive baseline: the answer of the intent it picks).

Speed, on the same questions, in 5 interleaved rounds (each figure the median of the rounds: the
machine is shared): the per-question cost of `faqbot ask --jsonl` (warm embedding cache): the whole
process divided by the questions, and the marginal cost (that time minus the time of the same process
given no question, divided by the questions), next to naive extractOne's per-question cost;
`Dialogue.respond` p50/p99 with the question cache cleared before each question (every question
embedded; the worst round's p99 too); start-up and hot reload with the embedding cache warm (a reload
with every check, as after an example changed, and one after only answers or messages changed, which
reuses the confusion check it passed; the target is judged on the first); RSS of a built bot.

--models: the same dialogue with each embedding model the project can run (the packaged file,
computed in float32, and the quantised copy the bot runs, `bot.maintenance.model_cache`):
accuracy on the set, model time per question, the mean cosine between the two models' vectors
of the set's questions, and the memory a fresh process holds after loading the model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from benchmarks.common import ROOT, cpu, percentile, rss_mb
from bot.engine.config import Tuning
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.matcher import Matcher
from bot.engine.models import Reply
from bot.engine.render import plain
from bot.engine.semantic import MiniLM
from bot.maintenance.evaluation import Case, grade, load_cases
from bot.maintenance.model_cache import load_model
from bot.maintenance.validate import PassedChecks, validated_engine
from bot.maintenance.vector_cache import cached_engine, load_vectors
from bot.settings import Settings

CASES = ROOT / "tests" / "eval" / "cases.jsonl"
THRESHOLDS = [round(0.2 + 0.02 * i, 2) for i in range(31)]
CUTOFFS = list(range(50, 100, 2))
RUNS = 5


def rates(outcomes: list[tuple[Case, bool]]) -> dict[str, float]:
    answered = [ok for case, ok in outcomes if case.want != "decline"]
    declined = [ok for case, ok in outcomes if case.want == "decline"]
    return {
        "answered": sum(answered) / max(len(answered), 1),
        "declined": sum(declined) / max(len(declined), 1),
        "overall": (sum(answered) + sum(declined)) / max(len(outcomes), 1),
    }


def _balanced(result: dict[str, float]) -> float:
    return (result["answered"] + result["declined"]) / 2


def run_dialogue(engine: Engine, cases: list[Case]) -> list[tuple[Case, bool]]:
    dialogue = Dialogue(lambda: engine)
    out = []
    for case in cases:
        reply = dialogue.respond(case.text, case.conversation)
        unlabelled = replace(case, intent=None)  # the real sets carry no intent; grade every set the same way
        out.append((case, grade(unlabelled, reply, plain(reply.text)) is None))
    return out


def swept(make: Callable[[float], Engine], cases: list[Case], tune: list[Case]) -> tuple[float, dict[str, float]]:
    """The threshold that does best (answered and declined alike) on `tune`, and the rates it gives on `cases`."""
    best = max(THRESHOLDS, key=lambda t: _balanced(rates(run_dialogue(make(t), tune))))
    return best, rates(run_dialogue(make(best), cases))


class Naive:
    """rapidfuzz extractOne(WRatio) over every example: the intent of the closest example, if above a cutoff."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        pairs = [(i.id, e) for i in engine.kb.intents.values() if i.kind in ("answer", "smalltalk") for e in i.examples]
        self.intents = [i for i, _ in pairs]
        self.examples = [e for _, e in pairs]

    def pick(self, question: str) -> tuple[str | None, float]:
        found = process.extractOne(question, self.examples, scorer=fuzz.WRatio)
        return (self.intents[found[2]], float(found[1])) if found else (None, 0.0)

    def outcomes(self, cases: list[Case], cutoff: float) -> list[tuple[Case, bool]]:
        out = []
        for case in cases:
            intent, score = self.pick(case.text)
            if intent is None or score < cutoff:
                out.append((case, case.want == "decline"))
                continue
            spec = self.engine.kb.intents[intent]
            reply = Reply(spec.answer, "smalltalk" if spec.kind == "smalltalk" else "answer", intent, score / 100)
            out.append((case, grade(replace(case, intent=None), reply, plain(spec.answer)) is None))
        return out


def accuracy(engine: Engine, path: Path) -> list[tuple[str, str, dict[str, float]]]:
    cases, tune = load_cases(path), load_cases(CASES)
    rows = [("ours (lexical + semantic)", f"threshold {engine.tuning.threshold} (fitted)", rates(run_dialogue(engine, cases)))]
    kb, vectors = engine.kb, engine.vectors

    def lexical(t: float) -> Engine:
        return Engine(kb, Matcher(kb, replace(engine.tuning, threshold=t), None))

    def semantic(t: float) -> Engine:
        return Engine(kb, Matcher(kb, replace(engine.tuning, threshold=t, semantic_weight=1.0), vectors))

    threshold, result = swept(lexical, cases, tune)
    rows.append(("lexical only", f"threshold {threshold} (swept on cases.jsonl)", result))
    threshold, result = swept(semantic, cases, tune)
    rows.append(("semantic only", f"threshold {threshold} (swept on cases.jsonl)", result))
    naive = Naive(engine)
    cutoff = max(CUTOFFS, key=lambda c: _balanced(rates(naive.outcomes(tune, c))))
    rows.append(("naive extractOne(WRatio)", f"cutoff {cutoff} (swept on cases.jsonl)", rates(naive.outcomes(cases, cutoff))))
    return rows


def speed(engine: Engine, path: Path) -> dict[str, float]:
    questions = [case.text for case in load_cases(path)]
    figures: dict[str, float] = {}
    payload = "".join(json.dumps({"conversation": None, "text": q}) + "\n" for q in questions)
    naive = Naive(engine)
    dialogue = Dialogue(lambda: engine)
    vectors = engine.vectors
    rounds: dict[str, list[float]] = {"empty": [], "set": [], "naive": [], "p50": [], "p99": [], "mean": []}
    # A shared machine is noisy: every figure is the median of RUNS rounds, and the rounds are interleaved, so a busy
    # spell slows each side alike instead of whichever happened to run then.
    for _ in range(RUNS):
        for name, given in (("empty", ""), ("set", payload)):
            started = time.perf_counter()
            command = [sys.executable, "-m", "bot", "ask", "--jsonl"]
            subprocess.run(command, input=given, text=True, capture_output=True, check=True, cwd=ROOT)
            rounds[name].append(time.perf_counter() - started)
        started = time.perf_counter()
        for question in questions:
            naive.pick(question)
        rounds["naive"].append((time.perf_counter() - started) * 1000 / len(questions))
        samples = []
        for question in questions * 2:
            if vectors is not None:
                vectors.forget_questions()
            began = time.perf_counter()
            dialogue.respond(question)
            samples.append((time.perf_counter() - began) * 1000)
        rounds["p50"].append(percentile(samples, 50))
        rounds["p99"].append(percentile(samples, 99))
        rounds["mean"].append(sum(samples) / len(samples))
    empty, whole = statistics.median(rounds["empty"]), statistics.median(rounds["set"])
    figures["ask_jsonl_no_question_s"] = empty
    figures["ask_jsonl_ms_per_question"] = whole * 1000 / len(questions)
    figures["ask_jsonl_marginal_ms_per_question"] = (whole - empty) * 1000 / len(questions)
    figures["extractone_ms_per_question"] = statistics.median(rounds["naive"])
    figures["respond_mean_ms"] = statistics.median(rounds["mean"])
    figures["respond_p50_ms"] = statistics.median(rounds["p50"])
    figures["respond_p99_ms"] = statistics.median(rounds["p99"])
    figures["respond_p99_ms_worst_round"] = max(rounds["p99"])
    settings = Settings()
    started = time.perf_counter()
    cached_engine(ROOT, settings.faqbot_cache_dir, settings.tuning())
    figures["startup_warm_s"] = time.perf_counter() - started
    passed = PassedChecks()
    started = time.perf_counter()
    validated_engine(ROOT, engine.vectors, engine.tuning, passed=passed)
    figures["reload_with_checks_s"] = time.perf_counter() - started
    started = time.perf_counter()
    validated_engine(ROOT, engine.vectors, engine.tuning, passed=passed)  # the files as they were: only answers could differ
    figures["reload_answers_only_s"] = time.perf_counter() - started
    started = time.perf_counter()
    validated_engine(ROOT, engine.vectors, engine.tuning, check_confusions=False)
    figures["reload_without_checks_s"] = time.perf_counter() - started
    figures.update(rss_mb())
    return figures


MODEL_RSS = """
import sys
from pathlib import Path
from benchmarks.common import rss_mb
before = rss_mb()["rss_mb"]
from bot.engine.semantic import MiniLM
from bot.maintenance.model_cache import load_model
model = MiniLM() if sys.argv[1] == "packaged" else load_model(Path(sys.argv[2]))
model.embed(["how much does a junior backend developer earn?"])
print(rss_mb()["rss_mb"] - before)
"""


def models(path: Path, tuning: Tuning, cache_dir: Path | None) -> None:
    """Print the model table (see the module docstring)."""
    cases = load_cases(path)
    questions = [case.text for case in cases]
    found: dict[str, npt.NDArray[np.float32]] = {}
    print(f"{'model':34s} {'answered':>9s} {'declined':>9s} {'ms/question':>12s} {'cosine':>7s} {'RSS MB':>7s}")
    for name, embedder in (("packaged (float32 compute)", MiniLM()), ("quantised (the bot's)", load_model(cache_dir))):
        vectors = load_vectors(cache_dir, embedder)
        result = rates(run_dialogue(cached_engine(ROOT, cache_dir, tuning, vectors), cases))
        started = time.perf_counter()
        found[name] = np.stack([embedder.embed([question])[0] for question in questions])
        ms = (time.perf_counter() - started) * 1000 / len(questions)
        cosine = float((found[name] * next(iter(found.values()))).sum(axis=1).mean())
        which = "packaged" if name.startswith("packaged") else "quantised"
        rss = subprocess.run(
            [sys.executable, "-c", MODEL_RSS, which, str(cache_dir)], text=True, capture_output=True, check=True, cwd=ROOT
        ).stdout.strip()
        print(f"{name:34s} {result['answered']:9.1%} {result['declined']:9.1%} {ms:12.2f} {cosine:7.3f} {float(rss):7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "tests" / "eval" / "real-holdout.jsonl", help="the case file to measure")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--models", action="store_true", help="only the table of embedding models")
    args = parser.parse_args()
    settings = Settings()
    if args.models:
        models(args.set, settings.tuning(), settings.faqbot_cache_dir)
        return
    engine = cached_engine(ROOT, settings.faqbot_cache_dir, settings.tuning())
    verdicts: list[tuple[str, bool]] = []
    if not args.speed_only:
        print(f"accuracy on {args.set.relative_to(ROOT) if args.set.is_relative_to(ROOT) else args.set}")
        print(f"{'matcher':28s} {'answered':>9s} {'declined':>9s} {'overall':>8s}  settings")
        rows = accuracy(engine, args.set)
        for name, how, result in rows:
            print(f"{name:28s} {result['answered']:9.1%} {result['declined']:9.1%} {result['overall']:8.1%}  {how}")
        ours = rows[0][2]
        verdicts.append(
            (
                f"{args.set.name}: answered {ours['answered']:.1%} >= 90%, declined {ours['declined']:.1%} >= 95% "
                "(issue 9 asks this of real-holdout.jsonl)",
                ours["answered"] >= 0.90 and ours["declined"] >= 0.95,
            )
        )
    print(f"\nspeed on the questions of {args.set.name} ({cpu()})")
    figures = speed(engine, args.set)
    for key, value in figures.items():
        print(f"  {key:28s} {value:8.2f}")
    verdicts += [
        (
            f"ask --jsonl marginal {figures['ask_jsonl_marginal_ms_per_question']:.2f} ms <= extractOne "
            f"{figures['extractone_ms_per_question']:.2f} ms a question",
            figures["ask_jsonl_marginal_ms_per_question"] <= figures["extractone_ms_per_question"],
        ),
        (f"Dialogue.respond p99 {figures['respond_p99_ms']:.2f} ms <= 10 ms", figures["respond_p99_ms"] <= 10),
        (f"start-up, embedding cache warm, {figures['startup_warm_s']:.2f} s <= 1 s", figures["startup_warm_s"] <= 1),
        (
            f"hot reload with its checks {figures['reload_with_checks_s']:.2f} s <= 1 s "
            f"(after only answers changed: {figures['reload_answers_only_s']:.2f} s)",
            figures["reload_with_checks_s"] <= 1,
        ),
        (
            f"RSS of this process (the engine and the baselines; the running bot's: benchmarks.memory_users) "
            f"{figures['rss_mb']:.0f} MB <= 200 MB",
            figures["rss_mb"] <= 200,
        ),
    ]
    print("\ntargets")
    for text, met in verdicts:
        print(f"  {text}: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
