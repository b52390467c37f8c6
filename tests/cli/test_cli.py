"""The `faqbot` command: the batch contract, exit codes and error messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import ask_jsonl, main
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue

KEYS = {"text", "answer", "kind", "intent", "score", "suggestions"}


@pytest.fixture(scope="module")
def dialogue(engine: Engine) -> Dialogue:
    return Dialogue(lambda: engine)


def _batch(dialogue: Dialogue, lines: list[str]) -> list[dict[str, object]]:
    sink = io.StringIO()
    ask_jsonl(dialogue, io.StringIO("\n".join(lines) + "\n"), sink)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_jsonl_answers_each_line_in_order_with_shared_context(dialogue: Dialogue) -> None:
    lines = [
        json.dumps({"conversation": "x", "text": "Which frameworks are there for Java?"}),
        json.dumps({"conversation": None, "text": "hello"}),
        json.dumps({"conversation": "x", "text": "and for Python?"}),
        json.dumps({"conversation": "y", "text": "how do I bake bread"}),
    ]
    out = _batch(dialogue, lines)
    assert [o["text"] for o in out] == [json.loads(line)["text"] for line in lines]
    assert all(set(o) >= KEYS for o in out)
    assert [o["kind"] for o in out] == ["answer", "smalltalk", "answer", "fallback"]
    assert "django" in str(out[2]["answer"]).lower()
    assert "spring" not in str(out[2]["answer"]).lower()
    assert all(0.0 <= float(o["score"]) <= 1.0 for o in out)  # type: ignore[arg-type]
    assert "**" not in str(out[0]["answer"]), "answers are plain text"


def test_jsonl_bad_lines_get_an_error_object_and_the_batch_goes_on(dialogue: Dialogue) -> None:
    out = _batch(dialogue, ["{not json", json.dumps({"conversation": None}), json.dumps([1, 2]), json.dumps({"text": "salary"})])
    assert len(out) == 4
    assert [o["kind"] for o in out[:3]] == ["fallback"] * 3
    assert all("error" in o for o in out[:3])
    assert out[3]["intent"] == "salary"


def test_ask_prints_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "what", "is", "SQL", "for?"]) == 0
    assert "SQL" in capsys.readouterr().out


def test_ask_json_prints_the_reply_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "junior backend salary"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert set(reply) >= KEYS
    assert reply["intent"] == "salary"
    assert reply["follow_ups"]


def test_validate_exit_status(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb_copy / "content" / "cto.md").unlink()
    assert main(["validate", "--kb", str(kb_copy)]) == 1
    out = capsys.readouterr().out
    assert "content/cto.md" in out


def test_broken_kb_gives_a_clear_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(tmp_path), "hello"]) == 1
    err = capsys.readouterr().err
    assert "faqbot validate" in err
    assert "Traceback" not in err


def test_eval_prints_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps(
            {"id": "a", "category": "paraphrase", "text": "backend salary", "want": "answer", "intent": "salary", "expect": [["30"]]}
        )
        + "\n"
        + json.dumps({"id": "b", "category": "oos", "text": "how to knit a scarf", "want": "decline"})
        + "\n"
    )
    assert main(["eval", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "in-scope 1/1" in out
    assert "declined 1/1" in out


def test_eval_reports_a_malformed_case_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "a"}\n')
    assert main(["eval", str(cases)]) == 2
    assert "cases.jsonl:1" in capsys.readouterr().err


def test_console_script_speaks_the_batch_contract() -> None:
    """The installed entry point, as ../shared/eval/score.py runs it."""
    payload = json.dumps({"conversation": "c", "text": "what does a backend developer do?"}) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"], input=payload, capture_output=True, text=True, timeout=60, check=True
    )
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["kind"] == "answer"


def test_chat_keeps_context_and_offers_numbered_choices(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("which frameworks for java?\nand for python?\n1\n\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "Spring" in out
    assert "Django" in out
    assert "1." in out, "suggestions are numbered"
