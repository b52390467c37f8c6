"""Multi-turn cases from tests/conversations.yaml, each conversation in its own context."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.dialogue import Dialogue
from bot.engine.render import plain

FILE = Path(__file__).resolve().parents[1] / "conversations.yaml"
CONVERSATIONS: list[dict[str, Any]] = yaml.safe_load(FILE.read_text(encoding="utf-8"))["conversations"]


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c["name"] for c in CONVERSATIONS])
def test_conversation(dialogue: Dialogue, conversation: dict[str, Any]) -> None:
    for number, turn in enumerate(conversation["turns"], 1):
        reply = dialogue.respond(turn["say"], conversation["name"])
        answer = plain(reply.text).casefold()
        where = f"turn {number} {turn['say']!r}"
        if "intent" in turn:
            assert reply.intent == turn["intent"], f"{where}: got {reply.intent} ({reply.kind})"
            assert reply.kind in ("answer", "smalltalk"), where
        if "topic" in turn:  # the topic of any reply, a note on what the sources lack included
            assert reply.intent == turn["topic"], f"{where}: got {reply.intent} ({reply.kind})"
        if "kind" in turn:
            assert reply.kind == turn["kind"], f"{where}: got {reply.kind} ({reply.intent})"
        if "reason" in turn:
            assert reply.reason.value == turn["reason"], f"{where}: got {reply.reason.value} ({reply.intent})"
        if "entities" in turn:
            assert dict(reply.entities).items() >= turn["entities"].items(), f"{where}: got {dict(reply.entities)}"
        if "not_intent" in turn:
            assert reply.intent not in turn["not_intent"], f"{where}: got {reply.intent}"
        for fragment in turn.get("expect", []):
            assert str(fragment).casefold() in answer, f"{where}: {fragment!r} missing"
        for fragment in turn.get("forbid", []):
            assert str(fragment).casefold() not in answer, f"{where}: {fragment!r} present"
