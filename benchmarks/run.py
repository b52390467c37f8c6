"""Run the benchmarks, print a table per part and the targets, and save everything to benchmarks/results/latest.json.

    .venv/bin/python -m benchmarks.run                 # everything (about 15 minutes)
    .venv/bin/python -m benchmarks.run --quick         # fewer runs, no 1000x, a smaller burst (about 3 minutes)
    .venv/bin/python -m benchmarks.run --only matching,accuracy
    python benchmarks/run.py --only e2e --runs 5

Parts: matching (latency on the shipped knowledge base, with the baselines), accuracy (on
tests/eval/cases.jsonl, with the baselines), scaling (10x, 100x, 1000x), startup (cold load
and hot reload), e2e (throughput of the real bot against a fake Bot API), memory (RSS).
Figures are medians of several runs; ratios are measured within one run. The machine is
shared and noisy: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from benchmarks.common import MATCHING_COLUMNS, RESULTS, ROOT, SCALING_COLUMNS, cpu, figure, matching_rows, scaling_cells

PARTS = ("matching", "accuracy", "scaling", "startup", "e2e", "memory")
TARGETS = {
    "p99_shipped_ms": 1.0,
    "p99_100k_ms": 10.0,
    "startup_s": 0.5,
    "reload_s": 0.5,
    "updates_per_s": 500.0,
    "rss_mb": 120.0,
}


def _pct(value: float | None) -> str:
    return "–" if value is None or value != value else f"{100 * value:.1f}%"


def _table(title: str, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


# --- printing ------------------------------------------------------------------------------


def show_matching(console: Console, r: dict[str, Any]) -> None:
    title = (
        f"Matching latency per question, shipped knowledge base ({r['intents']} intents, {r['examples']} examples; "
        f"{r['questions']} questions x {r['rounds']} rounds, median of {r['runs']} runs; ratios from interleaved calls)"
    )
    table = _table(title, list(MATCHING_COLUMNS))
    for row in matching_rows(r):
        table.add_row(*row)
    console.print(table)


def show_accuracy(console: Console, r: dict[str, Any]) -> None:
    table = _table(
        f"Accuracy on tests/eval/cases.jsonl ({r['cases']} cases; baselines at their best cutoff)",
        ["", "overall", "in scope", "declined", "without follow-ups", "cutoff"],
    )
    for name in ("ours", "rapidfuzz", "rapidfuzz+proc", "thefuzz"):
        row = r[name]
        table.add_row(
            name,
            _pct(row["overall"]),
            _pct(row["in_scope"]),
            _pct(row["declined"]),
            _pct(row["without_followups"]),
            str(row.get("cutoff", "–")),
        )
    console.print(table)
    console.print(f"  ours, full grading of faqbot eval (answer texts checked too): {_pct(r['ours']['graded_pass'])}")


def show_scaling(console: Console, r: dict[str, Any]) -> None:
    table = _table("Scaling: knowledge base grown synthetically, each size in its own process (medians of runs)", list(SCALING_COLUMNS))
    failed = [row for row in r["rows"] if "error" in row]
    for row in r["rows"]:
        table.add_row(*scaling_cells(row))
    console.print(table)
    for row in failed:
        console.print(f"  [red]{row['factor']}x failed[/]: {row['error']}")
    console.print(
        "  growth k: latency ~ examples^k between consecutive sizes (1 = linear, < 1 = sublinear); "
        "index MB: resident memory added by building the grown knowledge base and its index"
    )


def show_startup(console: Console, r: dict[str, Any]) -> None:
    table = _table("Start-up and hot reload, shipped knowledge base (medians)", ["", "seconds"])
    cold = r["cold"]
    table.add_row(f"cold: import the engine (fresh process, {cold['runs']} runs)", figure(cold["import_s"], 3))
    table.add_row("cold: load YAML + Markdown", figure(cold["load_s"], 3))
    table.add_row("cold: build the matcher's index", figure(cold["index_s"], 3))
    table.add_row("cold: load + index", figure(cold["build_s"], 3))
    hot = r["reload"]
    if hot.get("reloader"):
        table.add_row("hot reload, with the confusion check (Reloader default)", figure(hot["with_confusion_check_s"], 3))
        table.add_row("hot reload, without the confusion check", figure(hot["without_confusion_check_s"], 3))
    else:
        table.add_row("hot reload (build + swap; bot.maintenance.reload not available)", figure(hot["build_and_swap_s"], 3))
    console.print(table)


def show_e2e(console: Console, r: dict[str, Any]) -> None:
    table = _table(
        f"End to end: real bot polling a fake Bot API on 127.0.0.1 (median of {r['runs']} runs)",
        ["", "updates", "answered/s", "per bot CPU-s", "p50 ms", "p99 ms", "max ms"],
    )
    phases = [(f"burst from {r['users']:,} users", r["updates"], r["burst"])]
    if "paced" in r:
        phases.append((f"paced at {r['paced']['rate']:.0f}/s", r["paced"]["updates"], r["paced"]))
    for label, updates, phase in phases:
        table.add_row(
            label,
            figure(updates),
            figure(phase["updates_per_s"], 0),
            figure(phase["updates_per_bot_cpu_s"], 0),
            *(figure(phase[f"latency_{key}_ms"], 1) for key in ("p50", "p99", "max")),
        )
    console.print(table)
    console.print(
        f"  lost: {r['lost']}, answered twice: {r['answered_twice']}, delivered twice: {r['delivered_twice']}, "
        f"errors logged: {r['errors']}, timed out: {r['timed_out']} (all runs)"
    )


def show_memory(console: Console, r: dict[str, Any], e2e: dict[str, Any] | None = None) -> None:
    table = _table(
        f"Memory of the running bot (resident set, after answering {r['updates_answered_first']:,} updates)",
        ["knowledge base", "intents", "RSS at start MB", "RSS MB", "peak RSS MB"],
    )
    for row in r["rows"]:
        table.add_row(
            f"{row['factor']}x",
            figure(row["intents"]),
            figure(row["rss_ready_mb"], 1),
            figure(row["rss_mb"], 1),
            figure(row["peak_rss_mb"], 1),
        )
    if e2e is not None:
        table.add_row(f"1x, just after the {e2e['updates']:,}-update burst", "", "", figure(e2e["bot_rss_after_burst_mb"], 1), "")
    console.print(table)


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, threshold, measured, met) for each target that was measured."""
    rows: list[tuple[str, str, str, bool | None]] = []
    if "matching" in results:
        value = results["matching"]["ours"]["p99_ms"]
        rows.append(("p99 latency, shipped knowledge base", "< 1 ms", f"{value:.3f} ms", value < TARGETS["p99_shipped_ms"]))
    if "scaling" in results:
        for row in results["scaling"]["rows"]:
            if row["factor"] == 100 and "error" in row:
                rows.append(("p99 latency, 100x knowledge base", "< 10 ms", f"failed: {row['error'][:60]}", False))
            elif row["factor"] == 100:
                value = row["ours"]["p99_ms"]
                rows.append(
                    (f"p99 latency, {row['examples']:,} examples (100x)", "< 10 ms", f"{value:.1f} ms", value < TARGETS["p99_100k_ms"])
                )
                k = row["ours"].get("p50_growth_exponent")
                if k is not None:
                    rows.append(
                        (
                            f"sublinear growth {row['ours'].get('growth_from', '?')}x -> 100x (exponent k of p50)",
                            "k < 1",
                            f"k = {k:.2f}",
                            k < 0.9,
                        )
                    )
    if "startup" in results:
        value = results["startup"]["cold"]["build_s"]
        rows.append(("start-up: load + index, cold", "< 0.5 s", f"{value:.3f} s", value < TARGETS["startup_s"]))
        hot = results["startup"]["reload"]
        if hot.get("reloader"):
            for key, label in (
                ("with_confusion_check_s", "hot reload with confusion check"),
                ("without_confusion_check_s", "hot reload without confusion check"),
            ):
                rows.append((label, "< 0.5 s", f"{hot[key]:.3f} s", hot[key] < TARGETS["reload_s"]))
        else:
            rows.append(("hot reload", "< 0.5 s", f"{hot['build_and_swap_s']:.3f} s", hot["build_and_swap_s"] < TARGETS["reload_s"]))
    if "e2e" in results:
        e2e = results["e2e"]
        value = e2e["burst"]["updates_per_s"]
        rows.append(("answered updates per second (burst)", ">= 500/s", f"{value:,.0f}/s", value >= TARGETS["updates_per_s"]))
        clean = e2e["lost"] == 0 and e2e["answered_twice"] == 0 and not e2e["timed_out"]
        rows.append(("no update lost or answered twice", "0 / 0", f"{e2e['lost']} / {e2e['answered_twice']}", clean))
    if "memory" in results:
        for row in results["memory"]["rows"]:
            if row["factor"] == 1:
                rows.append(
                    (
                        f"RSS of the running bot, shipped knowledge base ({results['memory']['updates_answered_first']:,} updates)",
                        "< 120 MB",
                        f"{row['rss_mb']:.0f} MB",
                        row["rss_mb"] < TARGETS["rss_mb"],
                    )
                )
    if "e2e" in results:
        value = results["e2e"]["bot_rss_after_burst_mb"]
        rows.append(
            (f"RSS just after a {results['e2e']['updates']:,}-update burst", "< 120 MB", f"{value:.0f} MB", value < TARGETS["rss_mb"])
        )
    return rows


def show_targets(console: Console, rows: list[tuple[str, str, str, bool | None]]) -> None:
    table = _table("Targets", ["", "target", "measured", "met"])
    for name, threshold, measured, met in rows:
        table.add_row(name, threshold, measured, "[green]yes[/]" if met else "[red]NO[/]")
    console.print(table)


SHOW: dict[str, Callable[[Console, dict[str, Any]], None]] = {
    "matching": show_matching,
    "accuracy": show_accuracy,
    "scaling": show_scaling,
    "startup": show_startup,
    "e2e": show_e2e,
    "memory": show_memory,
}


# --- running -------------------------------------------------------------------------------


def run_part(part: str, args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    runs = args.runs or (2 if quick else 5)
    if part == "matching":
        from benchmarks import matching

        return matching.shipped_latency(runs=runs, rounds=5 if quick else 20)
    if part == "accuracy":
        from benchmarks import matching

        return matching.accuracy()
    if part == "scaling":
        from benchmarks import matching

        factors = tuple(args.factors or ((1, 10, 100) if quick else (1, 10, 100, 1000)))
        return matching.scaling(factors, runs=args.runs or (1 if quick else 3))
    if part == "startup":
        from benchmarks import startup

        return {"cold": startup.cold(runs=3 if quick else 7), "reload": startup.reload(runs=3 if quick else 5)}
    if part == "e2e":
        from benchmarks import e2e

        users = 200 if quick else 1000
        return e2e.throughput(
            runs=args.runs or (1 if quick else 3),
            users=users,
            per_user=10,
            paced=(300, 100.0) if quick else (1000, 100.0),
            store=not args.no_store,
        )
    if part == "memory":
        from benchmarks import e2e

        return e2e.memory(factors=(1, 100), store=not args.no_store)
    raise ValueError(part)


def code_version() -> dict[str, Any]:
    """The commit and whether bot/, intents/ or content/ differ from it (parts run minutes apart; others may commit meanwhile)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "bot", "intents", "content"], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "?", None
    return {"commit": commit, "working_tree_changed": dirty}


def metadata(argv: list[str]) -> dict[str, Any]:
    return {
        "command": " ".join(["python -m benchmarks.run", *argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **code_version(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated parts to run: {','.join(PARTS)} (default: all)")
    parser.add_argument("--skip", help="comma-separated parts to leave out")
    parser.add_argument("--quick", action="store_true", help="fewer runs and rounds, no 1000x, a 2,000-update burst")
    parser.add_argument("--runs", type=int, help="runs per measurement (medians are quoted)")
    parser.add_argument("--factors", type=lambda s: [int(x) for x in s.split(",")], help="scaling factors, e.g. 1,10,100")
    parser.add_argument("--no-store", action="store_true", help="e2e/memory: run the bot without the SQLite conversation log")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where to save the JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",")] if args.only else list(PARTS)
    skipped = {p.strip() for p in args.skip.split(",")} if args.skip else set()
    unknown = [p for p in [*chosen, *skipped] if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    chosen = [p for p in chosen if p not in skipped]
    if {"matching", "accuracy", "scaling"} & set(chosen) and importlib.util.find_spec("thefuzz") is None:
        parser.error("the thefuzz baseline is not installed: .venv/bin/pip install -e '.[bench]'")

    console = Console(width=None if sys.stdout.isatty() else 160)
    results: dict[str, Any] = {"meta": metadata(argv)}
    durations: dict[str, float] = {}
    for part in chosen:
        console.print(f"[dim]running {part}...[/]")
        started = time.perf_counter()
        version = code_version()
        results[part] = run_part(part, args)
        results[part]["code"] = version
        durations[part] = time.perf_counter() - started
        if part == "memory":
            show_memory(console, results[part], results.get("e2e"))
        else:
            SHOW[part](console, results[part])
    results["meta"]["seconds"] = durations
    results["targets"] = [{"target": t, "threshold": th, "measured": m, "met": met} for t, th, m, met in targets(results)]
    show_targets(console, targets(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
