"""The fake Bot API server of the end-to-end benchmark, run in its own process (so it does not share the bot's core).

Started by `benchmarks.e2e`: `python -m benchmarks.e2e_server`. It prints `{"port": N}` on
stdout, then reads commands on stdin, one per line, and answers each with one JSON line:

- `burst USERS PER_USER SEED TIMEOUT`: queue USERS*PER_USER text messages at once (each user's
  messages in order, users interleaved) and wait until each has been answered;
- `paced COUNT RATE SEED TIMEOUT`: queue COUNT messages from distinct users at RATE per second;
- `exit`.

An update's delivery time is when getUpdates hands it to the bot; its answer is the k-th
sendMessage to the chat for the k-th update of that chat (the bot answers a chat's messages
in order, one message per question). After the last expected answer the server waits
`GRACE` seconds more, so a late duplicate answer is counted too. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import defaultdict
from typing import Any

from benchmarks.common import percentile
from benchmarks.questions import QUESTIONS
from tests.telegram.factories import BOT_USER, TOKEN, Factory
from tests.telegram.fake_api import FakeBotAPI

JSON = dict[str, Any]
GRACE = 1.0
FIRST_USER = 5_000_000


class TimedFakeBotAPI(FakeBotAPI):
    """The tests' fake server, also noting when each update is delivered and when each chat gets a message."""

    def __init__(self) -> None:
        super().__init__(TOKEN, BOT_USER)
        self.delivered: dict[int, float] = {}
        self.deliveries = 0
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.reply_count = 0
        self.other_sends = 0

    async def _get_updates(self, params: JSON) -> list[JSON]:
        updates = await super()._get_updates(params)
        now = time.monotonic()
        for update in updates:
            self.deliveries += 1
            self.delivered.setdefault(update["update_id"], now)
        return updates

    def _m_sendMessage(self, params: JSON) -> Any:
        result = super()._m_sendMessage(params)
        if not isinstance(result, tuple):
            self.replies[int(params["chat_id"])].append(time.monotonic())
            self.reply_count += 1
        return result

    def reset(self) -> None:
        self.delivered.clear()
        self.deliveries = 0
        self.replies.clear()
        self.reply_count = 0


def workload(users: int, per_user: int, seed: int) -> list[tuple[int, str]]:
    """(user id, text) in the order they are sent: round by round, users shuffled, so each user's messages stay in order."""
    rng = random.Random(seed)
    texts = [text for _, text in QUESTIONS]
    ids = [FIRST_USER + i for i in range(users)]
    order: list[tuple[int, str]] = []
    for _ in range(per_user):
        rng.shuffle(ids)
        order.extend((user, rng.choice(texts)) for user in ids)
    return order


async def run_phase(api: TimedFakeBotAPI, messages: list[tuple[int, str]], rate: float | None, limit_s: float, factory: Factory) -> JSON:
    api.reset()
    cpu_before = time.process_time()
    expected: dict[int, list[int]] = defaultdict(list)
    started = time.monotonic()
    for position, (user, text) in enumerate(messages):
        if rate is not None:
            delay = started + position / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        update = api.push(factory.message(text, user_id=user))
        expected[user].append(update["update_id"])
    pushed = time.monotonic()
    total = len(messages)
    deadline = started + limit_s
    while api.reply_count < total and time.monotonic() < deadline:  # noqa: ASYNC110 - polled: answers are timestamped on arrival
        await asyncio.sleep(0.01)
    timed_out = api.reply_count < total
    finished = time.monotonic()
    await asyncio.sleep(GRACE)

    latencies: list[float] = []
    lost = duplicates = 0
    last_reply = started
    for user, update_ids in expected.items():
        replies = api.replies.get(user, [])
        lost += max(0, len(update_ids) - len(replies))
        duplicates += max(0, len(replies) - len(update_ids))
        for update_id, replied in zip(update_ids, replies, strict=False):
            delivered = api.delivered.get(update_id)
            if delivered is not None:
                latencies.append((replied - delivered) * 1000)
            last_reply = max(last_reply, replied)
    answered = sum(min(len(api.replies.get(u, [])), len(ids)) for u, ids in expected.items())
    elapsed = last_reply - started
    undelivered = sum(1 for ids in expected.values() for u in ids if u not in api.delivered)
    return {
        "updates": total,
        "users": len(expected),
        "answered": answered,
        "lost": lost,
        "answered_twice": duplicates,
        "delivered_twice": api.deliveries - len(api.delivered),
        "undelivered": undelivered,
        "timed_out": timed_out,
        "push_s": pushed - started,
        "wait_s": finished - started,
        "elapsed_s": elapsed,
        "updates_per_s": answered / elapsed if elapsed > 0 else 0.0,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "latency_max_ms": max(latencies) if latencies else float("nan"),
        "server_cpu_s": time.process_time() - cpu_before,
    }


async def main() -> None:
    api = TimedFakeBotAPI()
    await api.start()
    factory = Factory(start=1)
    print(json.dumps({"port": api.port}), flush=True)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "exit":
                break
            if words[0] == "burst":
                users, per_user, seed, timeout = int(words[1]), int(words[2]), int(words[3]), float(words[4])
                result = await run_phase(api, workload(users, per_user, seed), None, timeout, factory)
            elif words[0] == "paced":
                count, rate, seed, timeout = int(words[1]), float(words[2]), int(words[3]), float(words[4])
                result = await run_phase(api, workload(count, 1, seed), rate, timeout, factory)
            else:
                result = {"error": f"unknown command {words[0]!r}"}
            print(json.dumps(result), flush=True)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(api.stop(), 10)


if __name__ == "__main__":
    asyncio.run(main())
