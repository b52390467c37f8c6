"""How long `Dialogue.respond` takes on crafted messages of the longest length read: the guard against a pattern
that backtracks on some shape of input (4108de2's look-alike pattern took 309 s on "a" * 4000 + " é").

    .venv/bin/python -m benchmarks.crafted [--rounds 3]

Each message is a shape repeated up to `Tuning.max_input_chars` (4,000 characters; a shape ending in its own letter
ends inside them): long words beside a letter beyond ASCII, runs of question words, pointers, lead-ins, names greeted,
handles, list markers, corrections, values, digits, emoji, zero-width spaces. It prints each shape's slowest round,
slowest first, and the slowest of all against an ordinary question's cost, so that a shape taking a thousand times
longer stands out (with 4108de2's pattern the first shape does not finish). Figures only; no target.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import bench_engine
from bot.engine.dialogue import Dialogue

SHAPES: dict[str, str] = {
    "a long word, then a letter beyond ASCII": "a" * 3990 + " é",
    "short words, then a letter beyond ASCII": "a " * 1990 + "é",
    "words mixing scripts": "aé " * 1700,
    "look-alike letters": "Bаckеnd " * 600,
    "letters beyond ASCII": "é" * 5000,
    "question words": "which " * 850,
    "questions joined by and": "and what " * 600,
    "questions strung with commas": ", what" * 850,
    "question marks": "?" * 5000,
    "full stops": ". " * 2500,
    "pointers": "it " * 1700,
    "clauses opened by that": "that i " * 750,
    "handles": "@a " * 1700,
    "names greeted": "hi bob, " * 650,
    "names thanked": "thanks alice " * 400,
    "list markers": "1) " * 1700,
    "lines": "word\n" * 1000,
    "labels": "q: " * 1700,
    "lead-ins": "hey bot, " * 560,
    "contractions": "i'm " * 1250,
    "corrections": "no, i meant " * 420,
    "scene-setting clauses": "when x, " * 630,
    "an uncovered value": "golang " * 720,
    "values in a choice": "java or " * 630,
    "years of experience": "5 years " * 630,
    "digits": "1" * 5000,
    "emoji": "😀" * 5000,
    "zero-width spaces": "a\u200b" * 2500,
    "a repeated letter": "s" + "o" * 5000,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = bench_engine()
    dialogue = Dialogue(lambda: engine)
    limit = engine.tuning.max_input_chars
    slowest: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, shape in SHAPES.items():
            started = time.perf_counter()
            dialogue.respond(shape[:limit], "crafted")
            slowest[name] = max(slowest.get(name, 0.0), (time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    dialogue.respond("how much does a junior backend developer earn?")
    ordinary = (time.perf_counter() - started) * 1000
    print(f"{len(SHAPES)} crafted messages of up to {limit} characters, slowest of {args.rounds} rounds each")
    for name, spent in sorted(slowest.items(), key=lambda item: -item[1]):
        print(f"  {spent:9.1f} ms  {name}")
    worst = max(slowest.values())
    print(f"slowest {worst:.1f} ms, {worst / max(ordinary, 1e-3):.0f} times an ordinary question ({ordinary:.1f} ms)")


if __name__ == "__main__":
    main()
