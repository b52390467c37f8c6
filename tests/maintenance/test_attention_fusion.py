"""The attention rewrite: the same vectors from far fewer nodes, and a graph it does not know left alone."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from bot.engine.semantic import MAX_TOKENS, packaged_model, packaged_vocabulary
from bot.engine.wordpiece import WordPiece
from bot.maintenance.attention_fusion import HEADS, NotFusable, fuse_attention

SENTENCES = [
    "how much does a junior backend developer earn?",
    "which programming language should I learn first, and why do so many people start with python?",
    "hello",
]


def _pooled(model: onnx.ModelProto, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    unit: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return unit


@pytest.fixture(scope="module")
def models() -> tuple[onnx.ModelProto, onnx.ModelProto]:
    original = onnx.load(str(packaged_model()))
    fused = onnx.load(str(packaged_model()))
    assert fuse_attention(fused) == 6  # one block per layer of MiniLM-L6
    return original, fused


def _batch() -> tuple[np.ndarray, np.ndarray]:
    """The sentences as one padded batch: padding is where a wrongly wired mask would show."""
    encoded = [WordPiece.from_file(packaged_vocabulary(), MAX_TOKENS).encode(sentence) for sentence in SENTENCES]
    ids = np.zeros((len(encoded), max(map(len, encoded))), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, tokens in enumerate(encoded):
        ids[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
    return ids, mask


def test_the_fused_graph_gives_the_same_vectors_padded_or_not(models: tuple[onnx.ModelProto, onnx.ModelProto]) -> None:
    original, fused = models
    ids, mask = _batch()
    assert mask.min() == 0  # the batch really is padded
    before, after = _pooled(original, ids, mask), _pooled(fused, ids, mask)
    assert np.all((before * after).sum(axis=1) > 0.9999)
    for row, sentence_mask in enumerate(mask):
        alone = int(sentence_mask.sum())
        single = _pooled(fused, ids[row : row + 1, :alone], mask[row : row + 1, :alone])
        assert float(single[0] @ after[row]) > 0.9999


def test_the_blocks_become_one_node_each(models: tuple[onnx.ModelProto, onnx.ModelProto]) -> None:
    original, fused = models
    operators = [node.op_type for node in fused.graph.node]
    assert operators.count("MultiHeadAttention") == 6
    assert "Softmax" not in operators
    assert len(fused.graph.node) < len(original.graph.node) - 100
    assert all(helper.get_attribute_value(a) == HEADS for n in fused.graph.node if n.op_type == "MultiHeadAttention" for a in n.attribute)


def test_a_graph_of_another_shape_is_left_as_it_was() -> None:
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 4])
    probabilities = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Softmax", ["scores"], ["probabilities"])], "classifier", [scores], [probabilities])
    model = helper.make_model(graph)
    before = model.SerializeToString()
    with pytest.raises(NotFusable, match="query-key"):
        fuse_attention(model)
    assert model.SerializeToString() == before
