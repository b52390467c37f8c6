"""The plain async functions behind the admin commands and `faqbot report`.

The Telegram layer checks that the sender is an admin and then calls `stats_text`
(/stats), `reload_text` (/reload), `report_for_chat` (/report) or `Recorder.forget`
(/forgetme, for any user); the texts returned are plain text (send them without a
parse mode). Nothing here knows about Telegram.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bot.engine.core import Engine
from bot.engine.knowledge import KnowledgeBase
from bot.maintenance.events import Recorder
from bot.maintenance.reload import Reloader
from bot.maintenance.report import (
    DEFAULT_SIMILARITY,
    DEFAULT_THRESHOLD,
    Keys,
    Meaning,
    Report,
    action,
    build_report,
    summary_text,
    to_csv,
)

WEEK = 7 * 86400.0


@dataclass(frozen=True)
class Document:
    """A file to send (e.g. the report as CSV)."""

    filename: str
    content: bytes
    caption: str
    groups: int = 0
    """How many groups of unanswered questions it lists (0: nothing worth sending)."""


def intent_titles(kb: KnowledgeBase) -> dict[str, str]:
    return {intent.id: intent.title for intent in kb.intents.values()}


def intent_examples(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """Every intent's examples, and the negative examples under `_out_of_scope`."""
    return {intent.id: intent.examples for intent in kb.intents.values()} | {"_out_of_scope": tuple(kb.out_of_scope)}


def grouping_key(kb: KnowledgeBase) -> Keys:
    """Group questions on their meaningful words, with the knowledge base's stop words and synonyms."""
    return Keys(kb.lexicon.stopwords, kb.lexicon.synonyms, kb.lexicon.symbols)


def meaning(engine: Engine) -> Meaning | None:
    """The engine's sentence vectors and the centre of its answer topics, for the report (None without vectors)."""
    vectors = engine.vectors
    if vectors is None:
        return None
    examples = [e for intent in engine.kb.intents.values() if intent.kind in ("answer", "uncovered") for e in intent.examples]
    centre = vectors.examples(examples).mean(axis=0) if examples else None
    if centre is not None:
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    return Meaning(vectors.embedder.embed, centre)


async def kb_report(
    store: Recorder,
    kb: KnowledgeBase,
    since: float,
    until: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    similarity: float = DEFAULT_SIMILARITY,
    engine: Engine | None = None,
) -> Report:
    """`build_report` with the intents, titles and grouping key of `kb`; with `engine`, grouped by the meaning its
    sentence vectors give and triaged at its policy's levels."""
    if engine is None:
        return await build_report(store, intent_titles(kb), since, until, threshold, similarity, grouping_key(kb))
    return await build_report(
        store,
        intent_titles(kb),
        since,
        until,
        threshold,
        similarity,
        grouping_key(kb),
        meaning=meaning(engine),
        near=engine.tuning.suggest,
        margin=engine.tuning.off_topic_margin,
    )


async def stats_text(
    store: Recorder,
    kb: KnowledgeBase,
    now: float | None = None,
    groups: int = 5,
    threshold: float = DEFAULT_THRESHOLD,
    similarity: float = DEFAULT_SIMILARITY,
    engine: Engine | None = None,
) -> str:
    """/stats: questions today and in 7 days, fallback rate, top intents, top unanswered groups (see `kb_report`)."""
    now = time.time() if now is None else now
    stats = await store.stats(now)
    report = await kb_report(store, kb, now - WEEK, now + 1e-6, threshold, similarity, engine)
    lines = [
        f"Questions today: {stats.questions_today}; last 7 days: {stats.questions_week}.",
        f"Fallback rate (7 days): {stats.fallback_rate:.0%} ({stats.fallbacks_week}).",
    ]
    if stats.top_intents:
        lines.append(
            "Top intents: "
            + ", ".join(f"{kb.intents[t.intent].title if t.intent in kb.intents else t.intent} ({t.count})" for t in stats.top_intents)
            + "."
        )
    if report.groups:
        lines.append("Top unanswered (7 days):")
        for rank, group in enumerate(report.groups[:groups], 1):
            lines.append(f"{rank}. {group.count}× “{group.representative}” → {action(group)}")
    return "\n".join(lines)


async def reload_text(reloader: Reloader) -> str:
    """/reload: reload now and say how it went (errors, if any, also go to `on_error`)."""
    return (await reloader.reload("/reload")).summary()


async def report_for_chat(
    store: Recorder,
    kb: KnowledgeBase,
    since: float = WEEK,
    now: float | None = None,
    limit: int = 10,
    threshold: float = DEFAULT_THRESHOLD,
    similarity: float = DEFAULT_SIMILARITY,
    engine: Engine | None = None,
) -> tuple[str, Document]:
    """/report: the unanswered groups of the last `since` seconds as a short message and as a CSV document."""
    now = time.time() if now is None else now
    report = await kb_report(store, kb, now - since, now + 1e-6, threshold, similarity, engine)
    day = time.strftime("%Y-%m-%d", time.localtime(now))
    document = Document(
        f"faqbot-report-{day}.csv",
        to_csv(report).encode("utf-8"),
        f"{len(report.groups)} groups of unanswered questions; per-intent statistics below them",
        len(report.groups),
    )
    return summary_text(report, limit), document
