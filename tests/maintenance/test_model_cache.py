"""The quantised copy of the packaged model: built once, kept, rebuilt when damaged, and faithful to the original."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.engine.semantic import MiniLM, SemanticModelError, packaged_model
from bot.maintenance import model_cache
from tests.helpers import PROJECT, VECTOR_CACHE

SENTENCES = [
    "how much does a junior backend developer earn?",
    "what is the salary of a backend engineer",
    "which programming language should I learn first?",
    "what car do you drive",
]


@pytest.fixture(scope="module")
def built() -> Path:
    model = model_cache.quantized_model(VECTOR_CACHE)
    assert isinstance(model, Path)
    return model


def test_the_copy_is_quantised_and_fused(built: Path) -> None:
    import onnx

    operators = {node.op_type for node in onnx.load(str(built)).graph.node}
    assert "MatMulInteger" in operators  # int8 weights, multiplied as int8
    assert "BiasGelu" in operators  # onnxruntime's BERT fusions
    assert "SkipLayerNormalization" not in operators  # slower than the addition and layer norm it would replace
    assert "MultiHeadAttention" in operators  # attention fused
    assert "Softmax" not in operators


def test_the_copy_is_kept_and_reused(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: Path, target: Path) -> None:
        raise AssertionError("a kept copy must not be built again")

    monkeypatch.setattr(model_cache, "_build", refuse)
    assert model_cache.quantized_model(VECTOR_CACHE) == built


def test_the_copy_means_what_the_packaged_model_means(built: Path) -> None:
    original = MiniLM().embed(SENTENCES)
    copy = MiniLM(built, model_cache.model_id()).embed(SENTENCES)
    assert np.all((original * copy).sum(axis=1) > 0.97)
    similarities = copy @ copy.T
    assert similarities[0, 1] > max(similarities[0, 2], similarities[0, 3])


def _twin(path: Path, unsigned: bool) -> bytes | None:
    """The model at `path` with its int8 multiplications' weights shifted into uint8 (`unsigned`) or back into int8;
    None if it has none of that kind."""
    import onnx

    model = onnx.load(str(path))
    if not model_cache.shift_weights(model, unsigned):
        return None
    serialized: bytes = model.SerializeToString()
    return serialized


def test_the_copy_gives_the_same_vectors_on_every_cpu(built: Path) -> None:
    # Without VNNI, onnxruntime's fast u8 x s8 products saturate unless the session asks for exact ones: the
    # vectors then differed from a VNNI machine's by up to 0.04, enough to change replies and validation. The twin
    # of the other signedness is what a copy built on the other kind of CPU holds.
    twin = _twin(built, unsigned=True) or _twin(built, unsigned=False)
    assert twin is not None
    texts = [*SENTENCES, *model_cache.PROBE, "Howdy!", "Ok, thank you for that.", "thx", "is ruby dying"]
    copy = MiniLM(built, model_cache.model_id()).embed(texts)
    assert np.abs(copy - MiniLM(twin, "twin").embed(texts)).max() < 1e-5


def test_the_copy_keeps_uint8_weights_exactly_where_int8_products_saturate(built: Path) -> None:
    shifted_back = _twin(built, unsigned=False)
    built_unsigned = shifted_back is not None  # the copy was built with uint8 weights
    signed = shifted_back or built.read_bytes()
    texts = [*SENTENCES, "Howdy!", "Ok, thank you for that."]  # not the texts the build probed with
    plain = MiniLM(signed, "int8, plain products", exact=False).embed(texts)
    saturates = np.abs(plain - MiniLM(signed, "int8, exact products").embed(texts)).max() > 1e-5
    assert built_unsigned == saturates


def test_a_new_copy_keeps_one_older_copy_and_removes_the_rest(built: Path, tmp_path: Path) -> None:
    older, oldest = (tmp_path / f"model-{model_cache.MODEL_ID}-{n:016d}.onnx" for n in (1, 2))
    oldest.write_bytes(b"a copy of two versions ago")
    os.utime(oldest, (1_000_000, 1_000_000))
    older.write_bytes(b"the previous version's copy")
    assert model_cache.quantized_model(tmp_path) == tmp_path / built.name
    assert older.exists()
    assert not oldest.exists()


def test_without_a_writable_folder_the_copy_is_built_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    model = model_cache.quantized_model(blocked / "cache")
    assert isinstance(model, bytes)
    assert MiniLM(model, model_cache.model_id()).embed(["hello"]).shape == (1, 384)


def test_a_damaged_copy_is_built_again(built: Path, tmp_path: Path) -> None:
    (tmp_path / built.name).write_bytes(b"half a model")
    model = model_cache.load_model(tmp_path)
    assert model.embed(["hello"]).shape == (1, 384)
    assert (tmp_path / built.name).stat().st_size == built.stat().st_size


def test_a_missing_packaged_model_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_cache, "packaged_model", lambda: tmp_path / "gone" / "model.onnx")
    with pytest.raises(SemanticModelError, match="gone"):
        model_cache.quantized_model(tmp_path)


def test_the_copy_is_built_in_a_process_of_its_own(tmp_path: Path) -> None:
    # The optimiser and the quantiser would leave the bot's own process holding their memory.
    probe = (
        "import sys; from pathlib import Path; from bot.maintenance.model_cache import load_model;"
        f" load_model(Path({str(tmp_path)!r})).embed(['hello']);"
        " print('onnxruntime.quantization' in sys.modules, 'onnx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert done.stdout.split() == ["False", "False"]
    assert list(tmp_path.glob(f"model-{model_cache.MODEL_ID}-*.onnx"))


def test_a_copy_that_cannot_be_written_is_an_os_error(tmp_path: Path) -> None:
    # quantized_model then builds it in a temporary folder instead.
    with pytest.raises(OSError, match="No such file"):
        model_cache._build(packaged_model(), tmp_path / "missing-folder" / "model.onnx")
