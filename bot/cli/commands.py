"""The commands that load the knowledge base: ask, chat, validate, eval, report, forget and run.

`bot.cli.main` parses the command line and validates the settings, then hands every command but
`health` to `dispatch`: importing this module loads the engine (numpy, the matcher), which the
container's health check, run every 30 seconds, does without.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.console_log import ConsoleLog, LogUnavailable
from bot.cli.consoles import errors_console
from bot.cli.maintenance import run_maintenance_command
from bot.cli.problems import print_problems
from bot.engine.core import Engine
from bot.engine.dialogue import Dialogue
from bot.engine.knowledge import KnowledgeBaseError
from bot.engine.models import PartTrace, Reply
from bot.engine.render import plain
from bot.engine.semantic import SemanticModelError, Vectors
from bot.engine.text import clean
from bot.maintenance.evaluation import json_type, load_cases, run
from bot.maintenance.validate import validate
from bot.maintenance.vector_cache import cached_engine, load_vectors, save_vectors
from bot.settings import Settings

if TYPE_CHECKING:  # rich is imported where a console is made: `faqbot run` does without it (1.7 MB) unless it fails
    from rich.console import Console
    from rich.table import Table


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
    """Why the bot replied so: the decision's reason and the parts of the score of the top candidates; for a message
    of several parts, also how each part and the whole message were decided (`parts`)."""
    match = reply.match
    parts = [_part_json(part) for part in reply.parts]
    if match is None:
        return {"reason": reply.reason.value, "candidates": [], **({"parts": parts} if parts else {})}
    return {
        **({"parts": parts} if parts else {}),
        "reason": reply.reason.value,
        "entities": dict(match.entities),
        "other_subject": match.other_subject,
        "about_answerer": match.about_answerer,
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


def _part_json(part: PartTrace) -> dict[str, object]:
    return {
        "text": part.text,
        "whole": part.whole,
        "asks": part.asks,
        "reason": part.reason.value if part.reason is not None else "context",
        "intent": part.intent,
        "score": round(part.score, 4),
        "used": part.used,
    }


def ask_jsonl(dialogue: Dialogue, source: TextIO, sink: TextIO, with_explain: bool = False, log: ConsoleLog | None = None) -> None:
    """Answer one JSON line per input line, in order; a malformed line (an empty one included) gets an error
    object, and a failure while answering one line is reported on that line: the batch goes on either way.

    With `log`, every answered line is recorded in the conversation log as the bot would."""
    for line in source:
        try:
            text, conversation = _request(line)
            started = time.perf_counter()
            reply = dialogue.respond(text, conversation)
            if log is not None:
                log.record(text, reply, conversation, _ms(started))
            out = reply_json(text, reply)
            if with_explain:
                out["explain"] = explain(reply)
        except _BadLine as exc:
            out = _error_line(f"bad input line: {exc}")
        except Exception as exc:  # a bug must cost one line, not the rest of the batch
            traceback.print_exc(file=sys.stderr)
            out = _error_line(f"internal error on this line ({type(exc).__name__}): please report it")
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()


class _BadLine(ValueError):
    """An input line that is not a request."""


REQUEST_SHAPE = '{"conversation": id or null, "text": "..."}'


def _request(line: str) -> tuple[str, str | None]:
    """The text and conversation id of the request on one input line (lone surrogates made U+FFFD, so that
    the echo and the log can be written); raises _BadLine saying what is wrong with the line."""
    if not line.strip():
        raise _BadLine(f"empty line: expected {REQUEST_SHAPE}")
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deeply to read
        raise _BadLine(f"not JSON ({str(exc)[:100]}): expected {REQUEST_SHAPE}") from None
    if not isinstance(request, dict):
        raise _BadLine(f"{json_type(request)}, not an object: expected {REQUEST_SHAPE}")
    if not isinstance(request.get("text"), str):
        found = "missing" if "text" not in request else json_type(request["text"])
        raise _BadLine(f'"text" is {found}, not a string: expected {REQUEST_SHAPE}')
    conversation = request.get("conversation")
    return clean(request["text"]) or "", None if conversation is None else clean(str(conversation))


def _error_line(error: str) -> dict[str, object]:
    return {"text": None, "answer": "", "kind": "fallback", "intent": None, "score": 0.0, "suggestions": [], "error": error}


def _print_explain(reply: Reply, console: Console) -> None:
    """`faqbot ask --explain`: the decision and the parts of the score of the top candidates."""
    from rich.table import Table

    console.print(f"\ndecision: [bold]{reply.reason.value}[/bold] (kind {reply.kind}, intent {reply.intent}, score {reply.score:.3f})")
    if reply.parts:
        parts = Table(title="Parts of the message (the candidates below are those of the first one used)")
        for column in ("part", "asks", "decision", "intent", "score", "used"):
            parts.add_column(column)
        for part in reply.parts:
            label = "(whole message)" if part.whole else shortened(part.text)
            reason = part.reason.value if part.reason is not None else "context only"
            used = "yes" if part.used else ""
            parts.add_row(escape(label), "yes" if part.asks else "", reason, escape(part.intent or ""), f"{part.score:.3f}", used)
        console.print(parts)
    match = reply.match
    if match is None:
        return
    table = Table(title="Candidates: combined = (1 - w) * lexical + w * rescaled cosine + bonus")
    for column in ("intent", "combined", "lexical", "semantic cosine", "bonus"):
        table.add_column(column)
    for c in match.candidates:
        table.add_row(escape(c.intent), f"{c.score:.3f}", f"{c.parts.lexical:.3f}", f"{c.parts.semantic:.3f}", f"{c.parts.bonus:.2f}")
    oos = match.out_of_scope_parts
    table.add_row("(negative examples)", f"{match.out_of_scope:.3f}", f"{oos.lexical:.3f}", f"{oos.semantic:.3f}", "")
    console.print(table)
    if match.other_subject:
        console.print("every score cut (other_subject_share): the question names another profession, not the domain")
    if match.about_answerer:
        console.print("answer topics' scores cut (other_subject_share): the question asks the answerer about their own life")


def shortened(text: str, width: int = 60) -> str:
    """`text` in at most `width` characters: its start and its end, so that a part which carries the one before it
    as context (and so starts like it) still shows what it adds."""
    if len(text) <= width:
        return text
    keep = (width - 5) // 2
    return f"{text[:keep].rstrip()} ... {text[-keep:].lstrip()}"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


CHAT_HELP = (
    "[bold]faqbot chat[/bold]: ask about the backend developer job. A number picks a numbered suggestion; "
    "/topics lists the topics; /quit, Ctrl-D or Ctrl-C quits."
)


def _topics(engine: Engine, console: Console) -> list[str]:
    """Print the topic menu, numbered; return the intent ids in that order."""
    chosen: list[str] = []
    for group in engine.kb.topics:
        console.print(f"[bold]{escape(plain(group.title))}[/bold]", highlight=False)
        for intent in group.intents:
            chosen.append(intent)
            console.print(f"   [dim]{len(chosen)}.[/dim] {escape(engine.kb.title(intent))}", highlight=False)
    return chosen


def _chat(dialogue: Dialogue, engine: Engine, console: Console, log: ConsoleLog | None = None) -> int:
    """The console conversation: an empty line is ignored; a number picks one of the numbers last shown."""
    console.print(CHAT_HELP)
    choices: list[str] = []
    while True:
        try:
            text = console.input("[bold cyan]you>[/bold cyan] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not text:
            continue
        if text.lower() in ("/quit", "/exit"):
            return 0
        if text.lower() == "/topics":
            choices = _topics(engine, console)
            continue
        if text.lower() in ("/help", "/start"):
            console.print(CHAT_HELP)
            continue
        started = time.perf_counter()
        if text.isdigit():
            if not 0 < int(text) <= len(choices):
                shown = f"1 to {len(choices)}" if choices else "none: nothing is numbered yet (/topics lists the topics)"
                console.print(f"No suggestion has that number (numbers shown: {shown}).", highlight=False)
                continue
            reply = dialogue.answer_intent(choices[int(text) - 1], "console")
            if reply is None:
                console.print("That topic no longer exists.")
                continue
            question = engine.kb.title(choices[int(text) - 1])
        else:
            question = text
            reply = dialogue.respond(text, "console")
        if log is not None:
            log.record(question, reply, "console", _ms(started))
        console.print(f"[bold green]bot>[/bold green] {escape(plain(reply.text))}", highlight=False)
        offered = list(reply.suggestions) + list(reply.follow_ups)
        choices = [s.intent for s in offered]
        for number, suggestion in enumerate(offered, 1):
            console.print(f"   [dim]{number}.[/dim] {escape(suggestion.title)}", highlight=False)


def _validate(root: Path, vectors: Vectors, console: Console, show_warnings: bool) -> int:
    problems = validate(root, vectors)
    errors = [p for p in problems if not p.warning]
    warnings = [p for p in problems if p.warning]
    for problem in warnings if show_warnings else []:
        console.print(f"[yellow]warning[/yellow] {escape(str(problem))}", highlight=False, soft_wrap=True)
    for problem in errors:  # errors last, next to the summary
        console.print(f"[red]error[/red] {escape(str(problem))}", highlight=False, soft_wrap=True)
    hidden = "" if show_warnings or not warnings else " (`faqbot validate --warnings` lists them)"
    if errors:
        console.print(f"{len(errors)} error(s) and {len(warnings)} warning(s) in {root}{hidden}", markup=False)
        return 1
    warned = f" ({len(warnings)} warning(s){hidden})" if warnings else ""
    console.print(f"[green]ok[/green]: knowledge base in {escape(str(root))} is valid{escape(warned)}")
    return 0


def escape(text: str) -> str:
    """`text` shown as it is when printed with markup ("[/red]" in a title is text, not a tag)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # cells are data (intent ids, categories), never markup
    return table


def _rate_row(name: str, rate: tuple[int, int]) -> tuple[str, str, str, str]:
    passed, total = rate
    return name, str(passed), str(total), f"{passed / total:.1%}"


def _eval(
    engine: Engine,
    dialogue: Dialogue,
    path: Path,
    console: Console,
    show: int,
    least: float | None = None,
    least_declined: float | None = None,
) -> int:
    """Exit status: with --min/--min-declined, 0 when every threshold given is met, else 1; without them, 0 only when every case passed."""
    evaluation = run(load_cases(path), dialogue)
    for outcome in [o for o in evaluation.outcomes if o.failure][:show]:
        console.print(f"FAIL {outcome.case.id}: {outcome.case.text!r}: {outcome.failure}", highlight=False, soft_wrap=True, markup=False)
    by_category = evaluation.by(lambda o: o.case.category).items()
    console.print(_table("Accuracy per category", ("category", "passed", "total", "rate"), [_rate_row(n, r) for n, r in by_category]))
    by_intent = evaluation.by(lambda o: o.case.intent).items()
    console.print(_table("Accuracy per expected intent", ("intent", "passed", "total", "rate"), [_rate_row(n, r) for n, r in by_intent]))
    confusions = evaluation.confusions()
    if confusions:
        rows = [(expected, got, str(count)) for (expected, got), count in confusions.most_common(15)]
        console.print(_table("Confusions (expected -> got)", ("expected", "got", "count"), rows))
    bands = [(band, str(count), f"{right:.0%}") for band, count, right in evaluation.reliability()]
    console.print(_table("Score calibration (in-scope cases)", ("score", "cases", "right intent"), bands))
    precision, recall = evaluation.out_of_scope()
    answered, declined, overall = evaluation.answered, evaluation.declined, evaluation.overall
    console.print(f"out-of-scope: precision {precision:.1%}, recall {recall:.1%}")
    console.print(
        f"overall {overall[0]}/{overall[1]} = {overall[0] / max(overall[1], 1):.1%}; "
        f"in-scope {answered[0]}/{answered[1]} = {answered[0] / max(answered[1], 1):.1%}; "
        f"out-of-scope declined {declined[0]}/{declined[1]} = {declined[0] / max(declined[1], 1):.1%}"
    )
    if least is None and least_declined is None:
        return 0 if overall[0] == overall[1] else 1
    missed = []
    for name, (passed, total), bar in (("overall", overall, least), ("out-of-scope declined", declined, least_declined)):
        rate = 100.0 * passed / total if total else 100.0
        if bar is not None and rate < bar:
            missed.append(f"{name} {rate:.1f}% < {bar:g}%")
    if missed:
        console.print(f"[red]below the threshold[/red]: {escape('; '.join(missed))}", highlight=False)
        return 1
    console.print("[green]thresholds met[/green]")
    return 0


def dispatch(args: argparse.Namespace, settings: Settings, root: Path) -> int:
    """Run `args.command` (any but `health`) on the knowledge base at `root`; the exit status."""
    try:
        if args.command == "run":
            from bot.telegram.app import run as run_bot  # here: the other commands do without python-telegram-bot

            try:
                return run_bot(settings.model_copy(update={"faqbot_kb": root}))
            except KnowledgeBaseError as exc:
                return print_problems(errors_console(), root, exc)
        from rich.console import Console

        return _command(args, settings, root, Console(stderr=False), errors_console())
    except SemanticModelError as exc:
        errors_console().print(f"faqbot: the sentence-embedding model cannot be loaded: {exc}", highlight=False, markup=False)
        return 2
    except BrokenPipeError:
        # The reader went away (`faqbot ask --jsonl ... | head -1`): stop quietly, as command-line tools do; what was
        # recorded is closed by then. Standard output is pointed at /dev/null so the exit's flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _command(args: argparse.Namespace, settings: Settings, root: Path, console: Console, errors: Console) -> int:
    if args.command == "validate":
        vectors = load_vectors(settings.faqbot_cache_dir)
        status = _validate(root, vectors, console, args.warnings)
        save_vectors(vectors, settings.faqbot_cache_dir)
        return status
    if args.command in ("report", "forget"):
        return run_maintenance_command(args, settings, root, console, errors)
    try:
        engine = cached_engine(root, settings.faqbot_cache_dir, settings.tuning())
    except KnowledgeBaseError as exc:
        return print_problems(errors, root, exc)
    dialogue = Dialogue(lambda: engine)
    with contextlib.ExitStack() as stack:
        log = None
        if getattr(args, "log", False):
            db = args.db or settings.database_path()
            try:
                log = stack.enter_context(ConsoleLog(db, settings.hash_salt(), dict(engine.kb.lexicon.symbols)))
            except LogUnavailable as exc:
                errors.print(f"faqbot: {exc} (use --db with a file path, or leave out --log)", highlight=False, markup=False)
                return 2
        status = _answer(args, engine, dialogue, console, errors, log)
        if log is not None:
            errors.print(f"recorded {log.recorded} question(s) in {log.path}", highlight=False, markup=False)
        return status


def _answer(args: argparse.Namespace, engine: Engine, dialogue: Dialogue, console: Console, errors: Console, log: ConsoleLog | None) -> int:
    """ask, chat and eval."""
    if args.command == "ask":
        if args.jsonl and args.question:
            errors.print("faqbot: ask --jsonl reads its questions from stdin: leave out the question, or --jsonl", markup=False)
            return 2
        # Bytes on stdin that are not UTF-8 are read as U+FFFD instead of ending the batch (or echoed undecodable).
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="replace")
        if args.jsonl:
            ask_jsonl(dialogue, sys.stdin, sys.stdout, args.explain, log)
            return 0
        if args.question:
            question = clean(" ".join(args.question)) or ""
        elif sys.stdin is None or sys.stdin.isatty():
            errors.print(
                "faqbot: ask needs a question, e.g. faqbot ask how much does a backend developer earn"
                " (or pipe it in, or --jsonl for JSON lines on stdin)",
                highlight=False,
                markup=False,
            )
            return 2
        else:
            # `echo "what is SQL?" | faqbot ask`: the whole input is the question, as a message would be (read up to
            # one character past the longest message read, so that a longer one still gets the "too long" reply).
            question = clean(sys.stdin.read(engine.tuning.max_input_chars + 1)) or ""
        started = time.perf_counter()
        reply = dialogue.respond(question)
        if log is not None:
            log.record(question, reply, None, _ms(started))
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
        return _chat(dialogue, engine, console, log)
    if args.command == "eval":
        try:
            return _eval(engine, dialogue, args.file, console, args.show, args.min, args.min_declined)
        except (OSError, ValueError) as exc:
            errors.print(f"faqbot: {exc}", highlight=False, markup=False)
            return 2
    return 2
