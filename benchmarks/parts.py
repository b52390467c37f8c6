"""How long the model takes over the parts of long messages: the bot's order (longest first) against message order.

    .venv/bin/python -m benchmarks.parts [--rounds 6]

The messages of three parts or more in the real-question tune and holdout sets (only their texts; no labels are
read). For each, the question cache is emptied and its parts are embedded on the bot's two threads: by
`Vectors.prepare` (longest first), and by the same pool in the order the parts come. Rounds alternate the two;
the figures are the total over the messages, min and median over the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import ROOT, bench_engine
from bot.engine.semantic import PARALLEL
from bot.engine.text import split_questions

SETS = ("real-tune.jsonl", "real-holdout.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    engine = bench_engine()
    vectors = engine.vectors
    assert vectors is not None
    texts = [json.loads(line)["text"] for name in SETS for line in (ROOT / "tests" / "eval" / name).read_text().splitlines()]
    messages = [parts for parts in ([q.read for q in split_questions(t)] for t in texts) if len(parts) >= 3]
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    totals: dict[str, list[float]] = {"longest first (the bot)": [], "message order": []}
    for _ in range(args.rounds):
        for mode, spent in totals.items():
            elapsed = 0.0
            for parts in messages:
                vectors.forget_questions()
                started = time.perf_counter()
                if mode == "message order":
                    list(pool.map(lambda q: vectors.embedder.embed([q])[0], list(dict.fromkeys(parts))))
                else:
                    vectors.prepare(parts)
                elapsed += time.perf_counter() - started
            spent.append(elapsed * 1000)
    print(f"{len(messages)} messages of 3 parts or more, {args.rounds} rounds")
    for mode, spent in totals.items():
        print(f"  {mode:26s} min {min(spent):7.1f} ms   median {statistics.median(spent):7.1f} ms")


if __name__ == "__main__":
    main()
