"""`faqbot report` and `faqbot forget`: the conversation log's commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.problems import print_problems
from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBaseError
from bot.maintenance.report import Report, render_table, suggest_yaml, to_csv, to_json
from bot.maintenance.services import intent_examples, kb_report
from bot.maintenance.storage import SaltMismatch, Store
from bot.maintenance.vector_cache import cached_engine
from bot.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console


def run_maintenance_command(args: argparse.Namespace, settings: Settings, root: Path, console: Console, errors: Console) -> int:
    """`faqbot report` and `faqbot forget` (see `bot.cli.parser`)."""
    db: Path = args.db or settings.database_path()
    if warning := settings.salt_warning():
        errors.print(f"faqbot: warning: {warning}", highlight=False, markup=False)
    if args.command == "forget":
        if not db.exists():
            console.print(f"No conversation log at {db}: nothing stored, nothing to delete.", highlight=False, markup=False)
            return 0
        try:
            deleted = asyncio.run(_forget(db, _salt(settings, db), args.user_id))
        except SaltMismatch as exc:
            errors.print(f"faqbot: nothing deleted: {exc}", highlight=False, markup=False)
            return 1
        console.print(f"Deleted {deleted} record(s) of user {args.user_id} from {db}.", highlight=False, markup=False)
        return 0
    if not db.exists():
        errors.print(
            f"faqbot: no conversation log at {db} (has the bot run here? set FAQBOT_DATA_DIR or use --db)", highlight=False, markup=False
        )
        return 1
    try:
        engine = cached_engine(root, settings.faqbot_cache_dir, settings.tuning())
    except KnowledgeBaseError as exc:
        return print_problems(errors, root, exc)
    kb = engine.kb
    threshold = settings.faqbot_report_threshold if args.threshold is None else args.threshold
    report = asyncio.run(_report(db, _salt(settings, db), engine, time.time() - args.since, threshold, settings.faqbot_report_similarity))
    if args.suggest:
        text = suggest_yaml(report, intent_examples(kb))
    elif args.format == "csv":
        text = to_csv(report)
    elif args.format == "json":
        text = to_json(report)
    else:
        if args.out is None:
            render_table(report, console)
            return 0
        with args.out.open("w", encoding="utf-8") as handle:
            from rich.console import Console

            render_table(report, Console(file=handle, width=200, no_color=True))
        return 0
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        errors.print(f"wrote {args.out}", highlight=False, markup=False)
    return 0


def _salt(settings: Settings, db: Path) -> str:
    """USER_HASH_SALT, else the salt the bot generated (kept next to the default database, or next to `--db`)."""
    if settings.user_hash_salt is None and db != settings.database_path():
        settings = settings.model_copy(update={"faqbot_data_dir": db.parent})
    return settings.hash_salt()


async def _forget(db: Path, salt: str, user_id: int) -> int:
    async with Store(db, salt) as store:
        return await store.forget(user_id)


async def _report(db: Path, salt: str, engine: Engine, since: float, threshold: float, similarity: float) -> Report:
    """The report, grouped by the meaning the engine's sentence vectors give."""
    async with Store(db, salt) as store:
        return await kb_report(store, engine.kb, since, None, threshold, similarity, engine)
