"""release_free_memory and fix_allocator_thresholds: the allocator's free pages go back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from bot.maintenance.memory import release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_freed_pages_below_a_live_allocation_are_returned() -> None:
    blocks = [bytearray(4096) for _ in range(10_000)]  # 40 MB from malloc (too big for Python's small-object pools)
    sentinel = bytearray(4096)  # allocated after them: the freed blocks cannot simply shrink the heap's top
    for block in blocks:
        block[0] = 1
    del blocks
    before = _rss_mb()
    assert release_free_memory()
    assert _rss_mb() < before - 20
    assert sentinel[0] == 0


_AFTER_A_BIG_FREE = """
import sys
from bot.maintenance.memory import fix_allocator_thresholds
def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
if sys.argv[1] == "fixed" and not fix_allocator_thresholds():
    raise SystemExit("mallopt failed")
big = bytearray(8 << 20)
del big  # glibc would now keep blocks of up to 8 MB on its heap
blocks = [bytearray(1 << 20) for _ in range(40)]
sentinel = bytearray(64)  # after them: the heap's top cannot simply shrink
for block in blocks:
    block[0] = 1
before = rss()
del blocks
print(before - rss())
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_with_fixed_thresholds_freed_blocks_go_back_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", _AFTER_A_BIG_FREE, "fixed"], capture_output=True, text=True, check=True)
    assert float(done.stdout) > 30  # without the fix: about 0 (the blocks stay on the heap for reuse)
