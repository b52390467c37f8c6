"""A full disk for a child process, without root or a mount: a file-size limit (RLIMIT_FSIZE, POSIX).

A process started with `preexec_fn=limit_file_size(n)` cannot make any file larger than `n`
bytes: a write beyond fails with EFBIG ("File too large"; CPython ignores SIGXFSZ, so the
process is not killed), which SQLite reports as "disk I/O error" (a real full disk, ENOSPC,
gives "database or disk is full"; the conversation log treats both alike). The limit applies to
every file the process writes (database, heartbeat, embedding cache), not to pipes, so its
output is read through a pipe (`copy_output`). Only the soft limit is set: the parent, as
the same user, can lift it while the process runs (`lift_file_size_limit`, Linux only).
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from bot.engine.core import build
from bot.engine.semantic import Vectors
from bot.maintenance.storage import DATABASE_FILE, Store
from bot.maintenance.vector_cache import load_vectors, save_vectors
from tests.helpers import FIXTURE_KB, VECTOR_CACHE

CAN_LIFT = hasattr(resource, "prlimit")
"""Whether a running process's limit can be lifted from outside (Linux)."""
ROOM = 64 * 1024
"""Bytes `full_disk_limit` allows beyond a fresh database: a few dozen rows (WAL frames of 4 KiB pages) fit."""


def limit_file_size(limit: int) -> Callable[[], None]:
    """A `preexec_fn`: the child cannot grow a file beyond `limit` bytes (soft limit; the hard one is unlimited)."""

    def limit_it() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return limit_it


def lift_file_size_limit(pid: int) -> None:
    """Lift the file-size limit of the running process `pid`: the disk "frees up" (Linux only: `CAN_LIFT`)."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def ready_cache(vectors: Vectors | None = None) -> None:
    """Put the quantised model and the fixture knowledge base's vectors in the tests' cache (VECTOR_CACHE), so that a
    bot started on it has nothing to write there (under a file-size limit it could not). `vectors`: a model to reuse."""
    vectors = vectors or load_vectors(VECTOR_CACHE)
    build(FIXTURE_KB, vectors)
    save_vectors(vectors, VECTOR_CACHE)


async def full_disk_limit() -> int:
    """A file-size limit under which a bot can create and migrate its conversation log, which then fills up after a
    few dozen rows: the size of a fresh database (`fresh_database_bytes`, measured, not assumed) plus `ROOM`."""
    return await fresh_database_bytes() + ROOM


async def fresh_database_bytes() -> int:
    """The largest file of a conversation log just created and migrated, before any row (its write-ahead log)."""
    with tempfile.TemporaryDirectory(prefix="faqbot-fresh-db-") as folder:
        async with Store(Path(folder) / DATABASE_FILE, "salt"):
            return largest_file(Path(folder))


def largest_file(folder: Path) -> int:
    """The size in bytes of the largest file in `folder`."""
    return max(path.stat().st_size for path in folder.iterdir())


async def copy_output(stream: asyncio.StreamReader, sink: BinaryIO) -> None:
    """Copy a child's output pipe into `sink` (flushed as it comes, so it can be read meanwhile) until it closes."""
    while chunk := await stream.read(65536):
        sink.write(chunk)
        sink.flush()
