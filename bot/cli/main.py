"""The `faqbot` command: ask, chat, validate, eval (and run, for Telegram)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bot.cli.maintenance import run_maintenance_command
from bot.cli.problems import print_problems
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.knowledge import KnowledgeBaseError
from bot.engine.models import Reply
from bot.engine.render import plain
from bot.engine.semantic import SemanticModelError, Vectors
from bot.maintenance.evaluation import load_cases, run
from bot.maintenance.report import parse_duration
from bot.maintenance.validate import validate
from bot.maintenance.vector_cache import cached_engine, load_vectors, save_vectors
from bot.settings import Settings
from bot.telegram.app import run as run_bot
from bot.telegram.heartbeat import heartbeat_path, is_fresh


def reply_json(text: str | None, reply: Reply) -> dict[str, object]:
    """The batch contract's output object for one reply."""
    return {
        "text": text,
        "answer": plain(reply.text),
        "kind": reply.kind,
        "intent": reply.intent,
        "score": round(max(0.0, min(1.0, reply.score)), 4),
        "suggestions": [s.title for s in reply.suggestions],
        "reason": reply.reason.value,
    }


def explain(reply: Reply) -> dict[str, object]:
    """Why the bot replied so: the decision's reason and the parts of the score of the top candidates."""
    match = reply.match
    if match is None:
        return {"reason": reply.reason.value, "candidates": []}
    return {
        "reason": reply.reason.value,
        "entities": dict(match.entities),
        "candidates": [
            {
                "intent": c.intent,
                "score": c.score,
                "lexical": round(c.parts.lexical, 4),
                "semantic_cosine": round(c.parts.semantic, 4),
                "bonus": c.parts.bonus,
            }
            for c in match.candidates
        ],
        "out_of_scope": {
            "score": match.out_of_scope,
            "lexical": round(match.out_of_scope_parts.lexical, 4),
            "semantic_cosine": round(match.out_of_scope_parts.semantic, 4),
        },
    }


def ask_jsonl(dialogue: Dialogue, source: TextIO, sink: TextIO, with_explain: bool = False) -> None:
    """Answer one JSON line per input line, in order; a malformed line gets an error object, not a crash."""
    for line in source:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("text"), str):
                raise ValueError('expected {"conversation": id or null, "text": "..."}')
            conversation = request.get("conversation")
            reply = dialogue.respond(request["text"], None if conversation is None else str(conversation))
            out = reply_json(request["text"], reply)
            if with_explain:
                out["explain"] = explain(reply)
        except ValueError as exc:
            out = {
                "text": None,
                "answer": "",
                "kind": "fallback",
                "intent": None,
                "score": 0.0,
                "suggestions": [],
                "error": f"bad input line: {exc}",
            }
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()


def _print_explain(reply: Reply, console: Console) -> None:
    """`faqbot ask --explain`: the decision and the parts of the score of the top candidates."""
    details = explain(reply)
    console.print(f"\ndecision: [bold]{reply.reason.value}[/bold] (kind {reply.kind}, intent {reply.intent}, score {reply.score:.3f})")
    table = Table(title="Candidates: combined = (1 - w) * lexical + w * rescaled cosine + bonus")
    for column in ("intent", "combined", "lexical", "semantic cosine", "bonus"):
        table.add_column(column)
    for c in details["candidates"]:  # type: ignore[attr-defined]
        table.add_row(c["intent"], f"{c['score']:.3f}", f"{c['lexical']:.3f}", f"{c['semantic_cosine']:.3f}", f"{c['bonus']:.2f}")
    oos = details.get("out_of_scope")
    if isinstance(oos, dict):
        table.add_row("(negative examples)", f"{oos['score']:.3f}", f"{oos['lexical']:.3f}", f"{oos['semantic_cosine']:.3f}", "")
    console.print(table)


def _chat(dialogue: Dialogue, console: Console) -> int:
    console.print(
        "[bold]faqbot chat[/bold]: ask about the backend developer job. Empty line or Ctrl-D to quit; a number picks a suggestion."
    )
    choices: list[str] = []
    while True:
        try:
            text = console.input("[bold cyan]you>[/bold cyan] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not text.strip():
            return 0
        if text.strip().isdigit() and 0 < int(text) <= len(choices):
            reply = dialogue.answer_intent(choices[int(text) - 1], "console")
            if reply is None:
                console.print("That topic no longer exists.")
                continue
        else:
            reply = dialogue.respond(text, "console")
        console.print(f"[bold green]bot>[/bold green] {plain(reply.text)}", highlight=False)
        offered = list(reply.suggestions) + list(reply.follow_ups)
        choices = [s.intent for s in offered]
        for number, suggestion in enumerate(offered, 1):
            console.print(f"   [dim]{number}.[/dim] {suggestion.title}")


def _validate(root: Path, vectors: Vectors, console: Console, show_warnings: bool) -> int:
    problems = validate(root, vectors)
    errors = [p for p in problems if not p.warning]
    warnings = [p for p in problems if p.warning]
    for problem in errors:
        console.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
    for problem in warnings if show_warnings else []:
        console.print(f"[yellow]warning[/yellow] {problem}", highlight=False, soft_wrap=True)
    hidden = "" if show_warnings or not warnings else " (`faqbot validate --warnings` lists them)"
    if errors:
        console.print(f"{len(errors)} error(s) and {len(warnings)} warning(s) in {root}{hidden}")
        return 1
    warned = f" ({len(warnings)} warning(s){hidden})" if warnings else ""
    console.print(f"[green]ok[/green]: knowledge base in {root} is valid{warned}")
    return 0


def _eval(engine: Engine, dialogue: Dialogue, path: Path, console: Console, show: int) -> int:
    evaluation = run(load_cases(path), dialogue)
    for outcome in [o for o in evaluation.outcomes if o.failure][:show]:
        console.print(f"FAIL {outcome.case.id}: {outcome.case.text!r}: {outcome.failure}", highlight=False, soft_wrap=True)
    table = Table(title="Accuracy per category")
    for column in ("category", "passed", "total", "rate"):
        table.add_column(column)
    for name, (passed, total) in evaluation.by(lambda o: o.case.category).items():
        table.add_row(name, str(passed), str(total), f"{passed / total:.1%}")
    console.print(table)
    intents = Table(title="Accuracy per expected intent")
    for column in ("intent", "passed", "total", "rate"):
        intents.add_column(column)
    for name, (passed, total) in evaluation.by(lambda o: o.case.intent).items():
        intents.add_row(name, str(passed), str(total), f"{passed / total:.1%}")
    console.print(intents)
    confusions = evaluation.confusions()
    if confusions:
        confusion_table = Table(title="Confusions (expected -> got)")
        for column in ("expected", "got", "count"):
            confusion_table.add_column(column)
        for (expected, got), count in confusions.most_common(15):
            confusion_table.add_row(expected, got, str(count))
        console.print(confusion_table)
    reliability = Table(title="Score calibration (in-scope cases)")
    for column in ("score", "cases", "right intent"):
        reliability.add_column(column)
    for band, count, right in evaluation.reliability():
        reliability.add_row(band, str(count), f"{right:.0%}")
    console.print(reliability)
    precision, recall = evaluation.out_of_scope()
    answered, declined, overall = evaluation.answered, evaluation.declined, evaluation.overall
    console.print(f"out-of-scope: precision {precision:.1%}, recall {recall:.1%}")
    console.print(
        f"overall {overall[0]}/{overall[1]} = {overall[0] / max(overall[1], 1):.1%}; "
        f"in-scope {answered[0]}/{answered[1]} = {answered[0] / max(answered[1], 1):.1%}; "
        f"out-of-scope declined {declined[0]}/{declined[1]} = {declined[0] / max(declined[1], 1):.1%}"
    )
    return 0 if overall[0] == overall[1] else 1


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="faqbot", description="A FAQ bot about the backend developer profession.")
    commands = top.add_subparsers(dest="command", required=True)
    kb_help = "folder holding intents/ and content/ (default: FAQBOT_KB, else the project's own)"

    ask = commands.add_parser("ask", help="answer a question (or JSON lines on stdin with --jsonl)")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON")
    ask.add_argument("--jsonl", action="store_true", help='batch mode: {"conversation", "text"} lines on stdin')
    ask.add_argument("--explain", action="store_true", help="show the decision, its reason and the parts of the score")
    commands.add_parser("chat", help="talk to the bot in the console")
    check = commands.add_parser("validate", help="check intents/ and content/")
    check.add_argument("--warnings", action="store_true", help="also list the warnings (near ties of examples), not only their count")
    evaluate = commands.add_parser("eval", help="run an evaluation file and print accuracy")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--show", type=int, default=20, help="how many failures to list")
    commands.add_parser("run", help="run the Telegram bot (TELEGRAM_BOT_TOKEN; polling or webhook per MODE)")
    commands.add_parser("health", help="exit 0 if the running bot's heartbeat file is fresh (Docker HEALTHCHECK)")
    db_help = "the conversation log (default: FAQBOT_DATA_DIR/faqbot.sqlite3)"
    report = commands.add_parser("report", help="unanswered questions grouped by similarity, and statistics per intent")
    report.add_argument("--since", type=_duration, default="7d", help="period to cover, e.g. 30m, 24h, 7d (default 7d)")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--suggest", action="store_true", help="write the suggested example phrasings as a YAML patch instead")
    report.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    report.add_argument("--threshold", type=float, default=None, help="answers scoring below this count as low-confidence")
    report.add_argument("--db", type=Path, default=None, help=db_help)
    forget = commands.add_parser("forget", help="delete every record of one Telegram user (privacy request)")
    forget.add_argument("user_id", type=int)
    forget.add_argument("--db", type=Path, default=None, help=db_help)
    for command in commands.choices.values():
        command.add_argument("--kb", type=Path, default=None, help=kb_help)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=False)
    errors = Console(stderr=True)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        errors.print(f"faqbot: invalid setting {'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}", highlight=False)
        return 2
    root: Path = args.kb or settings.faqbot_kb
    try:
        return _command(args, settings, root, console, errors)
    except SemanticModelError as exc:
        errors.print(f"faqbot: the sentence-embedding model cannot be loaded: {exc}", highlight=False)
        return 2


def _command(args: argparse.Namespace, settings: Settings, root: Path, console: Console, errors: Console) -> int:
    if args.command == "validate":
        vectors = load_vectors(settings.faqbot_cache_dir)
        status = _validate(root, vectors, console, args.warnings)
        save_vectors(vectors, settings.faqbot_cache_dir)
        return status
    if args.command in ("report", "forget"):
        return run_maintenance_command(args, settings, root, console, errors)
    if args.command == "health":
        return 0 if is_fresh(heartbeat_path(settings.faqbot_data_dir)) else 1
    if args.command == "run":
        try:
            return run_bot(settings.model_copy(update={"faqbot_kb": root}))
        except KnowledgeBaseError as exc:
            return print_problems(errors, root, exc)
    try:
        engine = cached_engine(root, settings.faqbot_cache_dir, settings.tuning())
    except KnowledgeBaseError as exc:
        return print_problems(errors, root, exc)
    dialogue = Dialogue(lambda: engine)
    if args.command == "ask":
        if args.jsonl:
            ask_jsonl(dialogue, sys.stdin, sys.stdout, args.explain)
            return 0
        question = " ".join(args.question)
        reply = dialogue.respond(question)
        if args.json:
            out = reply_json(question, reply) | {"follow_ups": [s.title for s in reply.follow_ups], "markdown": reply.text}
            if args.explain:
                out["explain"] = explain(reply)
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            print(plain(reply.text))
            for suggestion in (*reply.suggestions, *reply.follow_ups):
                print(f"  - {suggestion.title}")
            if args.explain:
                _print_explain(reply, console)
        return 0
    if args.command == "chat":
        return _chat(dialogue, console)
    if args.command == "eval":
        try:
            return _eval(engine, dialogue, args.file, console, args.show)
        except (OSError, ValueError) as exc:
            errors.print(f"faqbot: {exc}", highlight=False)
            return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
