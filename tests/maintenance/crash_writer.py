"""Run by test_crash_safety: write questions to a Store forever, printing how many are known to be on disk.

Usage: python crash_writer.py DB_PATH FIRST_USER_ID
Every line printed is a count of rows confirmed written (after `Store.flush()`); the
test kills this process with SIGKILL at some moment and checks the database.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.maintenance.events import QuestionEvent
from bot.maintenance.storage import Store

PADDING = "lorem ipsum dolor sit amet " * 40


async def main(path: Path, first_user: int) -> None:
    store = Store(path, "crash-salt", flush_interval=0.05, batch_size=300)
    await store.open()
    written = 0
    while True:
        for _ in range(300):
            written += 1
            await store.question(
                QuestionEvent(
                    at=time.time(),
                    user_id=first_user + written,
                    chat_type="private",
                    text=f"question {written} {PADDING}",
                    normalised=f"question {written}",
                    intent="salary",
                    score=0.8,
                    fallback=False,
                    suggestions=("salary", "career_path"),
                )
            )
        await store.flush()
        print(written, flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
