"""The `faqbot` command: ask, chat, validate, eval, report, forget, health (and run, for Telegram).

This module parses the command line and validates the settings; `health` is answered here, every
other command by `bot.cli.commands`, imported only then.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.cli.consoles import errors_console
from bot.settings import Settings, setting_problems
from bot.telegram.heartbeat import health_problem, heartbeat_path


def _duration(text: str) -> float:
    from bot.maintenance.report import parse_duration  # here: `health` does without the report's imports

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from exc
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage is between 0 and 100: {text!r}")
    return value


CASE_FORMAT = """\
case file: one JSON object per line:
  {"id": "salary-1", "category": "paraphrase", "text": "how much do backend devs earn?",
   "want": "answer", "intent": "salary", "expect": [["30", "thirty"]], "forbid": ["nurse"]}
  want: answer | smalltalk | decline; intent (optional): the intent expected; expect: groups of
  words, each group needs one of its words in the answer; forbid: words the answer must not contain;
  conversation (optional): cases with the same id share dialogue context, in file order.
exit status: with --min/--min-declined, 0 when the thresholds are met, else 1; without them,
  0 only when every case passes; 2 for an unreadable case file."""


def _version() -> str:
    from importlib import metadata  # here: 20 ms that `health` does without

    try:
        return metadata.version("faqbot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's default after its help (unless the help names it: settings-based defaults, or a flag);
    descriptions and epilogs printed as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="faqbot",
        description="A FAQ bot about the backend developer profession: answer in the console, run on Telegram, maintain the knowledge.",
        epilog="Settings come from environment variables (see README.md). `faqbot COMMAND --help` describes a command.",
        formatter_class=_Help,
    )
    top.add_argument("--version", action="version", version=f"faqbot {_version()}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    kb_help = "folder holding intents/ and content/ (default: FAQBOT_KB, else the project's own)"
    log_help = "record every reply in the conversation log, as the bot does, for `faqbot report` (default: off)"
    db_help = "the conversation log (default: FAQBOT_DATA_DIR/faqbot.sqlite3)"

    def command(name: str, helptext: str, epilog: str | None = None) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=helptext, description=helptext, epilog=epilog, formatter_class=_Help)

    ask = command("ask", "answer a question (or JSON lines on stdin with --jsonl)")
    ask.add_argument("question", nargs="*", help="the question (several words need no quotes; left out: read from stdin)")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON (default: plain text)")
    ask.add_argument(
        "--jsonl",
        action="store_true",
        help='batch mode: {"conversation", "text"} lines on stdin, one JSON line out each (default: one question from the arguments)',
    )
    ask.add_argument("--explain", action="store_true", help="show the decision, its reason and the parts of the score (default: off)")
    ask.add_argument("--log", action="store_true", help=log_help)
    ask.add_argument("--db", type=Path, default=None, help=db_help)
    chat = command("chat", "talk to the bot in the console (a number picks a suggestion, /topics lists the topics)")
    chat.add_argument("--log", action="store_true", help=log_help)
    chat.add_argument("--db", type=Path, default=None, help=db_help)
    check = command("validate", "check intents/ and content/ (exit status 1 on errors; warnings do not fail)")
    check.add_argument("--warnings", action="store_true", help="list the warnings: near ties, topics in no menu (default: count them)")
    evaluate = command("eval", "run an evaluation file and print accuracy", CASE_FORMAT)
    evaluate.add_argument("file", type=Path, help="the case file (JSON lines, see below), e.g. tests/eval/cases.jsonl")
    evaluate.add_argument("--show", type=int, default=20, help="how many failures to list")
    evaluate.add_argument(
        "--min",
        type=_percent,
        default=None,
        metavar="PERCENT",
        help="exit 0 when at least this share of cases passes (default: no threshold)",
    )
    evaluate.add_argument(
        "--min-declined",
        type=_percent,
        default=None,
        metavar="PERCENT",
        help="exit 0 when at least this share of off-topic cases is declined (default: no threshold)",
    )
    command(
        "run",
        "run the Telegram bot (TELEGRAM_BOT_TOKEN; polling or webhook per MODE)",
        "exit status: 0 after a clean stop (SIGINT/SIGTERM); 1 when the Bot API cannot be reached at start-up\n"
        "or the webhook port cannot be opened; 2 when the token is missing, malformed or rejected, or a setting is invalid.",
    )
    report = command("report", "unanswered questions grouped by meaning, what to do with each, and statistics per intent")
    report.add_argument("--since", type=_duration, default="7d", help="period to cover, e.g. 30m, 24h, 7d")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    report.add_argument(
        "--suggest", action="store_true", help="write the suggested phrasings, new intents and off-topic questions as YAML (default: off)"
    )
    report.add_argument("--out", type=Path, default=None, help="write to this file (default: stdout)")
    report.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="answers scoring below this count as low-confidence (default: FAQBOT_REPORT_THRESHOLD)",
    )
    report.add_argument("--db", type=Path, default=None, help=db_help)
    for name in ("ask", "chat", "validate", "eval", "run", "report"):
        commands.choices[name].add_argument("--kb", type=Path, default=None, help=kb_help)
    forget = command("forget", "delete every record of one Telegram user (privacy request)")
    forget.add_argument("user_id", type=int, help="the user's numeric Telegram id")
    forget.add_argument("--db", type=Path, default=None, help=db_help)
    command(
        "health",
        "exit 0 if the running bot's heartbeat file (FAQBOT_DATA_DIR/heartbeat) is fresh, else say why and exit 1 (Docker HEALTHCHECK)",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 0
    try:
        settings = Settings()
    except ValidationError as exc:
        errors = errors_console()
        problems = setting_problems(exc)
        errors.print(f"faqbot: {len(problems)} invalid setting(s):", highlight=False, markup=False)
        for problem in problems:
            errors.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
        return 2
    if args.command == "health":
        return _health(settings)
    from bot.cli.commands import dispatch

    root: Path = getattr(args, "kb", None) or settings.faqbot_kb
    return dispatch(args, settings, root)


def _health(settings: Settings) -> int:
    """0 when the running bot's heartbeat is fresh; else say why on standard error, and 1."""
    problem = health_problem(heartbeat_path(settings.faqbot_data_dir))
    if problem is None:
        print("healthy")
        return 0
    errors_console().print(f"faqbot: unhealthy: {problem}", highlight=False, soft_wrap=True, markup=False)
    return 1


if __name__ == "__main__":
    sys.exit(main())
