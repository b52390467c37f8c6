"""Giving freed memory back to the operating system after the bot's big one-off allocations.

Building an engine (start-up, every reload) allocates and frees tens of megabytes of small
objects; glibc's allocator keeps the freed pages, so the resident size stays at the peak.
`malloc_trim(0)` returns them (6-7 MB after start-up, measured by `python -m benchmarks.memory_users`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Collect garbage and return the allocator's free pages to the system. True if the C library could."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
