"""Render a results file (default benchmarks/results/latest.json) as Markdown tables, for benchmarks/README.md.

.venv/bin/python -m benchmarks.report [results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import MATCHING_COLUMNS, RESULTS, SCALING_COLUMNS, figure, matching_rows, scaling_cells


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _code(part: dict[str, Any]) -> str:
    code = part.get("code") or {}
    return f"commit {code.get('commit', '?')}" + (", working tree changed" if code.get("working_tree_changed") else "")


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    meta = results["meta"]
    out.append(
        f"Run of {meta['date']} ({meta['command']}), Python {meta['python']}, {meta['cpus']} CPUs, "
        f"load average at start {', '.join(f'{x:.2f}' for x in meta.get('load_average') or [])}."
    )
    if "matching" in results:
        r = results["matching"]
        out.append(
            f"\n### Matching latency, shipped knowledge base\n\n{r['intents']} intents, {r['examples']:,} examples; "
            f"{r['questions']} questions x {r['rounds']} rounds, median of {r['runs']} runs ({_code(r)}).\n"
        )
        out.append(_table(list(MATCHING_COLUMNS), matching_rows(r)))
    if "accuracy" in results:
        r = results["accuracy"]
        out.append(f"\n### Accuracy on tests/eval/cases.jsonl ({r['cases']} cases; {_code(r)})\n")
        rows = [
            [
                name,
                _pct(r[name]["overall"]),
                _pct(r[name]["in_scope"]),
                _pct(r[name]["declined"]),
                _pct(r[name]["without_followups"]),
                str(r[name].get("cutoff", "–")),
            ]
            for name in ("ours", "rapidfuzz", "rapidfuzz+proc", "thefuzz")
        ]
        out.append(_table(["", "overall", "in scope", "declined", "without follow-ups", "best cutoff"], rows))
        out.append(f"\nOurs with the full grading of `faqbot eval` (answer texts checked too): {_pct(r['ours']['graded_pass'])}.")
    if "scaling" in results:
        r = results["scaling"]
        out.append(f"\n### Scaling (each size in its own process, memory limit {r.get('memory_limit_gb', '?')} GB; {_code(r)})\n")
        out.append(_table(list(SCALING_COLUMNS), [scaling_cells(row) for row in r["rows"]]))
    if "startup" in results:
        r = results["startup"]
        cold, hot = r["cold"], r["reload"]
        rows = [
            ["cold: import the engine (fresh process)", figure(cold["import_s"], 3)],
            ["cold: load YAML + Markdown", figure(cold["load_s"], 3)],
            ["cold: build the matcher's index", figure(cold["index_s"], 3)],
            ["**cold: load + index**", figure(cold["build_s"], 3)],
        ]
        if hot.get("reloader"):
            rows += [
                ["hot reload with the confusion check (the Reloader's default)", figure(hot["with_confusion_check_s"], 3)],
                ["hot reload without the confusion check", figure(hot["without_confusion_check_s"], 3)],
            ]
        out.append(f"\n### Start-up and hot reload (medians; {_code(r)})\n")
        out.append(_table(["", "seconds"], rows))
    if "e2e" in results:
        r = results["e2e"]
        phases = [(f"burst from {r['users']:,} users", r["updates"], r["burst"], 0)]
        if "paced" in r:
            phases.append((f"paced at {r['paced']['rate']:.0f}/s", r["paced"]["updates"], r["paced"], 1))
        rows = [
            [
                label,
                figure(updates),
                figure(phase["updates_per_s"], 0),
                figure(phase["updates_per_bot_cpu_s"], 0),
                figure(phase["latency_p50_ms"], digits),
                figure(phase["latency_p99_ms"], digits),
            ]
            for label, updates, phase, digits in phases
        ]
        spread = ", ".join(f"{run['burst']['updates_per_s']:.0f}" for run in r["per_run"])
        out.append(f"\n### End to end (median of {r['runs']} runs: {spread} updates/s; {_code(r)})\n")
        out.append(_table(["", "updates", "answered/s", "per bot CPU-second", "p50 ms", "p99 ms"], rows))
        out.append(
            f"\nLost: {r['lost']}, answered twice: {r['answered_twice']}, delivered twice: {r['delivered_twice']}, "
            f"errors logged: {r['errors']} (all runs)."
        )
    if "memory" in results:
        r = results["memory"]
        rows = [
            [
                f"{row['factor']}x ({row['intents']:,} intents)",
                figure(row["rss_ready_mb"], 0),
                figure(row["rss_mb"], 0),
                figure(row["peak_rss_mb"], 0),
            ]
            for row in r["rows"]
        ]
        if "e2e" in results:
            burst = results["e2e"]
            rows.append([f"1x, just after the {burst['updates']:,}-update burst", "", figure(burst["bot_rss_after_burst_mb"], 0), ""])
        out.append(f"\n### Memory of the running bot (RSS after answering {r['updates_answered_first']:,} updates; {_code(r)})\n")
        out.append(_table(["knowledge base", "at start MB", "RSS MB", "peak MB"], rows))
    if results.get("targets"):
        out.append("\n### Targets\n")
        out.append(
            _table(
                ["", "target", "measured", "met"],
                [[t["target"], t["threshold"], t["measured"], "yes" if t["met"] else "**no**"] for t in results["targets"]],
            )
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    print(render(json.loads(path.read_text(encoding="utf-8"))), end="")
