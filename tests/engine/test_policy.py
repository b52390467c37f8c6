"""The decision policy: one function from a match to a decision with its reason (tables of synthetic matches)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.engine.config import Tuning
from bot.engine.knowledge import KnowledgeBase
from bot.engine.models import Candidate, Match, Parts, Reason
from bot.engine.policy import decide, value_beside

TUNING = replace(Tuning(), threshold=0.5, suggest=0.3, smalltalk_threshold=0.5, margin=0.0, sure=0.8, off_topic_margin=0.0)


def match(*scores: tuple[str, float], oos: float = 0.0, entities: dict[str, str] | None = None) -> Match:
    return Match(tuple(Candidate(i, s) for i, s in scores), entities or {}, oos)


@pytest.mark.parametrize(
    ("scores", "oos", "reason", "intent"),
    [
        ((), 0.0, Reason.OFF_TOPIC, None),
        ((("salary", 0.9),), 0.0, Reason.ANSWERED, "salary"),
        ((("salary", 0.9),), 0.95, Reason.OFF_TOPIC, None),
        ((("salary", 0.45), ("salary_factors", 0.35)), 0.0, Reason.UNSURE, None),
        ((("salary", 0.2),), 0.0, Reason.OFF_TOPIC, None),
        ((("greeting", 0.7),), 0.0, Reason.SMALLTALK, "greeting"),
    ],
)
def test_decisions(
    fixture_kb: KnowledgeBase, scores: tuple[tuple[str, float], ...], oos: float, reason: Reason, intent: str | None
) -> None:
    decision = decide(match(*scores, oos=oos), fixture_kb, TUNING, in_conversation=False)
    assert decision.reason is reason
    assert decision.intent == intent


def test_unsure_offers_only_answer_topics_above_the_suggestion_bar(fixture_kb: KnowledgeBase) -> None:
    decision = decide(match(("salary", 0.45), ("greeting", 0.44), ("git", 0.31), ("sql", 0.1)), fixture_kb, TUNING, False)
    assert decision.reason is Reason.UNSURE
    assert decision.options == ("salary", "git")


def test_unsure_offers_a_topic_the_sources_do_not_cover(fixture_kb: KnowledgeBase) -> None:
    # "how long will it take?": the closest topic is one the article is silent on; its button says so.
    decision = decide(match(("maths", 0.45), ("salary", 0.31)), fixture_kb, TUNING, False)
    assert decision.reason is Reason.UNSURE
    assert decision.options == ("maths", "salary")


def test_small_talk_needs_its_own_bar(fixture_kb: KnowledgeBase) -> None:
    strict = replace(TUNING, smalltalk_threshold=0.8)
    assert decide(match(("greeting", 0.7)), fixture_kb, strict, False).reason is Reason.OFF_TOPIC
    assert decide(match(("greeting", 0.7)), fixture_kb, strict, True).reason is Reason.OFF_TOPIC  # a conversation does not lower it


def test_a_close_runner_up_asks_which_one_unless_sure(fixture_kb: KnowledgeBase) -> None:
    ambiguous = replace(TUNING, margin=0.05)
    decision = decide(match(("salary", 0.6), ("salary_factors", 0.58)), fixture_kb, ambiguous, False)
    assert decision.reason is Reason.CLARIFY
    assert decision.options == ("salary", "salary_factors")
    assert decide(match(("salary", 0.9), ("salary_factors", 0.88)), fixture_kb, ambiguous, False).reason is Reason.ANSWERED


def test_a_value_the_topic_has_no_answer_for(fixture_kb: KnowledgeBase) -> None:
    values = fixture_kb.entities["language"]
    missing = next(v for v in values if v not in fixture_kb.intents["frameworks"].variants)
    decision = decide(match(("frameworks", 0.9), entities={"language": missing}), fixture_kb, TUNING, False)
    assert decision.reason is Reason.VALUE_NOT_COVERED
    covered = next(iter(fixture_kb.intents["frameworks"].variants))
    assert decide(match(("frameworks", 0.9), entities={"language": covered}), fixture_kb, TUNING, False).reason is Reason.ANSWERED


def test_a_value_the_sources_lack_beside_one_the_topic_answers(fixture_kb: KnowledgeBase) -> None:
    covered = next(iter(fixture_kb.intents["frameworks"].variants))
    both = replace(match(("frameworks", 0.9), entities={"language": covered}), lacking={"language": "rust"})
    assert decide(both, fixture_kb, TUNING, False).reason is Reason.ANSWERED
    assert value_beside(both, fixture_kb, "frameworks") == ("language", "rust")
    alone = replace(match(("frameworks", 0.9), entities={"language": "rust"}), lacking={"language": "rust"})
    assert value_beside(alone, fixture_kb, "frameworks") is None


def test_a_value_the_sources_lack_in_a_topic_about_that_entity(fixture_kb: KnowledgeBase) -> None:
    about_python = replace(fixture_kb.intents["salary"], about={"language": "python"})
    kb = replace(fixture_kb, intents={**fixture_kb.intents, "salary": about_python})
    lacking = replace(match(("salary", 0.9), entities={"language": "rust"}), lacking={"language": "rust"})
    decision = decide(lacking, kb, TUNING, False)
    assert decision.reason is Reason.VALUE_NOT_COVERED
    assert decision.lacking == ("language", "rust")
    # A topic whose answer is not about a language answers whatever language is named.
    assert decide(lacking, fixture_kb, TUNING, False).reason is Reason.ANSWERED


def test_continue_needs_a_conversation(fixture_kb: KnowledgeBase) -> None:
    assert decide(match(("more", 0.9)), fixture_kb, TUNING, True).reason is Reason.CONTINUED
    outside = decide(match(("more", 0.9)), fixture_kb, TUNING, False)
    assert outside.reason is Reason.UNSURE
    assert outside.options


def test_a_job_question_the_sources_do_not_cover(fixture_kb: KnowledgeBase) -> None:
    decision = decide(match(("maths", 0.8), ("salary", 0.5)), fixture_kb, TUNING, False)
    assert decision.reason is Reason.TOPIC_NOT_COVERED
    assert decision.intent == "maths"
    assert not decision.answers


def test_a_question_must_match_small_talk_as_well_as_an_answer(fixture_kb: KnowledgeBase) -> None:
    lenient = replace(TUNING, smalltalk_threshold=0.3)  # below the answer threshold (0.5), as shipped
    weak = match(("greeting", 0.45), ("salary", 0.35))
    assert decide(weak, fixture_kb, lenient, False).reason is Reason.SMALLTALK  # "hey there, all good"
    asked = decide(weak, fixture_kb, lenient, False, asks=True)  # a question that only resembles a greeting
    assert asked.reason is Reason.UNSURE
    assert asked.options == ("salary",)
    assert decide(match(("greeting", 0.7)), fixture_kb, lenient, False, asks=True).reason is Reason.SMALLTALK  # "how are you?"


def test_a_statement_no_topic_answers_is_small_talk_when_a_small_talk_intent_reaches_its_bar(fixture_kb: KnowledgeBase) -> None:
    # "Thank you so much, the roadmaps are really helpful": a topic's words score higher, but below the threshold.
    scores = (("salary", 0.45), ("greeting", 0.42))
    relaxed = replace(TUNING, smalltalk_threshold=0.4)
    assert decide(match(*scores), fixture_kb, relaxed, False, asks=False) == decide(match(("greeting", 0.42)), fixture_kb, relaxed, False)
    assert decide(match(*scores), fixture_kb, relaxed, False, asks=True).reason is Reason.UNSURE  # a question is not small talk
    assert decide(match(*scores), fixture_kb, TUNING, False, asks=False).reason is Reason.UNSURE  # under its own bar it is not either
    assert decide(match(("salary", 0.9), ("greeting", 0.42)), fixture_kb, relaxed, False).reason is Reason.ANSWERED


def test_a_statement_whose_words_say_small_talk_is_small_talk_above_a_topic(fixture_kb: KnowledgeBase) -> None:
    # "thanks, the salary info was useful": the thanks shares the words, the topic only leans on meaning.
    relaxed = replace(TUNING, smalltalk_threshold=0.4)
    worded = (Candidate("salary", 0.6, Parts(lexical=0.3, semantic=0.7)), Candidate("greeting", 0.42, Parts(lexical=0.6, semantic=0.3)))
    said = decide(Match(worded, {}, 0.0), fixture_kb, relaxed, False, asks=False)
    assert (said.reason, said.intent) == (Reason.SMALLTALK, "greeting")
    assert decide(Match(worded, {}, 0.0), fixture_kb, relaxed, False, asks=True).reason is Reason.ANSWERED  # a question
    assert decide(Match(worded, {}, 0.0), fixture_kb, TUNING, False).reason is Reason.ANSWERED  # under its own bar
    meant = (worded[0], Candidate("greeting", 0.42, Parts(lexical=0.2, semantic=0.5)))  # the topic's words lead
    assert decide(Match(meant, {}, 0.0), fixture_kb, relaxed, False).reason is Reason.ANSWERED
    silent = (Candidate("maths", 0.6, Parts(lexical=0.3, semantic=0.7)), worded[1])  # a topic the sources do not cover
    assert decide(Match(silent, {}, 0.0), fixture_kb, relaxed, False).reason is Reason.SMALLTALK
