"""Shared helpers: the project root, percentiles, medians of runs, the process's resident memory."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.engine.core import Engine
from bot.maintenance.vector_cache import cached_engine
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def figure(value: Any, digits: int = 2) -> str:
    """A number for a results table: thousands separated, `digits` decimals for a float, "–" for none or NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


MATCHING_COLUMNS = ("", "p50 ms", "p99 ms", "mean ms", "ours/it p50", "ours/it p99")
"""The columns of the matching-latency table, in the console (`benchmarks.run`) and in the Markdown report alike."""


def matching_rows(r: dict[str, Any]) -> list[list[str]]:
    """The matching benchmark's results as rows of `MATCHING_COLUMNS`: ours, the baselines with ours/theirs, ours per category."""
    rows = [
        [label, *(figure(r[key][f"{stat}_ms"], 3) for stat in ("p50", "p99", "mean")), "", ""]
        for label, key in (
            ("ours: Dialogue.respond", "ours"),
            ("ours, caches cleared (first pass)", "ours_cold"),
            ("ours, interleaved with the baselines", "ours_interleaved"),
        )
    ]
    for name in ("rapidfuzz", "rapidfuzz+proc", "thefuzz"):
        ratio = r["ratios"][f"ours/{name}"]
        times = (figure(r[name][f"{stat}_ms"], 3) for stat in ("p50", "p99", "mean"))
        rows.append([f"baseline: {name}", *times, figure(ratio["p50"]), figure(ratio["p99"])])
    for category, figures in r["ours_by_category"].items():
        rows.append([f"ours, {category}", *(figure(figures[f"{stat}_ms"], 3) for stat in ("p50", "p99", "mean")), "", ""])
    return rows


SCALING_COLUMNS = (
    "size", "intents", "examples", "build s", "index MB", "p50 ms", "p99 ms", "p99 cold ms",
    "growth k (p50)", "rapidfuzz p50 ms", "thefuzz p50 ms", "ours/rapidfuzz",
)  # fmt: skip
"""The columns of the scaling table, in the console (`benchmarks.run`) and in the Markdown report alike."""


def scaling_cells(row: dict[str, Any]) -> list[str]:
    """One size of the scaling benchmark as the cells of `SCALING_COLUMNS` (a failed size: its error in the p50 cell)."""
    if "error" in row:
        return [f"{row['factor']}x", *["–"] * 4, f"failed: {row['error'][:90]}", *["–"] * 6]
    return [
        f"{row['factor']}x",
        figure(row["intents"]),
        figure(row["examples"]),
        figure(row["build_s"], 1),
        figure(row.get("index_rss_mb"), 0),
        figure(row["ours"]["p50_ms"], 3),
        figure(row["ours"]["p99_ms"], 3),
        figure(row.get("ours_cold", {}).get("p99_ms"), 3),
        figure(row["ours"].get("p50_growth_exponent")),
        figure(row.get("rapidfuzz", {}).get("p50_ms"), 2),
        figure(row.get("thefuzz", {}).get("p50_ms"), 2),
        figure(row.get("ours/rapidfuzz")),
    ]


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of `samples`, linearly interpolated between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50, p99, mean and max of nanosecond samples, in milliseconds."""
    ms = [s / 1e6 for s in samples_ns]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
        "n": len(ms),
    }


def median_of(runs: Iterable[dict[str, float]], keys: Iterable[str] | None = None) -> dict[str, float]:
    """Key-wise median of several runs' figures (the machine is shared and noisy: quote medians)."""
    runs = list(runs)
    if not runs:
        return {}
    names = list(keys) if keys is not None else [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in runs if k in r) for k in names}


def rss_mb() -> dict[str, float]:
    """Resident memory of this process now (VmRSS) and at its peak (VmHWM), in MiB (Linux /proc; getrusage elsewhere)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024}
    except (OSError, KeyError, ValueError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
        return {"rss_mb": math.nan, "peak_rss_mb": peak_mb}


def cpu() -> str:
    """The processor the figures were measured on, and whether it has VNNI (int8 dot products): without it the
    model's products run exactly but more slowly (`bot.maintenance.model_cache`), so figures do not compare."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"unknown processor, {os.cpu_count()} CPUs"
    fields = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in lines if ":" in line)}
    flags = set(fields.get("flags", "").split())  # x86 only: an ARM processor lists "Features" instead
    vnni = "n/a" if not flags else "yes" if {"avx512_vnni", "avx_vnni"} & flags else "no"
    return f"{fields.get('model name', 'unknown processor')}, {os.cpu_count()} CPUs, VNNI: {vnni}"


def timed(call: Callable[[], object], clock: Callable[[], int]) -> int:
    started = clock()
    call()
    return clock() - started


def bench_engine() -> Engine:
    """The shipped engine as `faqbot` builds it: the real embedding model with the user's embedding cache."""
    settings = Settings()
    return cached_engine(ROOT, settings.faqbot_cache_dir, settings.tuning())
