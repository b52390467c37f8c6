"""Every update handled once: parsed, skipped when already handled, processed in per-chat order, confirmed when done.

python-telegram-bot's Updater confirms updates to Telegram (the `getUpdates` offset) as
soon as it has fetched them, so a crash or a stop lost whatever was fetched and not yet
answered. Here the offset only moves past an update once it is *handled*: its handlers
returned (answered, or deliberately dropped after the retries of `bot.telegram.sending`)
and, when the conversation log is open, the update id is committed to it
(`UpdateLedger.mark_handled`, in the same transaction as the update's log rows; while the
log cannot be written, e.g. on a full disk, the id is queued and not waited for). A
restarted bot gets the unconfirmed updates again and skips those the ledger already holds.

Delivery guarantee (chosen deliberately): **at least once**. An update answered in the few
milliseconds before its id is committed, and killed there (`kill -9`, power loss, the end of
a stop's grace period), is answered again after the restart; a `sendMessage` whose answer
arrives after the client timeout is retried and may be sent twice. A rare duplicate answer
was preferred to a rare unanswered question.

An update that cannot be parsed (e.g. a message without `date`) is logged once, by id and
reason (never its content), and skipped: it is confirmed like a handled one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.maintenance.events import UpdateLedger

_LOG = logging.getLogger(__name__)
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
RECENT = 4096
"""Handled update ids remembered in memory (beyond the durable ledger), to skip a re-sent update cheaply."""


@dataclass(frozen=True)
class Accepted:
    """What `Delivery.accept` did with a batch of raw updates."""

    started: int
    """Updates now being handled."""
    skipped: int
    """Already handled (in this run or, per the ledger, an earlier one) or being handled."""
    dropped: int
    """Could not be parsed: logged and skipped."""


class Delivery:
    """Runs raw Bot API updates through the application's handlers and knows which ones are done.

    `ledger()` returns the durable record of handled updates, or None (then handled ids are
    only remembered in memory). `offset()` is what `getUpdates` may confirm: the lowest id
    still being handled, else one past the highest id seen.
    """

    def __init__(
        self,
        app: AnyApplication,
        processor: BaseUpdateProcessor,
        ledger: Callable[[], UpdateLedger | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.processor = processor
        self._ledger = ledger
        self._clock = clock
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._next: int | None = None
        self._floor: int | None = None
        """The lowest update whose handling a stop cancelled: nothing from it on may be confirmed."""
        self._changed = asyncio.Event()
        self.last_progress = clock()
        """When an update was last finished (or work started after an idle spell)."""
        self.last_fetch: float | None = None
        """When the update source last delivered a good answer (polling: a `getUpdates` with ok: true)."""
        self.source_alive: Callable[[], bool] | None = None
        """Set by a webhook server: whether it is listening (polling leaves it None and sets `last_fetch`)."""
        self.handled = 0
        self.dropped = 0
        self.skipped = 0

    # --- state ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def offset(self) -> int | None:
        """The `getUpdates` offset: every update below it is handled (None before the first update)."""
        candidates = [min(self._in_flight)] if self._in_flight else []
        if self._floor is not None:
            candidates.append(self._floor)
        return min(candidates) if candidates else self._next

    def healthy(self, stale_after: float) -> bool:
        """Updates are being fetched and handled: the source answered within `stale_after` seconds (a
        webhook: `source_alive()`) or work is under way, and no update has been under way that long
        without any update finishing."""
        now = self._clock()
        if self._in_flight and now - self.last_progress >= stale_after:
            return False
        if self.source_alive is not None:
            alive = self.source_alive()
        else:
            alive = self.last_fetch is not None and now - self.last_fetch < stale_after
        return alive or bool(self._in_flight)

    async def changed(self) -> None:
        """Wait until an update is finished."""
        self._changed.clear()
        await self._changed.wait()

    # --- intake --------------------------------------------------------------------------

    async def accept(self, raw_updates: Sequence[object]) -> Accepted:
        """Start handling the updates of one `getUpdates` answer (in order) that are not handled or under way."""
        fresh: list[tuple[int, dict[str, Any]]] = []
        batch: set[int] = set()
        skipped = dropped = 0
        for raw in raw_updates:
            update_id = _update_id(raw)
            if update_id is None or not isinstance(raw, dict):
                dropped += 1
                _LOG.warning("skipped an update without a valid update_id")
                continue
            self._see(update_id)
            if update_id in self._in_flight or update_id in self._recent or update_id in batch:
                skipped += 1  # (the same id twice in one answer would otherwise be handled twice, the first copy untracked)
                continue
            batch.add(update_id)
            fresh.append((update_id, raw))
        known = await self._known([update_id for update_id, _raw in fresh])
        started = 0
        for update_id, raw in fresh:
            if update_id in known:
                skipped += 1
                self._remember(update_id)
                continue
            update = self._parse(update_id, raw)
            if update is None:
                dropped += 1
                self._remember(update_id)
                continue
            self._start(update_id, update)
            started += 1
        self.skipped += skipped
        self.dropped += dropped
        if skipped or dropped:
            self._changed.set()
        return Accepted(started, skipped, dropped)

    async def deliver(self, raw: object) -> None:
        """Handle one update (webhook): return once it is handled, dropped or found already handled.

        Raises asyncio.CancelledError when a stop cancelled its handling (it is then not handled).
        """
        update_id = _update_id(raw)
        if update_id is not None and update_id not in self._in_flight:
            await self.accept([raw])
        elif update_id is None:
            self.dropped += 1
            _LOG.warning("skipped an update without a valid update_id")
            return
        task = self._in_flight.get(update_id)
        if task is not None:
            await asyncio.shield(task)
            if task.cancelled():
                raise asyncio.CancelledError

    async def drain(self, within: float) -> int:
        """Wait up to `within` seconds for the updates under way; cancel the rest (left unhandled: Telegram re-sends them).

        Returns how many were cancelled.
        """
        tasks = list(self._in_flight.values())
        if not tasks:
            return 0
        _done, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            _LOG.warning("stopped with %d update(s) unanswered: Telegram will send them again", len(pending))
        return len(pending)

    # --- internals -----------------------------------------------------------------------

    def _see(self, update_id: int) -> None:
        if self._next is None or update_id >= self._next:
            self._next = update_id + 1

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        self._recent.move_to_end(update_id)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    async def _known(self, update_ids: list[int]) -> set[int]:
        ledger = self._ledger()
        if ledger is None or not update_ids:
            return set()
        try:
            return await ledger.handled_among(update_ids)
        except Exception:
            _LOG.exception("cannot read the handled updates: handling %d update(s) without checking", len(update_ids))
            return set()

    def _parse(self, update_id: int, raw: dict[str, Any]) -> Update | None:
        try:
            return Update.de_json(raw, self.app.bot)
        except Exception as exc:
            kinds = ",".join(sorted(k for k in raw if k != "update_id"))[:100]
            _LOG.warning("update=%d cannot be parsed (%s, fields %s): skipped", update_id, type(exc).__name__, kinds or "-")
            return None

    def _start(self, update_id: int, update: Update) -> None:
        if not self._in_flight:
            self.last_progress = self._clock()
        task = asyncio.get_running_loop().create_task(self._handle(update_id, update), name=f"faqbot-update-{update_id}")
        self._in_flight[update_id] = task

    async def _handle(self, update_id: int, update: Update) -> None:
        work = self.app.process_update(update)
        try:
            await self.processor.process_update(update, work)
        except asyncio.CancelledError:
            work.close()  # never started, or already ended by the cancellation
            # Cancelled at a stop: not handled, so the offset must never move past it.
            self._floor = update_id if self._floor is None else min(self._floor, update_id)
            self._in_flight.pop(update_id, None)
            raise
        except Exception:
            _LOG.exception("update=%d: handling failed outside the handlers; dropped", update_id)
        ledger = self._ledger()
        if ledger is not None:
            with contextlib.suppress(Exception):  # a failed write is logged by the ledger
                await ledger.mark_handled(update_id)
        self._in_flight.pop(update_id, None)
        self._remember(update_id)
        self.handled += 1
        self.last_progress = self._clock()
        self._changed.set()


def _update_id(raw: object) -> int | None:
    if isinstance(raw, dict):
        value = raw.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
