"""The embedding cache on disk: the vector of every example text, so start-up and reloads skip the model.

One `.npz` file per model (`<folder>/vectors-<model id>.npz`): the texts and their vectors. A save removes the
files of older models but one (`KEEP_FILES`).
A missing, unreadable or foreign file is simply rebuilt; a write goes to a temporary file
first and is renamed over the old one, so a crash never leaves half a cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.engine.config import Tuning
from bot.engine.core import Engine, build
from bot.engine.semantic import Embedder, Vectors
from bot.maintenance.model_cache import keep_newest, load_model

log = logging.getLogger(__name__)


def cache_path(folder: Path, model_id: str) -> Path:
    return folder / f"vectors-{model_id}.npz"


def load_vectors(folder: Path | None, embedder: Embedder | None = None) -> Vectors:
    """An embedder (by default the bot's model, `model_cache.load_model`) with the example vectors cached
    in `folder` (None: no cache)."""
    embedder = embedder or load_model(folder)
    known: dict[str, np.ndarray] = {}
    path = cache_path(folder, embedder.model_id) if folder is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                texts, matrix = data["texts"], data["vectors"]
                if matrix.ndim == 2 and len(texts) == len(matrix):
                    known = {str(text): row for text, row in zip(texts, matrix, strict=True)}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring the embedding cache %s (%s): it will be rebuilt", path, type(exc).__name__)
    return Vectors(embedder, known)


def save_vectors(vectors: Vectors, folder: Path | None) -> None:
    """Write the example vectors to `folder` (atomically); a failure is logged, never raised."""
    if folder is None:
        return
    known = vectors.known()
    if not known:
        return
    path = cache_path(folder, vectors.model_id)
    temporary: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        texts = list(known)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as handle:
            temporary = handle.name
            np.savez(handle, texts=np.array(texts, dtype=str), vectors=np.stack([known[t] for t in texts]))
        os.replace(temporary, path)
        keep_newest(folder, "vectors-*.npz", path, KEEP_FILES)
    except OSError as exc:
        log.warning("could not write the embedding cache %s: %s", path, exc)
        if temporary is not None:  # a full disk: leave no half-written file behind
            with contextlib.suppress(OSError):
                os.unlink(temporary)


STALE_TEMPORARY_S = 600
"""A temporary cache file this old was left by a process killed while writing (a write takes under a second)."""


KEEP_FILES = 2
"""Cache files kept in a folder, newest first: one per model id, so a file left by an earlier model (another
onnxruntime version or recipe) goes, while two versions of the bot sharing the folder keep theirs."""


def _remove_stale_temporaries(folder: Path) -> None:
    now = time.time()
    for stale in folder.glob("tmp*.npz"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_TEMPORARY_S:
                stale.unlink()


def cached_engine(root: Path, cache_dir: Path | None, tuning: Tuning, vectors: Vectors | None = None) -> Engine:
    """Build the engine of the knowledge base under `root` with the embedding cache of `cache_dir`,
    saving the cache when new texts had to be embedded. Raises KnowledgeBaseError, SemanticModelError."""
    vectors = vectors or load_vectors(cache_dir)
    before = vectors.computed
    engine = build(root, vectors, tuning)
    if vectors.computed != before:
        save_vectors(vectors, cache_dir)
    return engine
