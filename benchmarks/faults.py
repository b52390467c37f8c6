"""Fault table: the real `faqbot run` against the fake Bot API, with bursts from distinct users and faults.

    python -m benchmarks.faults                 # 3,000-update bursts (several minutes: sending is capped at 30/s)
    python -m benchmarks.faults --updates 600   # quicker

Each fault runs a fresh bot (fixture knowledge base, a fresh data folder) and prints one row:
fault -> what the bot did -> updates never answered / answered with the apology instead (the
answer could not be sent) / answered twice / log rows lost (updates answered without their
`questions` row) and doubled. One update per user, so answers are
counted per chat. The suite's fault tests (tests/telegram/test_faults.py) check the same
faults on small bursts; this prints the figures for big ones.

A full disk is a file-size limit on the bot process (tests.helpers.disk: RLIMIT_FSIZE, so
SQLite sees EFBIG, a "disk I/O error", where a real full disk gives "database or disk is full").
"Freed" lifts the limit of the running process (Linux only; elsewhere that row is skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tests.helpers.disk import CAN_LIFT, copy_output, full_disk_limit, lift_file_size_limit, limit_file_size, ready_cache
from tests.telegram.factories import BOT_USER, TOKEN, Factory
from tests.telegram.fake_api import FakeBotAPI, Fault
from tests.telegram.test_e2e_process import environment

POISON = {"message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": "hi"}}


APOLOGY = "Sorry, something went wrong"
"""The start of the fixture knowledge base's `error` message: the reply to an update whose answer could not be sent."""


@dataclass
class Row:
    fault: str
    did: str
    never: int
    apologised: int
    twice: int
    rows_lost: int
    rows_doubled: int


class Bench:
    def __init__(self, root: Path, updates: int) -> None:
        self.root = root
        self.updates = updates
        self.case = 0
        self.copiers: dict[int, asyncio.Task[None]] = {}
        """Per process id: the task copying a file-size-limited process's output into its log."""

    @asynccontextmanager
    async def api(self) -> AsyncIterator[FakeBotAPI]:
        async with FakeBotAPI(TOKEN, BOT_USER) as server:
            yield server

    def folder(self) -> Path:
        self.case += 1
        path = self.root / f"case{self.case}"
        path.mkdir()
        return path

    async def start(self, folder: Path, api: FakeBotAPI, file_size_limit: int | None = None, **env: str) -> asyncio.subprocess.Process:
        """`faqbot run` in `folder`; with `file_size_limit`, on a full disk (its output then reaches the log through a pipe)."""
        values = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.base_url, "TELEGRAM_TIMEOUT": "2", "TELEGRAM_POLL_TIMEOUT": "1"}
        log = (folder / "stderr.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=folder,
            env=environment(folder, **(values | env)),
            stdout=log if file_size_limit is None else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=None if file_size_limit is None else limit_file_size(file_size_limit),
        )
        if process.stdout is not None:
            self.copiers[process.pid] = asyncio.create_task(copy_output(process.stdout, log))
        return process

    def burst(self, api: FakeBotAPI, users: range) -> None:
        make = Factory(start=users.start)
        for user_id in users:
            api.push(make.message("what is git?", user_id=user_id))

    async def until(self, condition: Callable[[], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self, process: asyncio.subprocess.Process, grace: float = 10.0) -> str:
        """SIGTERM, then SIGKILL after `grace` seconds (docker stop); how it ended."""
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            return f"killed after the {grace:.0f} s grace"
        finally:
            if copier := self.copiers.pop(process.pid, None):
                await copier
        return f"exited {process.returncode} in {time.monotonic() - started:.1f} s"

    def questions(self, folder: Path) -> int:
        """The `questions` rows in `folder`'s conversation log."""
        with sqlite3.connect(folder / "data" / "faqbot.sqlite3", timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM questions").fetchone()[0])

    def row(self, fault: str, did: str, api: FakeBotAPI, folder: Path, users: range) -> Row:
        """Answers per user (apologies apart) against the `questions` rows of those users' updates."""
        answers: dict[int, int] = {}
        apologies: set[int] = set()
        for message in api.sent:
            chat = message["chat"]["id"]
            if str(message.get("text", "")).startswith(APOLOGY):
                apologies.add(chat)
            else:
                answers[chat] = answers.get(chat, 0) + 1
        answered = sum(1 for u in users if answers.get(u, 0) >= 1)
        extra = len(api.sent_per_chat().keys() - set(users))  # the warm-up question before a storm
        with sqlite3.connect(folder / "data" / "faqbot.sqlite3") as db:
            rows = int(db.execute("SELECT count(*) FROM questions").fetchone()[0]) - extra
        return Row(
            fault,
            did,
            never=sum(1 for u in users if answers.get(u, 0) == 0 and u not in apologies),
            apologised=sum(1 for u in users if answers.get(u, 0) == 0 and u in apologies),
            twice=sum(1 for u in users if answers.get(u, 0) > 1),
            rows_lost=max(0, answered - rows),
            rows_doubled=max(0, rows - answered),
        )

    # --- the faults -----------------------------------------------------------------------

    async def kill_9(self) -> Row:
        async with self.api() as api:
            folder, users = self.folder(), range(100_000, 100_000 + self.updates)
            self.burst(api, users)
            process = await self.start(folder, api)
            await self.until(lambda: len(api.sent) >= self.updates // 4, 600)
            process.kill()
            await process.wait()
            at = len(api.sent)
            process = await self.start(folder, api)
            await self.until(lambda: len(api.sent_per_chat()) >= self.updates, 600)
            await asyncio.sleep(1.0)
            await self.stop(process)
            fault = f"kill -9 after {at} of {self.updates} answers, restart"
            return self.row(fault, "answered the rest after the restart", api, folder, users)

    async def sigterm(self) -> Row:
        async with self.api() as api:
            folder, users = self.folder(), range(200_000, 200_000 + self.updates)
            self.burst(api, users)
            process = await self.start(folder, api)
            await self.until(lambda: len(api.sent) >= self.updates // 4, 600)
            at = len(api.sent)
            ended = await self.stop(process, grace=10.0)
            process = await self.start(folder, api)
            await self.until(lambda: len(api.sent_per_chat()) >= self.updates, 600)
            await asyncio.sleep(1.0)
            await self.stop(process)
            return self.row(f"SIGTERM after {at} answers, 10 s grace, restart", f"{ended}; rest after the restart", api, folder, users)

    async def poison(self) -> Row:
        async with self.api() as api:
            folder, users = self.folder(), range(300_000, 300_000 + min(self.updates, 300))
            api.push(POISON)
            self.burst(api, users)
            process = await self.start(folder, api)
            ok = await self.until(lambda: len(api.sent_per_chat()) >= len(users), 120)
            polls = api.attempts.get("getUpdates", 0)
            await self.stop(process)
            log = (folder / "stderr.log").read_text()
            did = f"logged {log.count('cannot be parsed')}x, skipped; {'all later ones answered' if ok else 'STUCK'}; {polls} getUpdates"
            return self.row("poison update (message without date) first", did, api, folder, users)

    async def storm(self, label: str, method: str, fault: Fault, seconds: float = 10.0) -> Row:
        async with self.api() as api:
            folder, users = self.folder(), range(400_000 + self.case * 1000, 400_000 + self.case * 1000 + 50)
            process = await self.start(folder, api)
            api.push(Factory(start=1).message("what is git?", user_id=users.start - 1))
            await self.until(lambda: bool(api.sent), 60)  # up
            api.storm(method, fault)
            before = api.attempts.get(method, 0)
            self.burst(api, users)
            await asyncio.sleep(seconds)
            rate = (api.attempts.get(method, 0) - before) / seconds
            api.storm(method, None)
            await self.until(lambda: len(api.sent_per_chat()) >= len(users) + 1, 60)
            await asyncio.sleep(1.0)
            await self.stop(process)
            row = self.row(label, "", api, folder, users)
            if method == "getUpdates":
                did = f"backed off: {rate:.1f} getUpdates/s during the storm, then answered everything"
            elif row.never or row.apologised:
                did = f"{rate:.1f} sendMessage/s; gave some replies up after their retries (apology once the storm ended)"
            else:
                did = f"{rate:.1f} sendMessage/s; retried each reply through the storm (up to a minute), then all answered"
            return replace(row, did=did)

    async def disk_full(self, free: bool) -> Row:
        """A burst on a full disk (the log fills up a few dozen rows in), then the disk freed while the bot runs
        (`free`) or the bot stopped (SIGTERM) and started again with room for a second, small burst."""
        async with self.api() as api:
            folder, first = self.folder(), range(600_000 + self.case * 10_000, 600_000 + self.case * 10_000 + self.updates)
            second = range(first.stop, first.stop + (0 if free else 50))
            await asyncio.to_thread(ready_cache)  # so the limited bot has nothing to write in the embedding cache
            process = await self.start(folder, api, file_size_limit=await full_disk_limit())
            self.burst(api, first)
            answered = await self.until(lambda: len(api.sent_per_chat()) >= len(first), 600)
            kept = self.questions(folder)
            did = f"{'answered' if answered else 'STUCK: did not answer'} all {len(first)} with {kept} logged"
            if free:
                lift_file_size_limit(process.pid)
                caught_up = await self.until(lambda: self.questions(folder) >= len(first), 120)
                did += f"; freed: {'the queued rows written' if caught_up else 'rows NOT written'}; {await self.stop(process)}"
            else:
                ended = await self.stop(process)
                did += f"; SIGTERM: {ended}, {len(first) - self.questions(folder)} queued rows dropped"
                process = await self.start(folder, api)
                self.burst(api, second)
                await self.until(lambda: len(api.sent_per_chat()) >= len(first) + len(second), 120)
                logged = await self.until(lambda: self.questions(folder) >= kept + len(second), 30)
                did += f"; restarted with room, {len(second)} more {'logged' if logged else 'NOT logged'}"
                await self.stop(process)
            fault = f"disk full after a few dozen rows, {'freed while running' if free else 'stopped while full, restart'}"
            return self.row(fault, did, api, folder, range(first.start, second.stop))

    async def locked(self, release: bool) -> Row:
        """Another program holds the conversation log's write lock (`BEGIN EXCLUSIVE`) through a burst; then it lets
        go while the bot runs (`release`), or the bot is stopped (SIGTERM) while it still holds it, and started again."""
        async with self.api() as api:
            base = 700_000 + self.case * 10_000
            folder, users = self.folder(), range(base, base + min(self.updates, 600))
            process = await self.start(folder, api)
            api.push(Factory(start=1).message("what is git?", user_id=users.start - 1))
            await self.until(lambda: self.questions_or_none(folder) == 1, 60)  # up, and the log exists
            blocker = sqlite3.connect(folder / "data" / "faqbot.sqlite3", isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            held = time.monotonic()
            try:
                self.burst(api, users)
                answered = await self.until(lambda: len(api.sent_per_chat()) >= len(users) + 1, 600)
                did = f"{'answered' if answered else 'STUCK: did not answer'} all {len(users)} while locked"
                if release:
                    blocker.execute("COMMIT")
                    did += f"; lock released after {time.monotonic() - held:.0f} s: "
                    caught_up = await self.until(lambda: self.questions(folder) >= len(users) + 1, 60)
                    did += f"{'the queued rows written' if caught_up else 'rows NOT written'}; {await self.stop(process)}"
                else:
                    ended = await self.stop(process)
                    blocker.execute("COMMIT")
                    did += f"; SIGTERM while locked: {ended}, {len(users) + 1 - self.questions(folder)} queued rows dropped"
                    process = await self.start(folder, api)
                    await asyncio.sleep(5.0)
                    did += "; restarted: nothing answered again" if len(api.sent) == len(users) + 1 else "; restarted: ANSWERED AGAIN"
                    await self.stop(process)
            finally:
                blocker.close()
            then = "released while running" if release else "stopped while locked, restart"
            fault = f"SQLite log locked by another program through a burst, {then}"
            return self.row(fault, did, api, folder, users)

    def questions_or_none(self, folder: Path) -> int | None:
        """`questions` while the log may not exist yet."""
        try:
            return self.questions(folder)
        except sqlite3.Error:
            return None

    async def late_answers(self) -> Row:
        async with self.api() as api:
            folder, users = self.folder(), range(500_000, 500_050)
            process = await self.start(folder, api)
            api.push(Factory(start=1).message("what is git?", user_id=users.start - 1))
            await self.until(lambda: bool(api.sent), 60)
            api.inject("sendMessage", *[Fault.late(2.5)] * 10)  # TELEGRAM_TIMEOUT is 2 s
            self.burst(api, users)
            await self.until(lambda: len(api.sent_per_chat()) >= len(users) + 1, 120)
            await asyncio.sleep(3.0)
            await self.stop(process)
            did = "retried: sent twice (the documented choice)"
            return self.row("10 sendMessage answers later than the timeout", did, api, folder, users)


async def main(updates: int, only: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="faqbot-faults-") as tmp:
        bench = Bench(Path(tmp), updates)
        runs: list[Callable[[], Awaitable[Row]]] = [
            bench.kill_9,
            bench.sigterm,
            bench.poison,
            lambda: bench.storm('getUpdates HTTP 200 {"ok": false} for 10 s', "getUpdates", Fault.not_ok()),
            lambda: bench.storm("getUpdates 502 for 10 s", "getUpdates", Fault.status_code(502)),
            lambda: bench.storm("sendMessage 429 (retry_after 1) for 10 s", "sendMessage", Fault.status_code(429, retry_after=1)),
            lambda: bench.storm("sendMessage 500 for 10 s", "sendMessage", Fault.status_code(500)),
            bench.late_answers,
            *([lambda: bench.disk_full(free=True)] if CAN_LIFT else []),
            lambda: bench.disk_full(free=False),
            lambda: bench.locked(release=True),
            lambda: bench.locked(release=False),
        ]
        if only:
            runs = [runs[i] for i in only]
        rows: list[Row] = []
        for run in runs:
            started = time.monotonic()
            rows.append(await run())
            print(f"  ({rows[-1].fault}: {time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    print("| fault | what the bot did | never answered | apology instead | answered twice | log rows lost | log rows doubled |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.fault} | {r.did} | {r.never} | {r.apologised} | {r.twice} | {r.rows_lost} | {r.rows_doubled} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3000, help="updates (distinct users) in the kill -9, SIGTERM and disk-full bursts")
    parser.add_argument("--only", type=int, nargs="*", default=[], help="run only these rows (0-based, in the table's order)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.updates, arguments.only))
