"""release_free_memory: the allocator's free pages go back to the system."""

from __future__ import annotations

import platform

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
