"""End-to-end throughput and the bot's resident memory: the real bot polling a fake Bot API server on 127.0.0.1.

Two processes, so the server does not steal the bot's core: `benchmarks.e2e_server` (the
tests' fake Bot API, timing deliveries and answers) and `benchmarks.e2e_bot` (the real
Application, HTTP stack included). This module starts both, drives them over their
stdin/stdout, and always ends them (by their process handle) with bounded waits.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT

READY_TIMEOUT = 180.0
"""Seconds for a process to start (the 100x knowledge base takes a while to build)."""


class Child:
    """A benchmark helper process speaking JSON lines; its stdout is read by a thread so every wait is bounded."""

    def __init__(self, args: list[str], log: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.name = " ".join(args[:2])
        self.log = log
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, timeout: float) -> dict[str, Any]:
        """The next JSON line (other output is skipped), or RuntimeError (with the end of the process's log) on timeout or exit."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.name} said nothing for {timeout:.0f} s; log: {self.tail()}") from None
            if line is None:
                raise RuntimeError(f"{self.name} exited ({self.proc.poll()}); log: {self.tail()}")
            if line.startswith("{"):
                return dict(json.loads(line))

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def end(self, timeout: float = 20.0) -> None:
        """Close stdin, wait, then terminate and kill this one process if it does not go."""
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:
            pass
        for stop in (None, self.proc.terminate, self.proc.kill):
            if stop is not None:
                stop()
            try:
                self.proc.wait(timeout=timeout if stop is None else 5)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()


def session(factor: int, phases: list[str], store: bool = True, phase_timeout: float = 300.0) -> dict[str, Any]:
    """Start server and bot, run each phase command on the server, then stop both; return every figure."""
    logs = Path(tempfile.mkdtemp(prefix="faqbot-bench-logs-"))
    server = Child(["-m", "benchmarks.e2e_server"], logs / "server.log")
    bot: Child | None = None
    try:
        port = server.expect(30)["port"]
        args = ["-m", "benchmarks.e2e_bot", "--api-url", f"http://127.0.0.1:{port}/bot", "--factor", str(factor)]
        if not store:
            args.append("--no-store")
        bot = Child(args, logs / "bot.log")
        ready = bot.expect(READY_TIMEOUT)
        results = []
        for command in phases:
            bot.send("stats")
            before = bot.expect(30)
            server.send(command)
            result = server.expect(phase_timeout + 30)
            bot.send("stats")
            after = bot.expect(30)
            bot_cpu = after["cpu_s"] - before["cpu_s"]
            result["bot_cpu_s"] = bot_cpu
            result["updates_per_bot_cpu_s"] = result["answered"] / bot_cpu if bot_cpu > 0 else float("nan")
            result["errors"] = after["errors"] - before["errors"]
            result["bot_rss_mb"] = after["rss_mb"]
            results.append(result)
        bot.send("stop")
        final = bot.expect(60)
        return {"ready": ready, "phases": results, "final": final, "logs": str(logs)}
    finally:
        if bot is not None:
            bot.end()
        with contextlib.suppress(OSError, ValueError):
            server.send("exit")
        server.end()


def throughput(
    runs: int = 3, users: int = 1000, per_user: int = 10, paced: tuple[int, float] | None = (1000, 100.0), seed: int = 5, store: bool = True
) -> dict[str, Any]:
    """A burst of users*per_user updates (and optionally a paced phase), `runs` times; medians of the runs."""
    per_run = []
    timeout = 300.0
    for run in range(runs):
        phases = [f"burst {users} {per_user} {seed + run} {timeout}"]
        if paced:
            phases.append(f"paced {paced[0]} {paced[1]} {seed + 100 + run} {timeout}")
        outcome = session(1, phases, store=store, phase_timeout=timeout)
        entry = {"burst": outcome["phases"][0], "final": outcome["final"], "ready": outcome["ready"]}
        if paced:
            entry["paced"] = outcome["phases"][1]
        per_run.append(entry)

    def med(phase: str, key: str) -> float:
        return statistics.median(float(r[phase][key]) for r in per_run)

    keys = (
        "updates_per_s",
        "updates_per_bot_cpu_s",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "elapsed_s",
        "bot_cpu_s",
        "server_cpu_s",
    )
    result: dict[str, Any] = {
        "runs": runs,
        "updates": users * per_user,
        "users": users,
        "store": store,
        "burst": {k: med("burst", k) for k in keys},
        "lost": sum(r["burst"]["lost"] for r in per_run),
        "answered_twice": sum(r["burst"]["answered_twice"] for r in per_run),
        "delivered_twice": sum(r["burst"]["delivered_twice"] for r in per_run),
        "errors": sum(r["burst"]["errors"] for r in per_run),
        "bot_rss_after_burst_mb": statistics.median(r["burst"]["bot_rss_mb"] for r in per_run),
        "timed_out": any(r["burst"]["timed_out"] for r in per_run),
        "per_run": per_run,
    }
    if paced:
        result["paced"] = {"updates": paced[0], "rate": paced[1], **{k: med("paced", k) for k in keys}}
        for key in ("lost", "answered_twice", "errors"):
            result[key] += sum(r["paced"][key] for r in per_run)
    return result


def memory(factors: tuple[int, ...] = (1, 100), users: int = 200, per_user: int = 5, seed: int = 9, store: bool = True) -> dict[str, Any]:
    """Resident memory of the running bot (VmRSS after answering a burst, and the peak VmHWM), per knowledge base size."""
    rows = []
    for factor in factors:
        outcome = session(factor, [f"burst {users} {per_user} {seed} 300"], store=store)
        phase, final, ready = outcome["phases"][0], outcome["final"], outcome["ready"]
        rows.append(
            {
                "factor": factor,
                "intents": ready["intents"],
                "rss_ready_mb": ready["rss_mb"],
                "rss_mb": final["rss_mb"],
                "peak_rss_mb": final["peak_rss_mb"],
                "answered": phase["answered"],
                "lost": phase["lost"],
                "load_s": ready["load_s"],
            }
        )
    return {"updates_answered_first": users * per_user, "rows": rows}
