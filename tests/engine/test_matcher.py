"""Question -> intent tables through the matcher alone (no dialogue context)."""

import numpy as np
import pytest

from bot.engine.core import Engine
from bot.engine.models import Parts
from bot.engine.policy import decide
from tests.helpers import retuned

IN_SCOPE = [
    ("what does a backend developer do", "definition"),
    ("backend or frontend, what's the difference", "backend_vs_frontend"),
    ("who runs the web server, the sysadmin?", "server_management"),
    ("which colleagues does a back-end dev collaborate with", "contacts"),
    ("what qualites make a good backend developer", "qualities"),
    ("is SQL important", "sql"),
    ("mysql or sql server?", "databases"),
    ("gitlab or github", "git"),
    ("do backend devs have to know drupal", "cms"),
    ("will chatgpt replace backend developers", "future"),
    ("what languages do backend devs code in", "languages"),
    ("best language to learn first for backend", "first_language"),
    ("laravel", "frameworks"),
    ("why bother with a framework", "why_frameworks"),
    ("which school should I go to for web development", "schools"),
    ("learn backend on udemy", "self_training"),
    ("le wagon bootcamp", "bootcamps"),
    ("how to become a CTO", "cto"),
    ("which sectors hire backend developers", "employers"),
    ("backend dev salary", "salary"),
    ("what makes a backend salary go up", "salary_factors"),
    ("other names for the backend developer job", "job_titles"),
    ("hello there", "greeting"),
    ("thx!", "thanks"),
]


@pytest.mark.parametrize(("question", "intent"), IN_SCOPE)
def test_in_scope_questions_match_their_intent(engine: Engine, question: str, intent: str) -> None:
    match = engine.matcher.match(question)
    assert match.intent == intent, (match.intent, match.score, match.runners_up)
    assert 0.0 <= match.score <= 1.0


@pytest.mark.parametrize(
    "question",
    [
        "how much does a plumber earn",
        "what is the best pizza in naples",
        "how do I repair my bike",
        "zxcvb qwerty uiop",
    ],
)
def test_out_of_scope_questions_are_not_answered(engine: Engine, question: str) -> None:
    match = engine.matcher.match(question)
    assert not decide(match, engine.kb, engine.tuning, in_conversation=False).answers


def test_the_semantic_signal_finds_a_paraphrase_with_other_words(engine: Engine) -> None:
    match = engine.matcher.match("Will backend development be extinct?")
    future = next(c for c in match.candidates if c.intent == "future")
    assert future.parts.semantic == max(c.parts.semantic for c in match.candidates)
    assert match.intent == "future"


def test_the_combined_score_is_the_documented_blend(engine: Engine) -> None:
    tuning = engine.tuning
    for candidate in engine.matcher.match("which frameworks go with php").candidates:
        parts = candidate.parts
        rescaled = max(0.0, (parts.semantic - tuning.semantic_floor) / (1 - tuning.semantic_floor))
        expected = min(1.0, (1 - tuning.semantic_weight) * parts.lexical + tuning.semantic_weight * rescaled + parts.bonus)
        assert candidate.score == pytest.approx(expected, abs=1e-3)


def test_a_named_value_with_its_own_answer_gets_the_entity_bonus(engine: Engine) -> None:
    tuned = retuned(engine, entity_bonus=0.07, uncovered_value_bonus=0.03)  # the test's own values, not today's
    match = tuned.matcher.match("which frameworks go with php")
    frameworks = next(c for c in match.candidates if c.intent == "frameworks")
    assert frameworks.parts.bonus == 0.07
    assert all(c.parts.bonus == 0 for c in match.candidates if not tuned.kb.intents[c.intent].variants)


def test_a_named_value_the_sources_do_not_cover_steers_to_the_topics_that_answer_per_value(engine: Engine) -> None:
    tuned = retuned(engine, entity_bonus=0.07, uncovered_value_bonus=0.03)
    uncovered = sorted(tuned.kb.lexicon.uncovered & set(tuned.kb.entities["language"]))[0]
    label = tuned.kb.entities["language"][uncovered].label
    match = tuned.matcher.match(f"which frameworks go with {label}")
    assert match.entities["language"] == uncovered
    frameworks = next(c for c in match.candidates if c.intent == "frameworks")
    assert frameworks.parts.bonus == 0.03


def _blend(engine: Engine, parts: Parts) -> float:
    tuning = engine.tuning
    rescaled = max(0.0, (parts.semantic - tuning.semantic_floor) / (1 - tuning.semantic_floor))
    return min(1.0, (1 - tuning.semantic_weight) * parts.lexical + tuning.semantic_weight * rescaled + parts.bonus)


def test_a_question_asked_of_the_answerer_cuts_the_answer_topics_only(engine: Engine) -> None:
    tuned = retuned(engine, other_subject_share=0.37)  # the test's own share, not today's
    lexicon = tuned.matcher.analyzer.lexicon
    phrase = next(p for p, canonical in sorted(lexicon.synonyms.items()) if canonical in lexicon.answerer and " " in p)
    asked = tuned.matcher.match(f"{phrase} study computer science to become a backend developer", limit=200)
    assert asked.about_answerer
    assert not tuned.matcher.match("should I study computer science to become a backend developer").about_answerer
    kinds = {c.intent: tuned.kb.intents[c.intent].kind for c in asked.candidates}
    assert "answer" in kinds.values()
    for c in asked.candidates:
        share = 0.37 if kinds[c.intent] == "answer" else 1.0
        assert c.score == pytest.approx(round(share * _blend(tuned, c.parts), 4), abs=1e-3)


@pytest.mark.parametrize(
    ("question", "asked_of_the_answerer"),
    [
        ("how did you become a developer?", True),
        ("what does your typical day look like?", True),
        ("did you know backend developers need sql?", False),  # rhetorical: asks about the job
        ("have you ever wondered what a backend developer does?", False),
        ("how do I become a backend developer?", False),
        ("do you have a degree in computer science?", True),
        ("do I need a degree to become a backend developer?", False),
        ("are you a bot?", False),  # who the bot is, small talk: a question beside it is still answered
    ],
)
def test_questions_asked_of_the_answerer_are_told_from_rhetorical_ones(engine: Engine, question: str, asked_of_the_answerer: bool) -> None:
    assert engine.matcher.match(question).about_answerer is asked_of_the_answerer


def test_runners_up_are_sorted_and_distinct(engine: Engine) -> None:
    match = engine.matcher.match("what should I study to become a backend developer")
    scores = [match.score, *(c.score for c in match.runners_up)]
    assert scores == sorted(scores, reverse=True)
    intents = [match.intent, *(c.intent for c in match.runners_up)]
    assert len(intents) == len(set(intents))


def test_an_exact_example_scores_higher_than_a_paraphrase(engine: Engine) -> None:
    example = engine.kb.intents["salary"].examples[0]
    exact = engine.matcher.match(example)
    loose = engine.matcher.match("tell me roughly what kind of money one might get in that job")
    assert exact.intent == "salary"
    assert exact.score > loose.score


def test_unknown_subject_lowers_the_score(engine: Engine) -> None:
    plain = engine.matcher.match("average salary")
    foreign = engine.matcher.match("average salary of a veterinarian")
    assert foreign.score < plain.score


def test_domain_anchor_keeps_long_questions_in_scope(engine: Engine) -> None:
    match = engine.matcher.match(
        "My grandmother in Lisbon keeps asking me and I never know what to say: what does a backend developer earn?"
    )
    assert match.intent == "salary"
    assert match.anchored


def test_examples_left_out_together_get_the_signals_of_each_left_out_alone(engine: Engine) -> None:
    matcher = engine.matcher
    examples = [example for intent in ("salary", "git", "thanks") for example in engine.kb.intents[intent].examples[:3]]
    examples.append("?!")  # no words: no semantic side
    analysed = [(example, matcher.analyzer.analyse(example)) for example in examples]
    for (example, analysis), together in zip(analysed, matcher.left_out_signals(analysed), strict=True):
        alone = matcher.signals(example, analysis, leave_out=example)
        np.testing.assert_allclose(together.lexical, alone.lexical)
        np.testing.assert_allclose(together.semantic, alone.semantic, atol=1e-6)
        assert (together.present == alone.present).all()
        assert matcher.score(together, engine.tuning).intent == matcher.score(alone, engine.tuning).intent
