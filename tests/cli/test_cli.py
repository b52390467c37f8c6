"""The `faqbot` command: the batch contract, exit codes and error messages."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli.commands import ask_jsonl, shortened
from bot.cli.main import main
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.models import Reply
from bot.telegram.heartbeat import touch

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


def test_jsonl_odd_lines_cost_one_line_each_and_every_output_line_is_json(dialogue: Dialogue) -> None:
    lines = [
        "",  # an empty line is a line too: the output stays aligned with the input
        "[" * 100_000,  # nested too deeply for the JSON reader
        json.dumps({"conversation": None, "text": "salary \ud800"}),  # a lone surrogate cannot be written as UTF-8
        json.dumps({"conversation": "\udfff", "text": "salary"}),
        json.dumps({"conversation": None, "text": 5}),
        json.dumps({"text": "salary"}),
    ]
    sink = io.StringIO()
    ask_jsonl(dialogue, io.StringIO("\n".join(lines) + "\n"), sink)
    written = sink.getvalue().encode("utf-8")  # raises if a lone surrogate was echoed
    out = [json.loads(line) for line in written.decode("utf-8").splitlines()]
    assert len(out) == len(lines)
    assert ["error" in o for o in out] == [True, True, False, False, True, False]
    assert out[2]["text"] == "salary \ufffd"
    assert out[4]["error"].startswith('bad input line: "text" is a number, not a string')


class _Broken(Dialogue):
    def respond(self, text: str, conversation: str | None = None) -> Reply:
        if "boom" in text:
            raise KeyError("a bug")
        return super().respond(text, conversation)


def test_jsonl_a_failure_while_answering_costs_that_line_only(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    sink = io.StringIO()
    lines = [json.dumps({"conversation": None, "text": t}) for t in ("boom", "salary")]
    ask_jsonl(_Broken(lambda: engine), io.StringIO("\n".join(lines) + "\n"), sink)
    out = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert out[0]["error"].startswith("internal error on this line (KeyError)")
    assert out[1]["intent"] == "salary"
    assert "KeyError" in capsys.readouterr().err, "the traceback goes to stderr for the report"


def _explained(dialogue: Dialogue, text: str) -> dict[str, Any]:
    sink = io.StringIO()
    ask_jsonl(dialogue, io.StringIO(json.dumps({"conversation": None, "text": text}) + "\n"), sink, with_explain=True)
    out: dict[str, Any] = json.loads(sink.getvalue())
    return out


def test_explain_gives_the_decision_and_parts_that_make_each_score(dialogue: Dialogue, engine: Engine) -> None:
    out = _explained(dialogue, "how much does a junior backend developer earn?")
    explain = out["explain"]
    assert explain["reason"] == "answered"
    assert explain["candidates"][0]["intent"] == out["intent"]
    tuning = engine.tuning
    for c in explain["candidates"]:
        rescaled = max(0.0, (c["semantic_cosine"] - tuning.semantic_floor) / (1 - tuning.semantic_floor))
        parts = min(1.0, (1 - tuning.semantic_weight) * c["lexical"] + tuning.semantic_weight * rescaled + c["bonus"])
        assert c["score"] == pytest.approx(parts, abs=1e-3), "the parts shown add up to the score"
    assert explain["other_subject"] is False


def test_explain_says_when_another_profession_cut_every_score(dialogue: Dialogue, engine: Engine) -> None:
    lexicon = engine.matcher.analyzer.lexicon
    profession = next(p for p, canonical in sorted(lexicon.synonyms.items()) if canonical in lexicon.foreign and " " in p)
    explain = _explained(dialogue, f"what does a {profession} earn?")["explain"]
    assert explain["other_subject"] is True
    tuning = engine.tuning
    for c in explain["candidates"]:
        rescaled = max(0.0, (c["semantic_cosine"] - tuning.semantic_floor) / (1 - tuning.semantic_floor))
        whole = (1 - tuning.semantic_weight) * c["lexical"] + tuning.semantic_weight * rescaled + c["bonus"]
        assert c["score"] == pytest.approx(tuning.other_subject_share * min(1.0, whole), abs=1e-3)


def test_explain_says_when_the_question_asks_the_answerer(dialogue: Dialogue, engine: Engine) -> None:
    lexicon = engine.matcher.analyzer.lexicon
    phrase = next(p for p, canonical in sorted(lexicon.synonyms.items()) if canonical in lexicon.answerer and " " in p)
    assert _explained(dialogue, f"{phrase} learn sql for backend work?")["explain"]["about_answerer"] is True
    assert _explained(dialogue, "should I learn sql for backend work?")["explain"]["about_answerer"] is False


MESSAGE_OF_PARTS = "I am new here. How much does a backend developer earn? And which schools teach web development?"


def test_explain_shows_how_each_part_of_a_message_was_decided(dialogue: Dialogue) -> None:
    out = _explained(dialogue, MESSAGE_OF_PARTS)
    parts = out["explain"]["parts"]
    assert [p["reason"] for p in parts[:1]] == ["context"]
    assert [p["whole"] for p in parts] == [False, False, False, True]
    assert [p["intent"] for p in parts if p["used"]] == [out["intent"], parts[2]["intent"]]
    assert "parts" not in _explained(dialogue, "how much does a backend developer earn?")["explain"]


def test_ask_explain_prints_the_parts_of_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--explain", MESSAGE_OF_PARTS]) == 0
    out = capsys.readouterr().out
    for shown in ("Parts of the message", "context only", "(whole message)"):
        assert shown in out


def test_a_long_part_is_shown_by_its_start_and_its_end() -> None:
    first = "Despite the rise of cheap online courses, was a college degree still worth paying for?"
    second = f"{first} Was it still the best way to become a software engineer?"  # a part carrying the one before
    shown = [shortened(first), shortened(second)]
    assert all(len(s) <= 60 for s in shown)
    assert shown[0] != shown[1]
    assert all(s.startswith("Despite the rise") for s in shown)
    assert shown[1].endswith("software engineer?")
    assert shortened("which language first?") == "which language first?"


def test_ask_explain_prints_the_decision_and_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--explain", "junior backend salary"]) == 0
    out = capsys.readouterr().out
    assert "decision: answered" in out
    for shown in ("lexical", "semantic cosine", "salary"):
        assert shown in out


def test_ask_prints_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "what", "is", "SQL", "for?"]) == 0
    assert "SQL" in capsys.readouterr().out


def test_ask_without_a_question_reads_it_from_a_pipe(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("I am new here.\nWhat is SQL for?\n"))
    assert main(["ask", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "sql"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ask_without_a_question_at_a_terminal_says_how_to_ask(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())
    assert main(["ask"]) == 2
    captured = capsys.readouterr()
    assert "faqbot ask" in captured.err
    assert not captured.out


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


@pytest.mark.parametrize("command", [["validate"], ["ask", "hello"]])
def test_problems_that_look_like_console_markup_are_printed_as_written(
    kb_copy: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = kb_copy / "intents" / "age.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^follow_ups: \[", "follow_ups: ['[/red]', '[bold]x', ", text), encoding="utf-8")
    assert main([command[0], "--kb", str(kb_copy), *command[1:]]) == 1
    shown = capsys.readouterr()
    assert "'[/red]'" in shown.out + shown.err
    assert "'[bold]x'" in shown.out + shown.err


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


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("[1, 2]", "an array, expected an object"),
        ("null", "null, expected an object"),
        ("[" * 100_000, "recursion"),
        ('{"text": 5}', '"text" must be a string'),
        ('{"text": "salary", "want": "yes"}', '"want" must be one of'),
        ('{"text": "salary", "conversation": ["a"]}', '"conversation" must be a string'),
        ('{"text": "salary", "intent": {"a": 1}}', '"intent" must be a string'),
        ('{"text": "salary", "expect": ["junior", "senior"]}', '"expect" must be a list of groups'),
        ('{"text": "salary", "forbid": "nurse"}', '"forbid" must be a list of words'),
    ],
)
def test_eval_names_the_line_and_the_key_of_a_malformed_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, words: str
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "salary"}\n' + line + "\n", encoding="utf-8")
    assert main(["eval", str(cases)]) == 2
    err = capsys.readouterr().err
    assert "cases.jsonl:2" in err
    assert words in err


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_eval_of_a_file_without_cases_is_an_error_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(content, encoding="utf-8")
    assert main(["eval", str(cases), "--min", "95"]) == 2
    assert "no cases" in capsys.readouterr().err


def test_eval_reads_a_case_whose_text_holds_a_line_separator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "a", "text": "junior backend\u2028salary?"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["eval", str(cases)]) != 2, "the file is read: U+2028 inside a string does not end the line"
    assert "overall" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["folder", "not a database"])
def test_a_log_that_cannot_be_opened_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    db = tmp_path / "log.sqlite3"
    if kind == "folder":
        db.mkdir()
    else:
        db.write_text("these are not the droids", encoding="utf-8")
    assert main(["ask", "--log", "--db", str(db), "salary"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the conversation log" in err
    assert "Traceback" not in err


def test_ask_jsonl_with_a_question_argument_says_it_would_be_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--jsonl", "salary"]) == 2
    assert "stdin" in capsys.readouterr().err


def test_console_script_speaks_the_batch_contract() -> None:
    """The installed entry point, as ../shared/eval/score.py runs it."""
    payload = json.dumps({"conversation": "c", "text": "what does a backend developer do?"}) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"], input=payload, capture_output=True, text=True, timeout=60, check=True
    )
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["kind"] == "answer"


def test_a_reader_that_goes_away_ends_the_batch_quietly() -> None:
    """`faqbot ask --jsonl < questions | head -1`: no traceback, no "Exception ignored" at exit."""
    payload = "".join(json.dumps({"conversation": None, "text": f"what does a backend developer do? {i}"}) + "\n" for i in range(300))
    command = [sys.executable, "-m", "bot", "ask", "--jsonl"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdin.write(payload)
        process.stdin.close()
        assert json.loads(process.stdout.readline())["kind"] == "answer"
        process.stdout.close()
        error = process.stderr.read()
        assert process.wait(timeout=60) == 1
    assert "Traceback" not in error
    assert "Exception ignored" not in error


def test_chat_keeps_context_and_offers_numbered_choices(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("which frameworks for java?\nand for python?\n1\n\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "Spring" in out
    assert "Django" in out
    assert "1." in out, "suggestions are numbered"


def test_faqbot_alone_prints_the_help_and_version_is_known(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: faqbot" in out
    assert "report" in out
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("faqbot ")


def test_every_option_says_its_default_and_health_forget_take_no_kb(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import parser

    top = parser()
    (subparsers,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in subparsers.choices.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert "default" in (formatter._get_help_string(action) or ""), (name, action.dest)
    for name in ("health", "forget"):
        with pytest.raises(SystemExit):
            main([name, "--kb", "x"] if name == "health" else [name, "1", "--kb", "x"])
    capsys.readouterr()


def test_health_says_why_it_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path))
    assert main(["health"]) == 1
    assert "no heartbeat file" in capsys.readouterr().err
    touch(tmp_path / "heartbeat", now=1.0)  # refreshed long ago
    assert main(["health"]) == 1
    assert "old" in capsys.readouterr().err


def test_the_health_check_and_ask_do_without_python_telegram_bot(tmp_path: Path) -> None:
    # The container runs `faqbot health` every 30 s: it reads a file, and must not load the Telegram stack to do so.
    script = (
        "import sys\n"
        "from bot.cli.main import main\n"
        "main(['health'])\n"
        "main(['ask', 'hello'])\n"
        "print(sorted(m for m in sys.modules if m == 'telegram' or m.startswith(('telegram.', 'bot.telegram.app'))))\n"
    )
    env = {**os.environ, "FAQBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr


def test_the_health_check_does_without_the_engine(tmp_path: Path) -> None:
    # It only reads the heartbeat file: loading numpy, the matcher or the model would double its time and memory.
    script = (
        "import sys\n"
        "from bot.cli.main import main\n"
        f"open({str(tmp_path / 'heartbeat')!r}, 'w').close()\n"
        "status = main(['health'])\n"
        "heavy = ('numpy', 'onnxruntime', 'rapidfuzz', 'bot.engine.core', 'bot.engine.matcher', 'rich')\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    env = {**os.environ, "FAQBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.stdout.splitlines() == ["healthy", "0 []"], result.stderr


def test_every_invalid_setting_is_reported_at_once_by_name(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODE", "foo")
    monkeypatch.setenv("USER_RATE", "abc")
    monkeypatch.setenv("ADMIN_IDS", "12,bob")
    assert main(["ask", "hi"]) == 2
    err = capsys.readouterr().err
    for name in ("MODE=foo", "USER_RATE=abc", "ADMIN_IDS=12,bob"):
        assert name in err
    assert "Value error" not in err
    assert "pydantic" not in err
    monkeypatch.delenv("USER_RATE")
    monkeypatch.delenv("ADMIN_IDS")
    monkeypatch.setenv("MODE", "webhook")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:" + "A" * 35)
    assert main(["ask", "hi"]) == 2
    err = capsys.readouterr().err
    assert "WEBHOOK_URL" in err
    assert "WEBHOOK_SECRET" in err
    assert "A" * 35 not in err


def test_eval_thresholds_decide_the_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    good = {"id": "a", "category": "paraphrase", "text": "backend salary", "want": "answer", "intent": "salary"}
    bad = {"id": "b", "category": "paraphrase", "text": "how to knit a scarf", "want": "answer", "intent": "salary"}
    off = {"id": "c", "category": "oos", "text": "how to knit a scarf", "want": "decline"}
    cases.write_text("".join(json.dumps(c) + "\n" for c in (good, bad, off)))
    assert main(["eval", str(cases)]) == 1, "without thresholds every case must pass"
    assert main(["eval", str(cases), "--min", "60", "--min-declined", "100"]) == 0
    assert main(["eval", str(cases), "--min", "90"]) == 1
    assert "below the threshold" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["eval", str(cases), "--min", "140"])


def test_chat_ignores_empty_lines_and_bad_numbers_and_shows_topics(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "log.sqlite3"
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n   \n/topics\n99\n1\nwhat is SQL for?\n"))
    assert main(["chat", "--log", "--db", str(db)]) == 0
    out = capsys.readouterr()
    first = engine.kb.topics[0].intents[0]
    assert engine.kb.title(first) in out.out
    assert "No suggestion has that number" in out.out
    assert "recorded 2 question(s)" in out.err, "the topic picked and the question; not 99, not the empty lines"
