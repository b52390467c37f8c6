"""BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained with, in plain Python.

It reproduces what Hugging Face's `tokenizers` does with the model's `tokenizer.json` (BertNormalizer with
lowercasing and accent stripping, BertPreTokenizer, WordPiece, "[CLS] ... [SEP]", truncation to a maximum
length); `tests/engine/test_wordpiece.py` compares the two token by token. The one known difference: the
reference's character tables predate Unicode 10, so about 500 characters added since (rare marks and
punctuation of a few scripts) are read as Python's Unicode database says.

Written here rather than imported: `tokenizers` needs `huggingface_hub` (a model hub client, with `hf-xet`,
`fsspec`, `click` and `tqdm`), and it and what it pulls in held about 15 MB of the running bot's memory
(issue 11), for a lookup in a vocabulary of 30,522 words (`data/vocab.txt`: bert-base-uncased's, Apache-2.0).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from pathlib import Path

VOCABULARY = Path(__file__).resolve().parent / "data" / "vocab.txt"
"""The model's WordPiece vocabulary (bert-base-uncased's), shipped in this package."""

_CJK = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # fmt: skip
"""The CJK ideograph blocks BERT puts spaces around (each ideograph is a word of its own); 0x2B920, not
0x2B820, as in the reference tokenizer."""
_CONTROL = frozenset({"Cc", "Cf", "Co", "Cs"})
"""Categories dropped by the normaliser (not Cn: an unassigned character stays, and makes its word unknown)."""
_ASCII_CLEAN = {**{c: None for c in range(32) if chr(c) not in "\t\n\r"}, 127: None, **{ord(c): " " for c in "\t\n\r"}}
_ASCII_WORDS = re.compile(r"[0-9a-z]+|[^ 0-9a-z]")
"""A normalised ASCII text's words: runs of letters and digits, and every other character but the space alone (all
of them are punctuation to BERT)."""


def _is_cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in _CJK)


def _is_punctuation(ch: str) -> bool:
    return (ch.isascii() and not ch.isalnum() and not ch.isspace() and ch.isprintable()) or unicodedata.category(ch).startswith("P")


def _normalize(text: str) -> str:
    """BertNormalizer: controls dropped, spaces made " ", ideographs spaced, accents stripped, then lowercased."""
    if text.isascii():
        return text.translate(_ASCII_CLEAN).lower()
    chars: list[str] = []
    for ch in text:
        code = ord(ch)
        if code in (0, 0xFFFD) or (ch not in "\t\n\r" and unicodedata.category(ch) in _CONTROL):
            continue
        if ch.isspace():
            chars.append(" ")
        elif _is_cjk(code):
            chars.append(f" {ch} ")
        else:
            chars.append(ch)
    decomposed = unicodedata.normalize("NFD", "".join(chars))
    # Character by character: str.lower() would turn a word's last sigma into a final sigma, which BERT does not.
    return "".join(ch.lower() for ch in decomposed if unicodedata.category(ch) != "Mn")


def _words(normalized: str) -> list[str]:
    """BertPreTokenizer: split on white space (dropped) and on punctuation (each mark a word of its own)."""
    if normalized.isascii():
        return _ASCII_WORDS.findall(normalized)
    words: list[str] = []
    for chunk in normalized.split():
        start = 0
        for i, ch in enumerate(chunk):
            if _is_punctuation(ch):
                if start < i:
                    words.append(chunk[start:i])
                words.append(ch)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPiece:
    """Text to token ids: `[CLS]`, at most `max_tokens - 2` word pieces, `[SEP]`.

    `vocabulary` maps each token to its id and holds the special tokens below; a text that contains one of them
    literally ("[SEP]") gets that token, as the reference tokenizer does.
    """

    SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    MAX_WORD_CHARS = 100
    """A longer word is one unknown token without being split (the model's setting)."""

    def __init__(self, vocabulary: Mapping[str, int], max_tokens: int) -> None:
        missing = [token for token in self.SPECIAL if token not in vocabulary]
        if missing:
            raise ValueError(f"the vocabulary has no {', '.join(missing)}")
        self._vocabulary = vocabulary
        self._room = max_tokens - 2
        self._unknown = vocabulary["[UNK]"]
        self._first, self._last = vocabulary["[CLS]"], vocabulary["[SEP]"]
        self._specials = re.compile("(" + "|".join(re.escape(token) for token in self.SPECIAL) + ")")

    @classmethod
    def from_file(cls, path: Path, max_tokens: int) -> WordPiece:
        """Read a `vocab.txt`: one token a line, its id the line's number (from 0)."""
        return cls(_ids(path), max_tokens)

    def encode(self, text: str) -> list[int]:
        """The token ids of `text`, special tokens included, truncated to `max_tokens`."""
        ids = [self._first]
        for i, chunk in enumerate(self._specials.split(text)):
            if len(ids) > self._room:
                break
            if i % 2:
                ids.append(self._vocabulary[chunk])
                continue
            for word in _words(_normalize(chunk)):
                self._pieces(word, ids)
                if len(ids) > self._room:
                    break
        return [*ids[: self._room + 1], self._last]

    def _pieces(self, word: str, ids: list[int]) -> None:
        """Append the word's longest-match-first pieces ("##" marks a piece inside a word), or `[UNK]`."""
        if len(word) > self.MAX_WORD_CHARS:
            ids.append(self._unknown)
            return
        found = self._vocabulary.get(word)
        if found is not None:
            ids.append(found)
            return
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = self._vocabulary.get(word[start:end] if start == 0 else "##" + word[start:end])
                if piece is not None:
                    pieces.append(piece)
                    break
                end -= 1
            else:
                ids.append(self._unknown)
                return
            start = end
        ids.extend(pieces)


def whole_words(path: Path = VOCABULARY) -> AbstractSet[str]:
    """The vocabulary's tokens, as a set shared with the tokenizer (no copy of its 30,000 strings): the whole words
    of letters among them are about 22,000 common English words, and no normalised word is a "##" piece or a
    special token."""
    return _ids(path).keys()


@cache
def _ids(path: Path) -> Mapping[str, int]:
    """A `vocab.txt`'s token -> id (its line number from 0), read once for the tokenizer and `whole_words`
    (read apart, they held a second copy of the strings and a set of the words, about 3 MB)."""
    return {token: i for i, token in enumerate(path.read_text(encoding="utf-8").splitlines())}
