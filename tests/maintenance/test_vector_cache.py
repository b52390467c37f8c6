"""The embedding cache on disk: round trip, a broken file rebuilt, nothing written when there is nothing to write."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from bot.maintenance.vector_cache import STALE_TEMPORARY_S, cache_path, load_vectors, save_vectors
from tests.engine.test_semantic import CountingEmbedder


def test_round_trip_skips_the_model(tmp_path: Path) -> None:
    first = CountingEmbedder()
    vectors = load_vectors(tmp_path, first)
    original = vectors.examples(["alpha", "beta"])
    save_vectors(vectors, tmp_path)
    second = CountingEmbedder()
    reloaded = load_vectors(tmp_path, second)
    assert np.array_equal(reloaded.examples(["alpha", "beta"]), original)
    assert second.seen == []


def test_a_broken_cache_is_rebuilt(tmp_path: Path) -> None:
    cache_path(tmp_path, CountingEmbedder.model_id).write_bytes(b"not a numpy file")
    model = CountingEmbedder()
    vectors = load_vectors(tmp_path, model)
    vectors.examples(["alpha"])
    assert model.seen == ["alpha"]
    save_vectors(vectors, tmp_path)
    assert load_vectors(tmp_path, CountingEmbedder()).known().keys() == {"alpha"}


def test_an_unwritable_folder_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    vectors = load_vectors(None, CountingEmbedder())
    vectors.examples(["alpha"])
    save_vectors(vectors, blocker / "sub")  # a file where the folder should be: logged, not raised
    assert not (blocker / "sub").exists()


def test_a_write_that_fails_halfway_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = load_vectors(None, CountingEmbedder())
    vectors.examples(["alpha"])

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    save_vectors(vectors, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_left_by_a_killed_writer_are_removed_at_the_next_save(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "tmpold.npz", tmp_path / "tmpnew.npz"
    stale.write_bytes(b"half a cache")
    fresh.write_bytes(b"another process writing now")
    old = time.time() - 2 * STALE_TEMPORARY_S
    os.utime(stale, (old, old))
    vectors = load_vectors(tmp_path, CountingEmbedder())
    vectors.examples(["alpha"])
    save_vectors(vectors, tmp_path)
    assert not stale.exists()
    assert fresh.exists()
    assert cache_path(tmp_path, CountingEmbedder.model_id).exists()


def test_a_save_removes_the_files_of_older_models_but_the_newest(tmp_path: Path) -> None:
    older = [tmp_path / f"vectors-model-{n}.npz" for n in range(3)]
    for age, path in enumerate(older, start=1):
        path.write_bytes(b"vectors of an earlier model")
        then = time.time() - age * 3600
        os.utime(path, (then, then))
    unrelated = tmp_path / "model-something.onnx"
    unrelated.write_bytes(b"a model copy")
    vectors = load_vectors(tmp_path, CountingEmbedder())
    vectors.examples(["alpha"])
    save_vectors(vectors, tmp_path)
    assert cache_path(tmp_path, CountingEmbedder.model_id).exists()
    assert [p.exists() for p in older] == [True, False, False]  # the newest earlier one stays: another version may run
    assert unrelated.exists()
