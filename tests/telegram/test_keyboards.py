"""Callback data: signed, versioned, at most 64 bytes; forged or stale data raises ExpiredButton only."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup

from bot.engine.core import Engine
from bot.engine.models import Reply, Suggestion
from bot.telegram.keyboards import (
    MAX_DATA_BYTES,
    Answer,
    CallbackCodec,
    ExpiredButton,
    Feedback,
    Menu,
    generation,
    menu_keyboard,
    reply_keyboard,
    without_feedback,
)

CODEC = CallbackCodec(b"secret-key-for-tests")


def all_data(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row]


@pytest.mark.parametrize("callback", [Answer("salary"), Feedback("git", True), Feedback("git", False), Menu(), Menu(2, 1)])
def test_round_trip(engine: Engine, callback: Answer | Feedback | Menu) -> None:
    data = CODEC.encode(callback, engine.kb)
    assert len(data.encode()) <= MAX_DATA_BYTES
    assert data.startswith("1:")
    assert CODEC.decode(data, engine.kb) == callback


def test_another_key_cannot_forge_data(engine: Engine) -> None:
    data = CallbackCodec(b"attacker").encode(Answer("salary"), engine.kb)
    with pytest.raises(ExpiredButton) as caught:
        CODEC.decode(data, engine.kb)
    assert caught.value.reason == "forged"


def test_tampered_arguments_are_detected(engine: Engine) -> None:
    data = CODEC.encode(Answer("salary"), engine.kb)
    with pytest.raises(ExpiredButton):
        CODEC.decode(data.replace("salary", "career_path"), engine.kb)


def test_a_removed_intent_is_stale(engine: Engine) -> None:
    data = CODEC.encode(Answer("salary"), engine.kb)
    kb = dataclasses.replace(engine.kb, intents={k: v for k, v in engine.kb.intents.items() if k != "salary"})
    with pytest.raises(ExpiredButton) as caught:
        CODEC.decode(data, kb)
    assert caught.value.reason == "stale"


def test_a_menu_from_before_a_regrouping_is_stale(engine: Engine) -> None:
    data = CODEC.encode(Menu(1), engine.kb)
    kb = dataclasses.replace(engine.kb, topics=tuple(reversed(engine.kb.topics)))
    with pytest.raises(ExpiredButton) as caught:
        CODEC.decode(data, kb)
    assert caught.value.reason == "stale"


def test_long_intent_ids_still_fit(engine: Engine) -> None:
    long_id = "a" * 120
    intent = dataclasses.replace(engine.kb.intents["git"], id=long_id)
    kb = dataclasses.replace(engine.kb, intents={**engine.kb.intents, long_id: intent})
    for callback in (Answer(long_id), Feedback(long_id, True)):
        data = CODEC.encode(callback, kb)
        assert len(data.encode()) <= MAX_DATA_BYTES
        assert CODEC.decode(data, kb) == callback


@settings(deadline=None)
@given(st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=64).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_data_only_ever_raises_expired_button(engine: Engine, data: str | None) -> None:
    with contextlib.suppress(ExpiredButton):
        CODEC.decode(data, engine.kb)


@pytest.mark.parametrize("data", ["\ud800abc", "1:a:gït:xxxxxxxx", "😀" * 16])
def test_data_that_is_not_ascii_is_malformed(engine: Engine, data: str) -> None:
    with pytest.raises(ExpiredButton, match="malformed"):
        CODEC.decode(data, engine.kb)


def test_valid_looking_data_with_bad_arguments_is_rejected(engine: Engine) -> None:
    for body in ("1:m:zzzzzz:0:0", "1:m:{gen}:x:0", "1:m:{gen}:99:0", "1:f:?:git", "1:q:git", "2:a:git", "1:a:git:extra"):
        body = body.format(gen=generation(engine.kb))
        with pytest.raises(ExpiredButton):
            CODEC.decode(f"{body}:{CODEC._sign(body)}", engine.kb)


def test_every_keyboard_of_the_knowledge_base_fits(engine: Engine) -> None:
    kb = engine.kb
    for intent in kb.intents.values():
        follow = tuple(Suggestion(i, kb.title(i)) for i in intent.follow_ups)
        reply = Reply(intent.answer, "answer", intent.id, 1.0, follow_ups=follow)
        for data in all_data(reply_keyboard(reply, kb, CODEC, kb.messages)):
            assert len(data.encode()) <= MAX_DATA_BYTES
    for index, group in enumerate(kb.topics):
        pages = -(-len(group.intents) // 6)
        for page in range(pages):
            for data in all_data(menu_keyboard(Menu(index, page), kb, CODEC, kb.messages)):
                assert len(data.encode()) <= MAX_DATA_BYTES


def test_menu_pages_cover_every_topic_once(engine: Engine) -> None:
    kb = engine.kb
    for index, group in enumerate(kb.topics):
        seen: list[str] = []
        page = 0
        while True:
            markup = menu_keyboard(Menu(index, page), kb, CODEC, kb.messages)
            decoded = [CODEC.decode(d, kb) for d in all_data(markup)]
            seen += [c.intent for c in decoded if isinstance(c, Answer)]
            nxt = [c for c in decoded if isinstance(c, Menu) and c.group == index and c.page == page + 1]
            if not nxt:
                break
            page += 1
        assert seen == list(group.intents)


def test_feedback_only_on_answers_and_removed_after_a_vote(engine: Engine) -> None:
    kb = engine.kb
    answer = Reply("text", "answer", "git", 1.0, follow_ups=(Suggestion("sql", kb.title("sql")),))
    markup = reply_keyboard(answer, kb, CODEC, kb.messages)
    assert markup is not None
    assert [b.text for b in markup.inline_keyboard[-1]] == ["👍", "👎"]
    rest = without_feedback(markup)
    assert rest is not None
    assert [[b.text for b in row] for row in rest.inline_keyboard] == [[kb.title("sql")]]
    smalltalk = Reply("hi", "smalltalk", "greeting", 1.0)
    assert reply_keyboard(smalltalk, kb, CODEC, kb.messages) is None
    only_votes = reply_keyboard(Reply("text", "answer", "git", 1.0), kb, CODEC, kb.messages)
    assert without_feedback(only_votes) is None


def test_answer_buttons_two_per_row_with_feedback_last_about_every_answer(engine: Engine) -> None:
    from bot.engine.dialogue import Dialogue
    from bot.telegram.keyboards import Feedback

    kb = engine.kb
    reply = Dialogue(lambda: engine).respond("what is git? and what is sql used for?")
    assert len(reply.answers) == 2, "the fixture answers both questions in one message"
    markup = reply_keyboard(reply, kb, CODEC, kb.messages)
    assert markup is not None
    *topics, votes = markup.inline_keyboard
    assert all(len(row) == 2 for row in topics[:-1])
    assert 1 <= len(topics[-1]) <= 2
    assert not {b.text for row in topics for b in row} & {kb.title(i) for i in reply.answers}, "no button for what was just answered"
    vote = CODEC.decode(str(votes[0].callback_data), kb)
    assert isinstance(vote, Feedback)
    assert vote.intents == reply.answers
    assert vote.helpful


def test_feedback_about_many_answers_still_fits(engine: Engine) -> None:
    from bot.telegram.keyboards import Feedback

    kb = engine.kb
    many = Feedback("career_path", False, tuple(i for i in kb.intents if i != "career_path"))
    data = CODEC.encode(many, kb)
    assert len(data.encode()) <= 64
    decoded = CODEC.decode(data, kb)
    assert isinstance(decoded, Feedback)
    assert decoded.intents[0] == "career_path"
    assert decoded.intents == many.intents[: len(decoded.intents)]
