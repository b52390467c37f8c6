"""The semantic signal: the real model's vectors, the memory of `Vectors`, and the per-intent index."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from bot.engine.models import OUT_OF_SCOPE
from bot.engine.semantic import QUESTION_CACHE, Matrix, MiniLM, SemanticIndex, Vectors


class CountingEmbedder:
    """A stand-in model: a deterministic unit vector per text, and a count of the texts it was given."""

    model_id = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.seen.extend(texts)
        return _unit_vectors(texts)

    def fits(self, text: str) -> bool:
        return len(text.split()) <= self.input_words

    input_words = 0
    """Texts up to this many words are read whole (0: every text is cut, as a long message is)."""


def _unit_vectors(texts: Sequence[str]) -> Matrix:
    """A deterministic unit vector per text."""
    rows = []
    for text in texts:
        rng = np.random.default_rng(abs(hash(text)) % 2**32)
        row = rng.normal(size=384).astype(np.float32)
        rows.append(row / np.linalg.norm(row))
    return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


class SlowEmbedder(CountingEmbedder):
    """A stand-in model that takes 50 ms a call."""

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.seen.extend(texts)  # when the call starts
        time.sleep(0.05)
        return _unit_vectors(texts)


def test_the_model_places_paraphrases_closer_than_unrelated_sentences(vectors: Vectors) -> None:
    question, paraphrase, unrelated = vectors.embedder.embed(
        ["How much money does a backend developer make?", "What is the salary of a back-end programmer?", "How do I bake sourdough bread?"]
    )
    assert float(question @ paraphrase) > float(question @ unrelated) + 0.3
    assert np.allclose(np.linalg.norm([question, paraphrase, unrelated], axis=1), 1.0, atol=1e-4)


def test_the_model_gives_the_same_vector_alone_or_in_a_batch(vectors: Vectors) -> None:
    alone = vectors.embedder.embed(["Which languages do backend developers use?"])[0]
    batched = vectors.embedder.embed(
        ["hi", "Which languages do backend developers use?", "a much longer sentence about databases and servers"]
    )[1]
    assert float(alone @ batched) > 0.999


def test_example_texts_are_embedded_once() -> None:
    model = CountingEmbedder()
    vectors = Vectors(model)
    first = vectors.examples(["a", "b", "a"])
    again = vectors.examples(["b", "c"])
    assert model.seen == ["a", "b", "c"]
    assert np.array_equal(first[1], again[0])
    assert vectors.question("a") is not None
    assert model.seen == ["a", "b", "c"]  # a question equal to an example reuses its vector


def test_an_index_holds_the_only_copy_of_its_vectors_and_a_later_index_frees_it() -> None:
    model = CountingEmbedder()
    vectors = Vectors(model, known={"old": _unit_vectors(["old"])[0]})
    first = vectors.index(["a", "b", "old"])
    known = vectors.known()
    assert all(np.shares_memory(known[text], first) for text in ("a", "b", "old"))
    second = vectors.index(["b", "c"])  # a reload: "a" and "old" are no longer in the knowledge base
    known = vectors.known()
    assert not any(np.shares_memory(vector, first) for vector in known.values())
    assert np.shares_memory(known["b"], second)
    assert np.array_equal(known["a"], _unit_vectors(["a"])[0])
    assert np.array_equal(first, _unit_vectors(["a", "b", "old"]))  # the values never change
    assert model.seen == ["a", "b", "c"]
    plain = vectors.examples(["b"])
    assert not np.shares_memory(vectors.known()["b"], plain)


def test_questions_are_remembered_in_a_bounded_cache() -> None:
    model = CountingEmbedder()
    vectors = Vectors(model)
    vectors.question("what do they earn")
    vectors.question("what do they earn")
    assert model.seen == ["what do they earn"]
    for n in range(QUESTION_CACHE + 10):
        vectors.question(f"question {n}")
    vectors.question("what do they earn")
    assert model.seen.count("what do they earn") == 2  # evicted, so embedded again


def test_the_parts_of_a_message_are_embedded_once_each_ahead_of_time() -> None:
    model = CountingEmbedder()
    vectors = Vectors(model)
    vectors.examples(["an example"])
    vectors.prepare(["what is git", "an example", "which database", "what is git"])
    assert sorted(model.seen) == ["an example", "what is git", "which database"]  # the example was known already
    vectors.question("what is git")
    vectors.question("which database")
    assert sorted(model.seen) == ["an example", "what is git", "which database"]


def test_the_longest_parts_of_a_message_go_to_the_model_first() -> None:
    # Two threads: the last text starts only once one of the first two is done (each takes 50 ms), so it is seen last.
    model = SlowEmbedder()
    Vectors(model).prepare(["hi", "what does a backend developer do all day at work", "is it hard"])
    assert model.seen[-1] == "hi"
    assert set(model.seen[:2]) == {"what does a backend developer do all day at work", "is it hard"}


def test_parts_embedded_side_by_side_get_the_vectors_they_get_alone(vectors: Vectors) -> None:
    parts = ["I am a teacher", "how long does it take to learn backend development?", "is it too late at 40?"]
    alone = np.stack([vectors.embedder.embed([part])[0] for part in parts])
    side_by_side = Vectors(vectors.embedder)
    side_by_side.prepare(parts)
    assert np.allclose(np.stack([side_by_side.question(part) for part in parts]), alone, atol=1e-6)


def test_a_message_made_of_parts_is_placed_between_them_without_running_the_model_again() -> None:
    model = CountingEmbedder()
    vectors = Vectors(model)
    short, long = "what is git", "and which database should a beginner learn first"
    vectors.compose(f"{short} {long}", [short, long])
    whole = vectors.question(f"{short} {long}")
    assert model.seen == [short, long]
    assert np.linalg.norm(whole) == pytest.approx(1.0, abs=1e-5)
    to_short, to_long = float(whole @ vectors.question(short)), float(whole @ vectors.question(long))
    assert to_long > to_short > 0.0  # the longer part weighs more


def test_a_message_the_model_reads_whole_is_left_to_the_model() -> None:
    model = CountingEmbedder()
    model.input_words = 64
    vectors = Vectors(model)
    short, long = "what is git", "and which database should a beginner learn first"
    vectors.compose(f"{short} {long}", [short, long])
    vectors.question(f"{short} {long}")
    assert model.seen == [f"{short} {long}"]  # the model's own vector, not a mean of the parts' vectors


@pytest.mark.parametrize(("input_words", "whole_embedded"), [(64, True), (3, False)])
def test_a_message_is_embedded_beside_its_parts_only_when_the_model_reads_it_whole(input_words: int, whole_embedded: bool) -> None:
    model = CountingEmbedder()
    model.input_words = input_words
    short, long = "what is git", "and which database should a beginner learn first"
    Vectors(model).prepare([short, long], f"{short} {long}")
    assert (f"{short} {long}" in model.seen) is whole_embedded
    assert {short, long} <= set(model.seen)


@pytest.mark.parametrize(("input_words", "context_embedded"), [(64, False), (3, True)])
def test_context_parts_are_embedded_only_when_the_message_vector_is_made_from_its_parts(input_words: int, context_embedded: bool) -> None:
    model = CountingEmbedder()
    model.input_words = input_words
    story, question, other = "I am a teacher", "how long does it take to learn backend", "is it too late at 40"
    Vectors(model).prepare([question, other], f"{story} {question} {other}", [story])
    assert (story in model.seen) is context_embedded
    assert {question, other} <= set(model.seen)


def test_the_packaged_model_says_which_texts_it_reads_whole(vectors: Vectors) -> None:
    assert vectors.embedder.fits("how much does a backend developer earn?")
    assert not vectors.embedder.fits("how much does a backend developer earn? " * 20)


def test_a_very_long_question_is_cut_before_it_is_embedded() -> None:
    model = CountingEmbedder()
    Vectors(model).question("x" * 100_000)
    assert len(model.seen[0]) <= 512


def test_index_scores_each_intent_by_its_closest_example() -> None:
    model = CountingEmbedder()
    index = SemanticIndex([("salary", "pay"), ("salary", "wage"), ("git", "version control"), (OUT_OF_SCOPE, "bread")], Vectors(model))
    scores = dict(zip(index.names, index.best("wage"), strict=True))
    assert scores["salary"] == pytest.approx(1.0, abs=1e-5)
    assert scores["git"] < 0.5
    assert scores[OUT_OF_SCOPE] < 0.5
    left_out = dict(zip(index.names, index.best("wage", leave_out="wage"), strict=True))
    assert left_out["salary"] < 0.5


def test_leaving_out_a_text_leaves_out_every_intent_that_lists_it() -> None:
    model = CountingEmbedder()
    index = SemanticIndex([("salary", "wage"), ("salary", "pay"), ("underpaid", "wage"), ("git", "version control")], Vectors(model))
    left_out = dict(zip(index.names, index.best("wage", leave_out="wage"), strict=True))
    assert left_out["underpaid"] < 0.5
    assert left_out["salary"] < 0.5
    assert dict(zip(index.names, index.best("wage"), strict=True))["underpaid"] == pytest.approx(1.0, abs=1e-5)


def test_many_questions_at_once_score_as_each_one_alone() -> None:
    phrasings = [("salary", "wage"), ("salary", "pay"), ("underpaid", "wage"), ("git", "version control")]
    index = SemanticIndex(phrasings, Vectors(CountingEmbedder()))
    asked = [("wage", "wage"), ("pay", None), ("version control", "version control"), ("a question of a user", "pay")]
    together = index.best_many(asked)
    alone = np.stack([index.best(question, leave_out) for question, leave_out in asked])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert index.best_many([]).shape == (0, len(index.names))


def test_real_model_loads_from_the_installed_packages() -> None:
    model = MiniLM()
    assert model.embed(["hello"]).shape == (1, 384)
