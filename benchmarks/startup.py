"""Start-up and hot reload: time to load and index the knowledge base, cold (a fresh process) and reloaded (in service).

- cold: a new interpreter imports the engine, then `bot.engine.build` loads the YAML and
  Markdown and builds the matcher's index; import time and build time are reported apart
  (and the load and index steps within the build);
- reload: `bot.maintenance.reload.Reloader.reload()` in a running process (validate, build in a worker
  thread, swap), with the confusion check (`check_confusions=True`, the Reloader's
  default, the checks of `faqbot validate`) and without.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import ROOT

_COLD = """
import json, time
t0 = time.perf_counter()
from bot.engine.config import Tuning
from bot.engine.core import Engine
from bot.engine.knowledge import load
from bot.engine.matcher import Matcher
from bot.maintenance.vector_cache import load_vectors
from bot.settings import Settings
t1 = time.perf_counter()
kb = load(ROOT)
t2 = time.perf_counter()
vectors = load_vectors(Settings().faqbot_cache_dir)  # the model and the warm embedding cache
engine = Engine(kb, Matcher(kb, Tuning(), vectors))
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "index_s": t3 - t2, "build_s": t3 - t1}))
"""


def cold(runs: int = 5) -> dict[str, Any]:
    """Median over `runs` fresh processes of import, load (YAML + Markdown) and index (matcher) times."""
    samples = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = f"from pathlib import Path\nROOT = Path({str(ROOT)!r})\n{_COLD}"
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]} | {"runs": runs}


def reload(runs: int = 5) -> dict[str, Any]:
    """Median seconds of a hot reload of the shipped knowledge base, with and without the confusion check."""
    from benchmarks.common import bench_engine
    from bot.engine.core import EngineHolder, build

    holder = EngineHolder(bench_engine())
    result: dict[str, Any] = {"runs": runs}
    try:
        from bot.maintenance.reload import Reloader
    except ImportError:  # hot reload not there: time what it would do (build, then swap)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            holder.swap(build(ROOT, holder.get().vectors))
            times.append(time.perf_counter() - started)
        return result | {"build_and_swap_s": statistics.median(times), "reloader": False}

    async def measure(check: bool) -> tuple[list[float], int]:
        reloader = Reloader(ROOT, holder, check_confusions=check)
        durations, problems = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            outcome = await reloader.reload("benchmark")
            durations.append(time.perf_counter() - started)
            problems = max(problems, len(outcome.problems))  # a refused reload ran every check too: still timed
        return durations, problems

    logging.getLogger("bot.maintenance.reload").setLevel(logging.CRITICAL)
    for check, key in ((True, "with_confusion_check"), (False, "without_confusion_check")):
        durations, problems = asyncio.run(measure(check))
        result[f"{key}_s"] = statistics.median(durations)
        result[f"{key}_problems"] = problems
    result["reloader"] = True
    return result
