"""Handlers driven through Application.process_update, with every Bot API call recorded."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.models import Reason
from bot.engine.render import plain
from bot.maintenance.storage import Store
from bot.settings import Settings
from bot.telegram.keyboards import MAX_DATA_BYTES, Answer, CallbackCodec, Menu
from bot.telegram.rendering import utf16_len
from tests.helpers import retuned
from tests.helpers.telegram import Harness, make_settings, started
from tests.telegram.factories import BOT_USERNAME, GROUP_ID, group_chat, private_chat
from tests.telegram.recording import Call

JSON = dict[str, Any]


def buttons(call: Call) -> list[JSON]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def labels(call: Call) -> list[str]:
    return [b["text"] for b in buttons(call)]


def data_of(call: Call, label: str) -> str:
    return str(next(b["callback_data"] for b in buttons(call) if b["text"] == label))


def only_send(calls: list[Call]) -> Call:
    sends = [c for c in calls if c.method == "sendMessage"]
    assert len(sends) == 1, [c.method for c in calls]
    return sends[0]


def message_of(call: Call) -> JSON:
    """The message a sendMessage call produced, as Telegram would show it in a later update."""
    return {
        "message_id": 4242,
        "date": 0 + 1,
        "chat": private_chat() if int(call.params["chat_id"]) > 0 else group_chat(),
        "from": {"id": 999_000, "is_bot": True, "first_name": "FAQ", "username": BOT_USERNAME},
        "text": call.params.get("text", "menu"),
        "reply_markup": call.params.get("reply_markup"),
    }


def messages(engine: Engine) -> Any:
    return engine.kb.messages


# --- commands --------------------------------------------------------------------------------


async def test_start_greets_and_shows_the_themes(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("start")))
    assert send.params["text"] == plain(messages(engine)["start"])
    assert labels(send) == [g.title for g in engine.kb.topics]
    assert {"type": "bold"}.items() <= send.params["entities"][0].items()


async def test_start_with_a_deep_link_answers_that_topic(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("start", "salary")))
    assert plain(engine.kb.intents["salary"].answer) in send.params["text"]
    assert engine.kb.title("salary_factors") in labels(send)
    assert labels(send)[-2:] == [messages(engine)["button_helpful"], messages(engine)["button_unhelpful"]]
    event = harness.recorder.asked[-1]
    assert (event.intent, event.fallback, event.chat_type) == ("salary", False, "private")


async def test_start_with_an_unknown_payload_just_greets(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("start", "no_such_topic")))
    assert send.params["text"] == plain(messages(engine)["start"])


async def test_help_names_the_bot_and_the_commands(harness: Harness) -> None:
    send = only_send(await harness.send(harness.make.command("help")))
    assert f"@{BOT_USERNAME}" in send.params["text"]
    assert "/topics" in send.params["text"]
    assert "{bot}" not in send.params["text"]


async def test_topics_shows_groups_then_a_group_then_back(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics")))
    assert send.params["text"] == plain(messages(engine)["topics_header"])
    group = engine.kb.topics[0]
    calls = await harness.send(harness.make.callback(data_of(send, group.title), message=message_of(send)))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    edit = calls[1]
    shown = labels(edit)
    assert shown[0] == engine.kb.title(group.intents[0])
    assert messages(engine)["button_next"] in shown  # 10 topics, 6 per page
    assert shown[-1] == messages(engine)["button_back"]
    calls = await harness.send(harness.make.callback(data_of(edit, messages(engine)["button_next"]), message=message_of(edit)))
    page2 = labels(calls[-1])
    assert page2[0] == engine.kb.title(group.intents[6])
    assert messages(engine)["button_previous"] in page2
    calls = await harness.send(harness.make.callback(data_of(calls[-1], messages(engine)["button_back"]), message=message_of(calls[-1])))
    assert labels(calls[-1]) == [g.title for g in engine.kb.topics]


async def test_tapping_a_topic_in_the_menu_answers_it(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics")))
    calls = await harness.send(harness.make.callback(data_of(send, "Career and pay"), message=message_of(send)))
    calls = await harness.send(harness.make.callback(data_of(calls[-1], engine.kb.title("salary")), message=message_of(calls[-1])))
    assert calls[0].method == "answerCallbackQuery"
    assert plain(engine.kb.intents["salary"].answer) in only_send(calls).params["text"]


async def test_about_counts_topics_and_names_the_source(harness: Harness, engine: Engine) -> None:
    text = only_send(await harness.send(harness.make.command("about"))).params["text"]
    answers = len({i for group in engine.kb.topics for i in group.intents})  # what the menus list
    assert f"{answers} topics" in text
    assert engine.kb.topics[0].title in text
    assert "article" in text


async def test_unknown_command_in_private_gets_one_line_and_the_menu(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("frobnicate")))
    assert send.params["text"] == plain(messages(engine)["unknown_command"])
    assert labels(send) == [group.title for group in engine.kb.topics][: len(labels(send))]
    assert labels(send)


async def test_post_init_registers_the_command_menu(harness: Harness, engine: Engine) -> None:
    await harness.app.post_init(harness.app)  # type: ignore[misc]
    commands = harness.request.of("setMyCommands")[-1].params["commands"]
    assert [c["command"] for c in commands] == ["start", "help", "topics", "about", "forgetme"]  # no admin commands
    assert commands[2]["description"] == messages(engine)["command_topics"]
    assert commands[4]["description"] == messages(engine)["command_forgetme"]
    await harness.app.post_stop(harness.app)  # type: ignore[misc]


# --- free text -------------------------------------------------------------------------------


async def test_a_question_gets_the_answer_with_entities_follow_ups_and_feedback(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.message("how much does a junior backend dev make?")))
    assert "JUNIOR-PAY" in send.params["text"]  # tests/fixtures/kb/content/salary.junior.md
    assert "**" not in send.params["text"]
    assert any(e["type"] == "bold" for e in send.params["entities"])
    assert labels(send) == [*(engine.kb.title(i) for i in engine.kb.intents["salary"].follow_ups), "👍", "👎"]
    assert all(len(b["callback_data"].encode()) <= MAX_DATA_BYTES for b in buttons(send))
    event = harness.recorder.asked[-1]
    assert event.text == "how much does a junior backend dev make?"
    assert event.intent == "salary"
    assert event.user_id == 111
    assert not event.fallback
    assert event.answer_id == "111:5000"
    assert 0 <= event.score <= 1
    assert event.latency_ms >= 0


FOLLOW_UP = "and seniors?"
"""Answered only as a follow-up of a salary question (alone, it names no topic)."""


async def test_context_carries_over_per_chat_and_user(harness: Harness, engine: Engine) -> None:
    assert Dialogue(lambda: engine).respond(FOLLOW_UP).kind == "fallback"  # the premise: no answer without context
    first = await harness.sent_texts(harness.make.message("how much does a junior backend developer earn?"))
    assert "JUNIOR-PAY" in first[0]
    follow = await harness.sent_texts(harness.make.message(FOLLOW_UP))
    assert "SENIOR-PAY" in follow[0]
    # Another user in another chat has no such context.
    other = await harness.sent_texts(harness.make.message(FOLLOW_UP, user_id=222))
    assert "SENIOR-PAY" not in other[0]


async def test_context_is_per_user_inside_a_group(harness: Harness) -> None:
    await harness.send(harness.make.mention("how much does a junior backend developer earn?", user_id=111))
    mine = await harness.sent_texts(harness.make.mention(FOLLOW_UP, user_id=111))
    theirs = await harness.sent_texts(harness.make.mention(FOLLOW_UP, user_id=222))
    assert "SENIOR-PAY" in mine[0]
    assert "SENIOR-PAY" not in theirs[0]


async def test_nothing_close_shows_the_topic_menu(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.message("what's the weather like in Paris tomorrow")))
    assert send.params["text"] == plain(messages(engine)["fallback_topics"])
    assert labels(send) == [g.title for g in engine.kb.topics]
    assert harness.recorder.asked[-1].fallback


async def test_a_fallback_never_offers_feedback(harness: Harness, engine: Engine) -> None:
    for text in ("what's the weather like in Paris tomorrow", "?", "asdf qwer zxcv"):
        send = only_send(await harness.send(harness.make.message(text)))
        assert "👍" not in labels(send)


async def test_did_you_mean_buttons_answer_the_intent(engine: Engine, settings: Settings) -> None:
    unsure = retuned(engine, threshold=0.99)  # nothing is sure enough: close topics become "did you mean" buttons
    question = "how much does a junior backend developer earn?"
    reply = Dialogue(lambda: unsure).respond(question)
    assert reply.reason is Reason.UNSURE
    async with started(unsure, settings) as harness:
        send = only_send(await harness.send(harness.make.message(question)))
        none_of_these = messages(engine)["button_none_of_these"]
        assert labels(send) == [*(s.title for s in reply.suggestions), none_of_these]
        assert all(len(row) <= 2 for row in send.params["reply_markup"]["inline_keyboard"])
        menu = only_send(await harness.send(harness.make.callback(data_of(send, none_of_these), message=message_of(send))))
        assert menu.params["text"] == plain(messages(engine)["none_of_these"])
        assert labels(menu)[: len(engine.kb.topics)] == [g.title for g in engine.kb.topics]
        calls = await harness.send(harness.make.callback(buttons(send)[0]["callback_data"], message=message_of(send)))
        assert calls[0].method == "answerCallbackQuery"
        answer = only_send(calls)
        assert answer.params["text"] == plain(engine.kb.intents[reply.suggestions[0].intent].answer)
        assert harness.recorder.asked[-1].intent == reply.suggestions[0].intent


async def test_a_did_you_mean_button_for_a_topic_the_sources_are_silent_on_says_so(engine: Engine, settings: Settings) -> None:
    unsure = retuned(engine, threshold=0.99)
    maths = engine.kb.intents["maths"]
    async with started(unsure, settings) as harness:
        send = only_send(await harness.send(harness.make.message("is maths needed for backend work?")))
        assert maths.title in labels(send)
        answer = only_send(await harness.send(harness.make.callback(data_of(send, maths.title), message=message_of(send))))
        assert plain(maths.answer).strip() in answer.params["text"]
        assert [engine.kb.title(i) for i in maths.follow_ups] == labels(answer)[: len(maths.follow_ups)]
        assert harness.recorder.asked[-1].reason == Reason.TOPIC_NOT_COVERED.value


async def test_an_edited_question_is_answered_again(harness: Harness) -> None:
    texts = await harness.sent_texts(harness.make.edited("how much does a senior backend dev make?"))
    assert len(texts) == 1
    assert "SENIOR-PAY" in texts[0]


async def test_a_very_long_message_is_answered_without_error(harness: Harness) -> None:
    texts = await harness.sent_texts(harness.make.message("salary " * 5000))
    assert len(texts) == 1
    assert texts[0]


async def test_non_text_messages_get_a_friendly_note(harness: Harness, engine: Engine) -> None:
    note = plain(messages(engine)["non_text"])
    for update in (harness.make.sticker(), harness.make.photo(), harness.make.voice(), harness.make.document()):
        assert await harness.sent_texts(update) == [note]


async def test_the_caption_of_a_photo_or_document_is_read_as_the_question(harness: Harness, engine: Engine) -> None:
    question = "how much does a junior backend developer earn?"
    salary = plain(Dialogue(lambda: engine).respond(question).text)[:40]
    private = harness.make.photo(caption=question)
    assert salary in only_send(await harness.send(private)).params["text"]
    tag = f"@{BOT_USERNAME}"
    in_group = harness.make.document(
        caption=f"{tag} how much does a junior backend developer earn?",
        caption_entities=[{"type": "mention", "offset": 0, "length": len(tag)}],
        chat=group_chat(),
    )
    assert salary in only_send(await harness.send(in_group)).params["text"]
    assert await harness.send(harness.make.photo(caption="how much does a junior backend developer earn?", chat=group_chat())) == []


async def test_service_messages_are_ignored(harness: Harness) -> None:
    assert await harness.send(harness.make.new_member()) == []


async def test_our_own_inline_answer_posted_in_a_private_chat_is_not_answered(harness: Harness) -> None:
    update = harness.make.message("A junior backend developer earns", via_bot={"id": 999_000, "is_bot": True, "first_name": "FAQ"})
    assert await harness.send(update) == []


# --- long answers ----------------------------------------------------------------------------


async def test_a_long_answer_is_split_into_messages_within_the_limit(engine: Engine, tmp_path: Path) -> None:
    paragraph = "**Backend** developers write *server* code and [read docs](https://example.org). " * 12
    long_help = "\n\n".join([paragraph] * 24)
    kb = dataclasses.replace(engine.kb, messages={**engine.kb.messages, "help": long_help})
    async with started(Engine(kb, engine.matcher), make_settings(tmp_path)) as bot:
        sends = [c for c in await bot.send(bot.make.command("help")) if c.method == "sendMessage"]
    assert len(sends) >= 3
    total = ""
    for send in sends:
        text = send.params["text"]
        assert 0 < utf16_len(text) <= 4096
        for entity in send.params.get("entities", []):
            assert entity["offset"] + entity["length"] <= utf16_len(text)
        total += text
    assert total.count("Backend") == long_help.count("**Backend**")


# --- buttons ---------------------------------------------------------------------------------


async def test_a_follow_up_button_answers_that_topic(harness: Harness) -> None:
    send = only_send(await harness.send(harness.make.message("how much does a junior backend dev make?")))
    calls = await harness.send(harness.make.callback(data_of(send, "Career path"), message=message_of(send)))
    assert calls[0].method == "answerCallbackQuery"
    assert "text" not in calls[0].params
    answer = only_send(calls)
    assert harness.recorder.asked[-1].intent == "career_path"
    assert answer.params["chat_id"] == 111


async def test_feedback_is_recorded_acknowledged_and_not_shown_twice(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.message("what is sql used for?")))
    question = harness.recorder.asked[-1]
    shown = message_of(send)
    shown["message_id"] = int(question.answer_id.split(":")[1]) if question.answer_id else 1
    calls = await harness.send(harness.make.callback(data_of(send, "👍"), message=shown))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert calls[0].params["text"] == messages(engine)["feedback_thanks"]
    remaining = labels(calls[1])
    assert "👍" not in remaining
    assert "👎" not in remaining
    assert remaining == [label for label in labels(send) if label not in ("👍", "👎")]
    [feedback] = harness.recorder.feedbacks
    assert feedback.helpful
    assert feedback.intent == question.intent
    assert feedback.user_id == 111
    assert feedback.answer_id == question.answer_id


async def test_a_thumb_tapped_25_times_is_one_row(engine: Engine, tmp_path: Path) -> None:
    """Taps that arrive before the 👍 / 👎 row is removed (a slow network, a double click) count once."""
    async with Store(tmp_path / "log.sqlite3", "salt", flush_interval=0.05) as store, started(engine, make_settings(tmp_path), store) as b:
        send = only_send(await b.send(b.make.message("what is git")))
        thumb = data_of(send, "👍")
        for _ in range(25):
            await b.send(b.make.callback(thumb, message=message_of(send)))
        counts = await store.feedback_counts(0)
    assert [(c.helpful, c.unhelpful) for c in counts] == [(1, 0)]


async def test_thumbs_down_is_recorded_too(harness: Harness) -> None:
    send = only_send(await harness.send(harness.make.message("what is git")))
    await harness.send(harness.make.callback(data_of(send, "👎"), message=message_of(send)))
    assert [f.helpful for f in harness.recorder.feedbacks] == [False]


async def test_forged_callback_data_gets_button_expired(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.message("what is git")))
    genuine = data_of(send, "👍")
    forged = genuine[:-8] + ("A" * 8 if not genuine.endswith("A" * 8) else "B" * 8)
    for data in (forged, "1:a:salary:xxxxxxxx", "garbage", "x" * 64, "1:f:+:git"):
        calls = await harness.send(harness.make.callback(data))
        assert [c.method for c in calls] == ["answerCallbackQuery"], data
        assert calls[0].params["text"] == messages(engine)["button_expired"]
    assert harness.recorder.feedbacks == []


async def test_stale_buttons_get_button_expired(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics")))
    menu_data = data_of(send, engine.kb.topics[0].title)
    # The knowledge base changes: a topic disappears and the groups are regrouped.
    kb = engine.kb
    topics = (*kb.topics[:-1], dataclasses.replace(kb.topics[-1], intents=kb.topics[-1].intents[:-1]))
    intents = {k: v for k, v in kb.intents.items() if k != kb.topics[-1].intents[-1]}
    harness.holder.swap(Engine(dataclasses.replace(kb, topics=topics, intents=intents), engine.matcher))
    codec_data = buttons(send)[0]["callback_data"]
    assert codec_data == menu_data
    calls = await harness.send(harness.make.callback(menu_data, message=message_of(send)))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == messages(engine)["button_expired"]


async def test_a_button_for_a_removed_topic_gets_button_expired(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.message("how much does a junior backend dev make?")))
    data = data_of(send, "Career path")
    kb = engine.kb
    intents = {k: v for k, v in kb.intents.items() if k != "career_path"}
    harness.holder.swap(Engine(dataclasses.replace(kb, intents=intents), engine.matcher))
    calls = await harness.send(harness.make.callback(data, message=message_of(send)))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == messages(engine)["button_expired"]


async def test_every_button_fits_in_64_bytes(harness: Harness, engine: Engine) -> None:
    codec = CallbackCodec(b"k" * 32)
    for intent in engine.kb.intents:
        assert len(codec.encode(Answer(intent), engine.kb).encode()) <= MAX_DATA_BYTES
    for index in range(len(engine.kb.topics)):
        assert len(codec.encode(Menu(index, 99), engine.kb).encode()) <= MAX_DATA_BYTES


# --- inline mode -----------------------------------------------------------------------------


async def test_inline_query_lists_matching_answers(harness: Harness) -> None:
    [call] = await harness.send(harness.make.inline_query("salary junior"))
    assert call.method == "answerInlineQuery"
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    first = results[0]
    assert first["type"] == "article"
    assert first["title"].startswith("Salaries")
    assert "JUNIOR-PAY" in first["input_message_content"]["message_text"]
    assert first["description"]
    assert len(first["description"]) <= 120
    assert any(e["type"] == "bold" for e in first["input_message_content"]["entities"])
    assert first["reply_markup"]["inline_keyboard"][0][0]["url"].endswith("?start=salary")
    assert all(len(r["id"].encode()) <= 64 for r in results)
    assert call.params["button"]["start_parameter"] == "inline"


async def test_empty_inline_query_shows_popular_topics(harness: Harness, engine: Engine) -> None:
    [call] = await harness.send(harness.make.inline_query(""))
    ids = [r["id"] for r in call.params["results"]]
    assert ids == [g.intents[0] for g in engine.kb.topics]  # one topic per theme


async def test_inline_query_with_nothing_relevant_returns_no_results(harness: Harness) -> None:
    [call] = await harness.send(harness.make.inline_query("weather in paris tomorrow"))
    assert call.params["results"] == []


async def test_inline_queries_are_not_recorded_as_questions(harness: Harness) -> None:
    await harness.send(harness.make.inline_query("salary"))
    assert harness.recorder.asked == []


# --- groups ----------------------------------------------------------------------------------


async def test_group_messages_not_for_the_bot_are_ignored(harness: Harness) -> None:
    make = harness.make
    other_reply = make.raw_message("hi", chat=group_chat(), user_id=333)
    for update in (
        make.message("how much does a backend dev earn?", chat=group_chat()),
        make.message("salary?", chat=group_chat(), reply_to=other_reply),
        make.mention("salary?", username="some_other_bot"),
        make.sticker(chat=group_chat()),
        make.command("topics", to="some_other_bot", chat=group_chat()),
        make.command("frobnicate", chat=group_chat()),
    ):
        assert await harness.send(update) == []
    assert harness.recorder.asked == []


async def test_a_mention_in_a_group_is_answered_as_a_reply_without_the_mention(harness: Harness) -> None:
    send = only_send(await harness.send(harness.make.mention("how much does a junior backend dev make?")))
    assert send.params["chat_id"] == GROUP_ID
    assert "reply_parameters" in send.params
    event = harness.recorder.asked[-1]
    assert event.text == "how much does a junior backend dev make?"
    assert event.chat_type == "supergroup"
    assert event.intent == "salary"


async def test_a_reply_to_the_bot_in_a_group_is_answered(harness: Harness) -> None:
    update = harness.make.message("what is git?", chat=group_chat(), reply_to=harness.make.bot_message())
    send = only_send(await harness.send(update))
    assert "Git" in send.params["text"]


async def test_commands_addressed_to_the_bot_work_in_groups(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics", to=BOT_USERNAME, chat=group_chat())))
    assert labels(send) == [g.title for g in engine.kb.topics]


async def test_a_forum_topic_message_is_answered_in_the_same_topic(harness: Harness) -> None:
    update = harness.make.mention("what is git?", message_thread_id=77, is_topic_message=True)
    send = only_send(await harness.send(update))
    assert send.params["message_thread_id"] == 77


# --- rate limit ------------------------------------------------------------------------------


async def test_a_flooding_user_gets_one_slow_down_and_others_are_unaffected(engine: Engine, tmp_path: Path) -> None:
    async with started(engine, make_settings(tmp_path, user_rate=3, user_tap_rate=2)) as bot:
        texts: list[str] = []
        for _ in range(8):
            texts += await bot.sent_texts(bot.make.message("what is git?"))
        assert len(texts) == 4
        assert all("Git" in t for t in texts[:3])
        assert "slow down" in texts[3]
        assert "{seconds}" not in texts[3]
        other = await bot.sent_texts(bot.make.message("what is git?", user_id=222))
        assert len(other) == 1
        assert "Git" in other[0]
        # taps are counted apart from messages: the flood of messages does not block browsing
        calls = await bot.send(bot.make.callback("1:a:git:whatever"))
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"] == plain(messages(engine)["button_expired"])
        await bot.send(bot.make.callback("1:a:git:whatever"))
        for _ in range(2):  # every tap over the limit is told when it may go on, never silently dropped
            [tap] = await bot.send(bot.make.callback("1:a:git:whatever"))
            assert "slow down" in tap.params["text"]
            assert "{seconds}" not in tap.params["text"]
        assert len(bot.recorder.asked) == 4


# --- errors ----------------------------------------------------------------------------------


async def test_a_crashing_handler_gets_an_apology_not_a_traceback(
    harness: Harness, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(self: Dialogue, text: str, conversation: str | None = None) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Dialogue, "respond", boom)
    with caplog.at_level(logging.ERROR):
        texts = await harness.sent_texts(harness.make.message("what is git?"))
    assert texts == [plain(messages(engine)["error"])]
    assert "RuntimeError" in caplog.text
    monkeypatch.undo()
    assert "Git" in (await harness.sent_texts(harness.make.message("what is git?")))[0]


async def test_network_errors_on_send_are_retried(harness: Harness) -> None:
    harness.request.fail("sendMessage", TimedOut("slow"), NetworkError("Bad Gateway"))
    texts = await harness.sent_texts(harness.make.message("what is git?"))
    assert len(texts) == 1
    assert "Git" in texts[0]


async def test_a_bad_request_is_not_retried(harness: Harness, engine: Engine) -> None:
    harness.request.fail("sendMessage", BadRequest("chat not found"))
    texts = await harness.sent_texts(harness.make.message("what is git?"))
    assert texts == [plain(messages(engine)["error"])]


async def test_a_failing_recorder_does_not_stop_the_answer(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(event: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(harness.recorder, "question", broken)
    texts = await harness.sent_texts(harness.make.message("what is git?"))
    assert "Git" in texts[0]


async def test_a_recorder_that_cannot_open_does_not_stop_the_bot(engine: Engine, tmp_path: Path) -> None:
    async with started(engine, make_settings(tmp_path)) as bot:

        async def broken_open() -> None:
            raise OSError("read-only file system")

        bot.recorder.open = broken_open
        await bot.app.post_init(bot.app)  # type: ignore[misc]
        texts = await bot.sent_texts(bot.make.message("what is git?"))
        assert "Git" in texts[0]
        assert bot.recorder.asked == []
        await bot.app.post_stop(bot.app)  # type: ignore[misc]


async def test_shutdown_closes_the_recorder(engine: Engine, tmp_path: Path) -> None:
    async with started(engine, make_settings(tmp_path)) as bot:
        await bot.app.post_shutdown(bot.app)  # type: ignore[misc]
        assert bot.recorder.closed


# --- logs ------------------------------------------------------------------------------------


async def test_one_log_line_per_update_with_hashed_user_and_no_text_at_info(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="faqbot.updates"):
        await harness.send(harness.make.message("how much does a junior backend dev make?", user_id=123456))
    lines = [r.getMessage() for r in caplog.records if r.name == "faqbot.updates"]
    assert len(lines) == 1
    line = lines[0]
    for key in ("update=", "kind=text", "chat=private", "intent=salary", "score=", "reply=answer", "latency_ms="):
        assert key in line
    assert "123456" not in line
    assert "junior" not in line


async def test_question_text_is_logged_at_debug(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="faqbot.updates"):
        await harness.send(harness.make.message("how much does a junior backend dev make?"))
    assert any("text='how much does a junior" in r.getMessage() for r in caplog.records if r.name == "faqbot.updates")


async def test_french_and_spanish_get_a_reply_in_their_language_and_the_menu(harness: Harness, engine: Engine) -> None:
    for question, key in (
        ("combien gagne un développeur backend ?", "other_language_fr"),
        ("¿cuánto gana un desarrollador backend?", "other_language_es"),
        ("Сколько зарабатывает бэкенд-разработчик?", "other_language_other"),
    ):
        send = only_send(await harness.send(harness.make.message(question)))
        assert send.params["text"] == plain(messages(engine)[key])
        assert labels(send)[: len(engine.kb.topics)] == [g.title for g in engine.kb.topics]
    assert harness.recorder.asked[-1].reason == "other_language"


async def test_help_mentions_inline_mode_only_when_it_is_enabled(harness: Harness, engine: Engine) -> None:
    inline = plain(messages(engine)["help_inline"]).split("{")[0]
    text = only_send(await harness.send(harness.make.command("help"))).params["text"]
    assert (inline in text) is bool(harness.app.bot.supports_inline_queries)
    assert "•" in text, "list items render as bullets"


async def test_per_user_state_does_not_grow_with_distinct_users(harness: Harness) -> None:
    """Nothing keeps an entry per user forever: PTB's persistence bookkeeping stays empty without a persistence."""
    for user_id in range(1000, 1060):
        await harness.send(harness.make.message("what is a backend developer?", user_id=user_id))
    app: Any = harness.app
    assert app.persistence is None
    assert app._chat_ids_to_be_updated_in_persistence == set()
    assert app._user_ids_to_be_updated_in_persistence == set()
    assert (len(app.user_data), len(app.chat_data)) == (0, 0)


async def test_a_menu_button_on_a_message_too_old_to_edit_sends_the_menu_anew(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics")))
    inaccessible = {"chat": private_chat(), "message_id": 77, "date": 0}  # what Telegram sends for a message it no longer shows
    calls = await harness.send(harness.make.callback(data_of(send, engine.kb.topics[0].title), message=inaccessible))
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert engine.kb.title(engine.kb.topics[0].intents[0]) in labels(calls[1])


async def test_a_menu_button_whose_message_cannot_be_edited_any_more_sends_the_menu_anew(harness: Harness, engine: Engine) -> None:
    send = only_send(await harness.send(harness.make.command("topics")))
    harness.request.fail("editMessageReplyMarkup", BadRequest("Message to edit not found"))
    calls = await harness.send(harness.make.callback(data_of(send, engine.kb.topics[0].title), message=message_of(send)))
    assert [c.method for c in calls][-1] == "sendMessage"


async def test_the_same_update_twice_in_one_answer_is_handled_once(harness: Harness) -> None:
    from bot.telegram.app import delivery_of

    update = harness.make.message("what is sql")
    accepted = await delivery_of(harness.app).accept([update, update])
    assert (accepted.started, accepted.skipped) == (1, 1)


async def test_a_reply_refused_in_a_closed_topic_is_logged_and_the_apology_goes_to_the_chat(harness: Harness) -> None:
    harness.request.fail("sendMessage", BadRequest("Message thread not found"), BadRequest("Message thread not found"))
    calls = await harness.send(harness.make.mention("what is git?", message_thread_id=77, is_topic_message=True))
    sends = [c for c in calls if c.method == "sendMessage"]  # (the calls refused are not recorded)
    assert [c.params.get("message_thread_id") for c in sends] == [None], "the apology reaches the chat, outside the topic"
    assert len(harness.recorder.asked) == 1, "the question is in the log though no answer could be sent"
    assert harness.recorder.asked[0].answer_id is None
