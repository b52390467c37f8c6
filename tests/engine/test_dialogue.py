"""Dialogue: decisions, context carry-over, several questions, odd inputs."""

from collections.abc import Callable, Sequence

import pytest

from bot.engine.core import Engine
from bot.engine.dialogue import Context, Dialogue, offered_topics, respond
from bot.engine.models import Reason
from bot.engine.policy import decide
from bot.engine.render import plain
from bot.engine.semantic import Embedder, Matrix
from bot.engine.text import fill
from tests.helpers import retuned


def test_answer_reply_is_well_formed(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("how much does a backend developer earn?")
    assert reply.kind == "answer"
    assert reply.intent == "salary"
    assert reply.text == engine.kb.intents["salary"].answer
    assert {s.intent for s in reply.follow_ups} == set(engine.kb.intents["salary"].follow_ups)


def test_entity_selects_the_variant_answer(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("which frameworks for PHP?")
    assert reply.text == engine.kb.intents["frameworks"].variants["php"]
    assert reply.entities == {"language": "php"}


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("django or laravel?", "frameworks"),  # frameworks imply their languages: Python and PHP
        ("which frameworks should I learn, spring or rails?", "frameworks"),
        ("how much does a junior earn compared with a senior?", "salary"),
    ],
)
def test_a_question_comparing_two_values_gets_the_general_answer_that_covers_both(
    dialogue: Dialogue, engine: Engine, question: str, intent: str
) -> None:
    reply = dialogue.respond(question)
    assert reply.intent == intent
    assert reply.text == engine.kb.intents[intent].answer
    assert engine.kb.intents[intent].entity not in reply.entities


def test_a_question_after_a_chat_lead_in_is_answered_beside_the_others(dialogue: Dialogue) -> None:
    # The last part has no question mark; "also" must not hide that it asks.
    reply = dialogue.respond("how much do backend developers earn? also do I need a degree")
    assert set(reply.answers) == {"salary", "studies"}


@pytest.mark.parametrize(
    "message", ["My flight leaves in an hour so I have to run. Cheers!", "It was raining all day here in London. Anyway, thanks a lot!"]
)
def test_a_message_that_asks_nothing_is_small_talk_when_a_sentence_is_and_the_rest_is_about_nothing_we_know(
    dialogue: Dialogue, message: str
) -> None:
    assert dialogue.respond(message).reason is Reason.SMALLTALK


def test_a_statement_close_to_a_topic_beside_thanks_is_not_small_talk(dialogue: Dialogue) -> None:
    assert dialogue.respond("I would like to know the path to become a backend developer. thanks").reason is not Reason.SMALLTALK


def test_a_short_message_is_read_whole_by_the_model_not_as_a_mean_of_its_sentences(dialogue: Dialogue) -> None:
    # The mean of "Django vs Flask." and "What should I learn in 2022" is dragged away from frameworks by the second.
    assert dialogue.respond("Django vs Flask. What should I learn in 2022").intent == "frameworks"


@pytest.mark.parametrize(
    ("message", "intent", "values"),
    [
        ("Which frameworks for Python? And for Java?", "frameworks", ["python", "java"]),
        ("How much do seniors earn? And juniors?", "salary", ["senior", "junior"]),
    ],
)
def test_a_part_naming_only_a_new_value_follows_the_topic_of_the_part_before(
    dialogue: Dialogue, engine: Engine, message: str, intent: str, values: list[str]
) -> None:
    reply = dialogue.respond(message)
    for value in values:
        assert engine.kb.intents[intent].variants[value].strip() in reply.text
    assert reply.text.count(engine.kb.intents[intent].answer.strip()) == 0  # not the general answer beside them


def test_follow_up_reuses_the_previous_intent_with_a_new_entity(dialogue: Dialogue, engine: Engine) -> None:
    dialogue.respond("Which frameworks for Java?", "c1")
    reply = dialogue.respond("and for Python?", "c1")
    assert reply.intent == "frameworks"
    assert reply.text == engine.kb.intents["frameworks"].variants["python"]


def test_follow_up_reaches_back_past_an_intent_without_that_entity(dialogue: Dialogue, engine: Engine) -> None:
    dialogue.respond("java frameworks", "c2")
    detour = dialogue.respond("who does a backend developer work with?", "c2")
    assert detour.intent is not None
    assert engine.kb.intents[detour.intent].entity != "language"
    reply = dialogue.respond("and for ruby?", "c2")
    assert reply.intent == "frameworks"
    assert "rails" in reply.text.lower()


def test_seniority_follow_up(dialogue: Dialogue) -> None:
    first = dialogue.respond("junior salary", "c3")
    second = dialogue.respond("and seniors?", "c3")
    assert first.entities == {"seniority": "junior"}
    assert second.intent == "salary"
    assert second.entities == {"seniority": "senior"}


def test_conversations_do_not_share_context(dialogue: Dialogue) -> None:
    dialogue.respond("Which frameworks for Java?", "a")
    assert dialogue.respond("and for Python?", "a").reason is Reason.FOLLOW_UP
    assert dialogue.respond("and for Python?", "b").reason is not Reason.FOLLOW_UP


def test_context_expires(engine: Engine, clock: Callable[[], float]) -> None:
    short = retuned(engine, context_ttl=60)
    dialogue = Dialogue(lambda: short, clock=clock)
    dialogue.respond("Which frameworks for Java?", "c")
    clock.advance(59)  # type: ignore[attr-defined]
    assert dialogue.respond("and for Ruby?", "c").reason is Reason.FOLLOW_UP
    clock.advance(61)  # type: ignore[attr-defined]
    assert dialogue.respond("and for Python?", "c").reason is not Reason.FOLLOW_UP


def test_language_the_article_does_not_cover_is_declined_politely(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("golang frameworks")
    assert reply.kind == "fallback"
    assert "Go" in reply.text
    for covered in engine.kb.intents["frameworks"].variants:
        assert engine.kb.entities["language"][covered].label in reply.text
    assert [s.intent for s in reply.suggestions] == ["frameworks"]


def test_a_value_the_sources_name_but_not_for_this_topic_is_not_called_unknown(dialogue: Dialogue, engine: Engine) -> None:
    # The article names C# among the languages, and no framework for it.
    assert "csharp" not in engine.kb.intents["frameworks"].variants
    assert "csharp" not in engine.kb.lexicon.uncovered
    reply = dialogue.respond("c# frameworks")
    assert reply.reason is Reason.VALUE_NOT_COVERED
    labels = {v: engine.kb.entities["language"][v].label for v in engine.kb.intents["frameworks"].variants}
    expected = fill(
        engine.kb.messages["not_covered_here"],
        {"value": "C#", "topic": engine.kb.intents["frameworks"].title, "known": ", ".join(labels.values())},
    )
    assert reply.text == expected


def test_a_language_the_article_does_not_cover_in_a_topic_about_languages(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("is kotlin a good first language for backend?")
    assert reply.reason is Reason.VALUE_NOT_COVERED
    assert "Kotlin" in reply.text
    languages = engine.kb.entities["language"]
    covered = [v for v in languages if v not in engine.kb.lexicon.uncovered]
    assert covered
    assert all(languages[v].label in reply.text for v in covered)
    assert "Rust" not in reply.text  # only the values the sources do cover are offered
    # Naming a value they cover as well, in either order: the topic is answered, with a word that Kotlin is not covered.
    for question in ("kotlin or python as a first language for backend?", "python or kotlin as a first language for backend?"):
        other = dialogue.respond(question)
        assert other.reason is Reason.ANSWERED
        assert "Kotlin" in other.text


@pytest.mark.parametrize("question", ["How do I bake bread at home?", "what is the capital of mongolia", "sdkfj sdlkfj"])
def test_out_of_scope_is_declined_with_topics(dialogue: Dialogue, engine: Engine, question: str) -> None:
    reply = dialogue.respond(question)
    assert reply.kind == "fallback"
    assert reply.intent is None
    assert engine.kb.messages["fallback_topics"] in reply.text or engine.kb.messages["fallback_suggest"] == reply.text


def test_close_but_unsure_offers_suggestions(engine: Engine) -> None:
    strict = retuned(engine, threshold=0.99)
    dialogue = Dialogue(lambda: strict)
    reply = dialogue.respond("salary of backend developers")
    assert reply.kind == "fallback"
    assert reply.suggestions
    assert reply.suggestions[0].intent == "salary"


def test_two_questions_get_two_answers(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("How much does a backend developer earn? And which schools teach web development?")
    assert reply.intent == "salary"
    assert engine.kb.intents["salary"].answer in reply.text
    assert engine.kb.intents["schools"].answer in reply.text


def test_a_message_of_several_parts_carries_how_each_part_and_the_whole_were_decided(dialogue: Dialogue) -> None:
    said = ["I am new here.", "How much does a backend developer earn?", "And which schools teach web development?"]
    reply = dialogue.respond(" ".join(said))
    *parts, whole = reply.parts
    assert whole.whole
    assert not any(p.whole for p in parts)
    assert [p.text for p in parts] == said
    statement, *questions = parts
    assert statement.reason is None, "a statement beside questions is their context, not matched alone"
    assert not statement.used
    assert all(q.asks and q.used and q.reason is Reason.ANSWERED for q in questions)
    assert tuple(q.intent for q in questions) == reply.answers
    assert not whole.used


def test_a_message_answered_as_a_whole_says_so_in_its_parts(dialogue: Dialogue, engine: Engine) -> None:
    # Each question alone is weaker than the message read whole (`Tuning.whole_margin`).
    reply = dialogue.respond("is back end basically the opposite of front end? how do the two differ")
    assert [p.whole for p in reply.parts if p.used] == [True]
    assert reply.parts[-1].intent == reply.intent
    assert all(p.score + engine.tuning.whole_margin < reply.score for p in reply.parts[:-1] if p.reason is Reason.ANSWERED)


def test_the_whole_message_read_instead_of_its_parts_keeps_the_questions_it_does_not_answer(engine: Engine) -> None:
    whole_first = retuned(engine, whole_margin=-1.0)  # the whole is read whenever it is answered
    first, second = "How much does a backend developer earn?", "And which schools teach web development?"
    dialogue = Dialogue(lambda: whole_first)
    alone = [dialogue.respond(q).intent or "" for q in (first, second)]
    assert all(alone)
    assert alone[0] != alone[1]
    reply = dialogue.respond(f"{first} {second}")
    assert reply.parts[-1].used, "the whole message stands in for the part it answers alike"
    assert reply.parts[-1].intent in alone
    assert set(reply.answers) == set(alone)
    assert all(plain(engine.kb.intents[i].answer)[:40] in plain(reply.text) for i in alone)


def test_the_whole_message_read_instead_of_its_parts_keeps_the_note_of_a_part_the_sources_are_silent_on(engine: Engine) -> None:
    whole_first = retuned(engine, whole_margin=-1.0)
    first, second = "How much does a backend developer earn?", "And is the job stressful?"
    dialogue = Dialogue(lambda: whole_first)
    note = dialogue.respond(second)
    assert note.reason is Reason.TOPIC_NOT_COVERED
    assert note.intent is not None
    reply = dialogue.respond(f"{first} {second}")
    assert reply.reason is Reason.ANSWERED
    assert reply.parts[-1].used, "the whole message stands in for the part it answers alike"
    assert plain(engine.kb.intents[note.intent].answer)[:40] in plain(reply.text)


@pytest.mark.parametrize("subject", ["What is a backend developer?", "How much does a backend developer earn?"])
def test_a_part_that_names_no_subject_is_about_the_domain_its_message_names(engine: Engine, subject: str) -> None:
    bare = "And what are the required skills?"
    alone, message = engine.matcher.match(bare), engine.matcher.match(f"{subject} {bare}")
    assert message.anchored
    assert not alone.anchored
    assert message.out_of_scope < alone.out_of_scope - 0.02, "precondition: the message is further from the negatives"
    # A margin under which the bare question is declined on its own for being too close to the negative examples.
    strict = retuned(engine, off_topic_margin=alone.score - alone.out_of_scope + 0.01, threshold=0.0)
    assert Dialogue(lambda: strict).respond(bare).reason is Reason.OFF_TOPIC
    reply = Dialogue(lambda: strict).respond(f"{subject} {bare}")
    part = reply.parts[1]
    assert (part.reason, part.intent) == (Reason.ANSWERED, alone.intent)
    assert part.intent in reply.answers


def test_a_part_that_names_no_subject_keeps_its_distance_to_the_negatives_when_its_message_names_another(engine: Engine) -> None:
    bare = "And what are the required skills?"
    alone = engine.matcher.match(bare)
    strict = retuned(engine, off_topic_margin=alone.score - alone.out_of_scope + 0.01, threshold=0.0)
    reply = Dialogue(lambda: strict).respond(f"What does a plumber do? {bare}")
    assert reply.parts[1].reason is Reason.OFF_TOPIC


@pytest.mark.parametrize(
    ("message", "value"), [("I'm learning PHP. What frameworks should I use?", "php"), ("Which frameworks exist? I like Python.", "python")]
)
def test_a_part_naming_no_value_takes_the_one_its_message_names(dialogue: Dialogue, engine: Engine, message: str, value: str) -> None:
    reply = dialogue.respond(message)
    assert reply.intent == "frameworks"
    assert reply.entities.get("language") == value
    assert plain(engine.kb.intents["frameworks"].variants[value])[:40] in plain(reply.text)


def test_a_part_naming_no_value_keeps_the_general_answer_when_its_message_names_two(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("Python or Java? Which frameworks should I learn?")
    assert "frameworks" in reply.answers
    assert plain(engine.kb.intents["frameworks"].answer)[:40] in plain(reply.text)


def test_a_part_pointing_back_takes_the_value_an_earlier_part_was_answered_with(dialogue: Dialogue, engine: Engine) -> None:
    first = dialogue.respond("Which language should I learn first?")
    value = first.entities.get("language", "")
    assert value in engine.kb.intents["frameworks"].variants, "precondition: the first answer is about a language"
    reply = dialogue.respond("Which language should I learn first? And which frameworks?")
    assert "frameworks" in reply.answers
    assert plain(engine.kb.intents["frameworks"].variants[value])[:40] in plain(reply.text)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("what's a backend dev", "is it a good career", "what's a backend dev and is it a good career and how much does it pay lol"),
        (
            "Which frameworks are used with PHP?",
            "do I need a degree for this job?",
            "Which frameworks are used with PHP, and do I need a degree for this job?",
        ),
    ],
)
def test_a_part_pointing_back_asks_its_own_question_as_a_next_message_would(engine: Engine, first: str, second: str, message: str) -> None:
    chat = Dialogue(lambda: engine)
    before, after = chat.respond(first, "c"), chat.respond(second, "c")
    assert after.reason is Reason.ANSWERED, "precondition: as a next message it is answered"
    assert after.intent != before.intent, "precondition: ...with a topic of its own"
    reply = Dialogue(lambda: engine).respond(message)
    assert {before.intent, after.intent} <= set(reply.answers)


def test_a_question_naming_two_values_borrows_none(engine: Engine) -> None:
    dialogue = Dialogue(lambda: engine)
    assert dialogue.respond("is java a good backend language?", "c").entities.get("language") == "java"
    reply = dialogue.respond("python or php, which frameworks for them?", "c")
    assert reply.intent == "frameworks"
    assert "language" not in reply.entities
    assert reply.text == engine.kb.intents["frameworks"].answer


def test_a_single_question_has_no_parts(dialogue: Dialogue) -> None:
    assert dialogue.respond("How much does a backend developer earn?").parts == ()


def test_greeting_with_a_question_answers_the_question(dialogue: Dialogue) -> None:
    reply = dialogue.respond("Hi there! What does a backend developer earn?")
    assert reply.kind == "answer"
    assert reply.intent == "salary"


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "???", "\n\n"])
def test_empty_or_symbol_only_messages_get_a_prompt(dialogue: Dialogue, engine: Engine, text: str) -> None:
    reply = dialogue.respond(text)
    assert reply.kind == "fallback"
    assert reply.text == engine.kb.messages["empty"]


def test_very_long_message_gets_a_reply(dialogue: Dialogue) -> None:
    reply = dialogue.respond("blah " * 5000)
    assert reply.kind == "fallback"
    assert plain(reply.text)


def test_long_message_with_a_real_question_is_answered(dialogue: Dialogue) -> None:
    reply = dialogue.respond("what is the salary of a junior backend developer? " + "filler text. " * 500)
    assert reply.intent == "salary"


def test_a_question_the_sources_are_silent_on_gets_its_note_beside_the_answers(dialogue: Dialogue, engine: Engine) -> None:
    note = engine.kb.intents["maths"].answer.strip()
    lead_to_buttons = fill(engine.kb.messages["topic_not_covered"], {"topic": "", "note": ""}).strip()
    reply = dialogue.respond("How much does a backend developer earn? Do I need to be good at maths?")
    assert (reply.kind, reply.intent, reply.reason) == ("answer", "salary", Reason.ANSWERED)
    assert reply.text.startswith(engine.kb.intents["salary"].answer.strip()[:40])
    assert reply.text.endswith(note)
    assert lead_to_buttons not in reply.text
    # A statement is not a question: "I hate maths." beside one gets no note.
    assert note not in dialogue.respond("I hate maths. How much does a backend developer earn?").text


def test_inline_mode_lists_answers_only_where_did_you_mean_also_offers_silent_topics(engine: Engine) -> None:
    unsure = retuned(engine, threshold=0.99, suggest=0.0)  # every question unsure: "did you mean" for all
    question = "do I need maths for this job"
    match = unsure.matcher.match(question)
    offered = decide(match, unsure.kb, unsure.tuning, in_conversation=False, asks=True).options
    assert "maths" in offered
    listed, _ = offered_topics(question, unsure)
    assert listed
    assert all(unsure.kb.intents[i].kind == "answer" for i in listed)


def test_answer_intent_answers_a_tapped_button(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.answer_intent("cto", "c")
    assert reply is not None
    assert reply.text == engine.kb.intents["cto"].answer
    assert dialogue.answer_intent("no_such_intent", "c") is None


def test_a_tapped_topic_the_sources_do_not_cover_says_so(dialogue: Dialogue, engine: Engine) -> None:
    uncovered = next(i for i in engine.kb.intents.values() if i.kind == "uncovered")
    reply = dialogue.answer_intent(uncovered.id, "c")
    assert reply is not None
    assert (reply.kind, reply.reason, reply.intent) == ("fallback", Reason.TOPIC_NOT_COVERED, uncovered.id)
    asked = dialogue.respond(uncovered.examples[0], "d")  # tapping it gives what asking it gives
    assert (asked.reason, asked.intent, asked.text) == (reply.reason, reply.intent, reply.text)
    assert dialogue.context("c").history == ()


def test_respond_is_usable_without_dialogue(engine: Engine) -> None:
    context = Context()
    reply = respond("which frameworks for ruby", context, engine, now=0.0)
    assert reply.intent == "frameworks"
    assert context.history == ("frameworks",)
    assert context.entities == {"language": "ruby"}


@pytest.mark.parametrize(
    "text",
    [
        "Write me a motivation letter for a backend developer job",
        "please translate backend developer into Italian",
        "can you fix my SQL query",
    ],
)
def test_task_requests_are_declined_even_when_they_name_the_domain(dialogue: Dialogue, text: str) -> None:
    reply = dialogue.respond(text)
    assert reply.kind == "fallback"
    assert reply.intent is None


@pytest.mark.parametrize(
    "text",
    [
        "Hello there. I am learning Python and Django for backend work. Could you write me a study plan for Django? Thanks a lot",
        "Hi! I have an idea for the site. Please create a roadmap for Java backend developers. Thank you",
    ],
)
def test_a_task_request_among_greetings_and_statements_is_declined_not_read_whole(dialogue: Dialogue, text: str) -> None:
    reply = dialogue.respond(text)
    assert reply.reason is Reason.TASK_REQUEST
    assert not reply.answers


def test_a_question_about_a_task_verb_is_still_answered(dialogue: Dialogue) -> None:
    assert dialogue.respond("do backend developers write documentation?").kind == "answer"


def test_a_pronoun_follow_up_uses_what_the_previous_answer_was_about(dialogue: Dialogue, engine: Engine) -> None:
    first = dialogue.respond("which backend language should a beginner learn first?", "p")
    assert first.intent == "first_language"
    assert engine.kb.intents["first_language"].about == {"language": "python"}
    reply = dialogue.respond("ok, and which frameworks go with it?", "p")
    assert reply.intent == "frameworks"
    assert reply.text == engine.kb.intents["frameworks"].variants["python"]


def test_without_a_pronoun_a_frameworks_question_gets_the_general_answer(dialogue: Dialogue, engine: Engine) -> None:
    dialogue.respond("which backend language should a beginner learn first?", "q")
    reply = dialogue.respond("which frameworks do backend developers use?", "q")
    assert reply.text == engine.kb.intents["frameworks"].answer


def test_a_story_of_many_sentences_is_answered_whatever_its_length(dialogue: Dialogue, engine: Engine) -> None:
    story = " ".join(f"Sentence number {n} of my long story about my cousin and his new car." for n in range(9))
    reply = dialogue.respond(story + " How much does a junior backend developer earn?")
    assert reply.intent == "salary"
    assert reply.reason is Reason.ANSWERED


def test_each_part_of_a_message_is_answered_on_its_own_merits(dialogue: Dialogue, engine: Engine) -> None:
    reply = dialogue.respond("How much does a backend developer earn? And what is the capital of Australia?")
    assert reply.intent == "salary"
    assert "canberra" not in plain(reply.text).casefold()
    assert plain(reply.text).startswith(plain(engine.kb.intents["salary"].answer)[:40])


def test_a_statement_is_not_answered_in_place_of_the_question_beside_it(dialogue: Dialogue) -> None:
    statement, question = "I like SQL databases a lot.", "Who won the world cup in 2018?"
    said = dialogue.respond(statement)
    assert said.reason is Reason.ANSWERED  # on its own, the statement has an answer;
    assert dialogue.respond(question).reason is not Reason.ANSWERED  # the question has none.
    reply = dialogue.respond(f"{statement} {question}")
    assert reply.intent != said.intent
    assert plain(said.text)[:40] not in plain(reply.text)


def test_a_message_that_asks_the_bot_about_its_own_life_does_so_in_every_question(engine: Engine) -> None:
    cut = retuned(engine, other_subject_share=0.0)  # the test's own share: an answer topic asked of the bot scores 0
    lexicon = cut.matcher.analyzer.lexicon
    phrase = next(p for p, canonical in sorted(lexicon.synonyms.items()) if canonical in lexicon.answerer and " " in p)
    question = "which languages do backend developers use?"
    assert Dialogue(lambda: cut).respond(question).reason is Reason.ANSWERED
    reply = Dialogue(lambda: cut).respond(f"{phrase} learn to code? And {question}")
    assert reply.reason is not Reason.ANSWERED


def test_asking_who_the_bot_is_keeps_the_question_beside_it(dialogue: Dialogue) -> None:
    question = "how much does a backend developer earn?"
    alone = dialogue.respond(question)
    assert alone.reason is Reason.ANSWERED
    reply = dialogue.respond(f"are you a bot? {question}")
    assert reply.reason is Reason.ANSWERED
    assert reply.intent == alone.intent


def test_a_greeting_inside_a_question_is_not_small_talk(dialogue: Dialogue) -> None:
    reply = dialogue.respond("hello, I want to know which languages backend developers use")
    assert reply.kind == "answer"
    assert reply.intent != "greeting"


def test_small_talk_on_its_own_is_small_talk(dialogue: Dialogue) -> None:
    assert dialogue.respond("hello!").reason is Reason.SMALLTALK
    assert dialogue.respond("thanks a lot, that was useful").reason is Reason.SMALLTALK


def test_every_reply_says_why(dialogue: Dialogue) -> None:
    assert dialogue.respond("").reason is Reason.EMPTY
    assert dialogue.respond("write me a poem about servers").reason is Reason.TASK_REQUEST
    assert dialogue.respond("How do I bake sourdough bread?").reason is Reason.OFF_TOPIC
    assert dialogue.respond("golang frameworks").reason is Reason.VALUE_NOT_COVERED
    answered = dialogue.respond("what languages do backend developers use?")
    assert answered.reason is Reason.ANSWERED
    assert answered.match is not None
    assert answered.match.intent == answered.intent


def test_french_and_spanish_are_recognised_and_english_is_not(engine: Engine) -> None:
    from bot.engine.language import other_language

    assert other_language("combien gagne un développeur backend ?") == "fr"
    assert other_language("¿cuánto gana un desarrollador backend?") == "es"
    assert other_language("merci") == "fr"
    for english in ("raison d'etre of backend dev", "is php dead", "how much do devs make in Paris", "la vie en rose"):
        assert other_language(english) is None, english
    reply = Dialogue(lambda: engine).respond("quel langage apprendre pour le backend ?")
    assert reply.reason is Reason.OTHER_LANGUAGE
    assert reply.kind == "fallback"
    assert reply.text == engine.kb.messages["other_language_fr"]


@pytest.mark.parametrize("question", ["Сколько зарабатывает бэкенд-разработчик?", "后端开发人员赚多少钱？", "كم يكسب مطور الخلفية؟"])
def test_a_question_in_another_script_is_told_the_bot_reads_english(dialogue: Dialogue, engine: Engine, question: str) -> None:
    reply = dialogue.respond(question)
    assert reply.reason is Reason.OTHER_LANGUAGE
    assert reply.text == engine.kb.messages["other_language_other"]


def test_a_few_foreign_letters_in_an_english_question_do_not_make_it_foreign(dialogue: Dialogue) -> None:
    assert dialogue.respond("how much does a backend developer earn in Zürich or in Łódź?").reason is not Reason.OTHER_LANGUAGE
    assert dialogue.respond("🙂🙂🙂").reason is Reason.EMPTY
    full_width = dialogue.respond("ｈｏｗ ｍｕｃｈ ｄｏ ｂａｃｋｅｎｄ ｄｅｖｅｌｏｐｅｒｓ ｅａｒｎ?")
    plain_reply = dialogue.respond("how much do backend developers earn?")
    assert (full_width.reason, full_width.intent, full_width.text) == (plain_reply.reason, plain_reply.intent, plain_reply.text)


@pytest.mark.parametrize(
    "question",
    ["how much does a junior backend developer earn?", "thanks, that helps", "ok", "what does a backend developer do?"],
)
def test_an_at_handle_addressing_someone_changes_nothing(dialogue: Dialogue, question: str) -> None:
    plain_reply = dialogue.respond(question)
    addressed = dialogue.respond(f"@some_user_42 {question}")
    seen = [(reply.kind, reply.intent, reply.text, reply.score) for reply in (addressed, plain_reply)]
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    ("greeted", "plain"),
    [
        ("Hi Roeland! How much does a junior backend developer earn?", "Hi! How much does a junior backend developer earn?"),
        ("Thanks, Ravi!", "Thanks!"),
        ("Hey Kent, what does a backend developer do?", "Hey, what does a backend developer do?"),
        ("Hey Python Devs, which framework should I learn?", "Hey Python devs, which framework should I learn?"),
    ],
)
def test_a_name_greeted_or_thanked_changes_nothing(dialogue: Dialogue, greeted: str, plain: str) -> None:
    seen = [(reply.kind, reply.intent, reply.text, reply.score) for reply in (dialogue.respond(greeted), dialogue.respond(plain))]
    assert seen[0] == seen[1]


class _Recording:
    """The engine's model, recording the texts sent to it."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.model_id = model.model_id
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.seen.extend(texts)
        return self.model.embed(texts)

    def fits(self, text: str) -> bool:
        return self.model.fits(text)


def test_a_statement_beside_questions_goes_to_the_model_only_inside_the_whole_message(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.vectors is not None
    recording = _Recording(engine.vectors.embedder)
    monkeypatch.setattr(engine.vectors, "embedder", recording)
    engine.vectors.forget_questions()
    story, question = "My cat sleeps on my keyboard all day.", "How much does a junior backend developer earn?"
    reply = Dialogue(lambda: engine).respond(f"{story} {question}")
    assert reply.intent == "salary"
    assert f"{story} {question}" in recording.seen  # the model reads the message whole ...
    assert story not in recording.seen  # ... so the statement, matched only through it, is not embedded alone
