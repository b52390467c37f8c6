"""Hot reload of the knowledge base: on file changes (watchfiles), on SIGHUP, or on request (/reload).

A reload runs every check of `faqbot validate` on the files as they are now, building
the new engine at the same time (in a worker thread, so the bot keeps answering). If
anything is wrong the engine in service stays, the problems are logged and handed to
`on_error` (to tell the admins); otherwise the new engine, complete, replaces the old
one in one step (`EngineHolder.swap`): a question is answered by the old or the new
knowledge base, never by a half-loaded one.

How long a reload takes is measured by `benchmarks` (see benchmarks/README.md): with
every check of `faqbot validate` (`check_confusions=True`, the default) it takes several
times as long as with the loading checks only (the confusion check matches every example),
unless nothing it reads changed since the last reload that passed it (an answer or a message
reworded): its verdict is then the same and is not worked out again (`PassedChecks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, awatch

from bot.engine.core import Engine, EngineHolder
from bot.engine.knowledge import KnowledgeBaseError, Problem
from bot.maintenance.memory import release_free_memory
from bot.maintenance.validate import PassedChecks, validated_engine
from bot.maintenance.vector_cache import save_vectors

log = logging.getLogger(__name__)

WATCHED_SUFFIXES = (".yaml", ".yml", ".md")
CONFIGMAP_DATA = "..data"
"""The symlink a Kubernetes ConfigMap volume swaps to publish a new version of its files."""


@dataclass(frozen=True)
class ReloadResult:
    """What one reload did."""

    ok: bool
    """True: the new knowledge base is in service. False: the previous one still is."""
    trigger: str
    """What asked for it: "watch", "SIGHUP", "/reload", "manual"..."""
    duration: float
    """Seconds from the start of validation to the swap (or to the refusal)."""
    intents: int
    """Intents in service after the reload."""
    problems: tuple[Problem, ...] = ()
    """Errors (and warnings) when refused; warnings only when accepted (e.g. a new intent in no menu group yet)."""

    def summary(self, limit: int = 10) -> str:
        """A short plain-text account, e.g. for an admin message."""
        if self.ok:
            done = f"Knowledge base reloaded ({self.trigger}): {self.intents} intents, in {self.duration:.2f} s."
            return "\n".join([done, *(f"- warning: {problem}" for problem in self.problems[:limit])])
        lines = [
            f"Reload refused ({self.trigger}): {len(self.problems)} problem(s); still serving the previous knowledge base "
            f"({self.intents} intents)."
        ]
        lines += [f"- {problem}" for problem in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"… and {len(self.problems) - limit} more (run `faqbot validate`).")
        return "\n".join(lines)


OnError = Callable[[ReloadResult], Awaitable[None] | None]


class Reloader:
    """Reloads the knowledge base under `root` into `holder`. Reloads never overlap: a request waits for the running one."""

    def __init__(
        self,
        root: Path,
        holder: EngineHolder,
        on_error: OnError | None = None,
        *,
        check_confusions: bool = True,
        settle_ms: int = 300,
        force_polling: bool | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.holder = holder
        self.on_error = on_error
        self.check_confusions = check_confusions
        self.settle_ms = settle_ms
        self.force_polling = force_polling
        self.cache_dir = cache_dir
        """Where the embedding cache lives: a reload that embedded new phrasings saves it there."""
        self.last: ReloadResult | None = None
        self._passed = PassedChecks()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[ReloadResult]] = set()
        self._sighup_loop: asyncio.AbstractEventLoop | None = None
        self.watching = asyncio.Event()
        """Set once `watch` has started its folder watcher: an edit made from then on is seen."""

    def _build(self) -> Engine:
        """Validate and build with the serving engine's embedder (it remembers every example already embedded)."""
        current = self.holder.get()
        engine = validated_engine(self.root, current.vectors, current.tuning, self.check_confusions, self._passed)
        if engine.vectors is not None and self.cache_dir is not None:
            save_vectors(engine.vectors, self.cache_dir)
        return engine

    async def reload(self, trigger: str = "manual") -> ReloadResult:
        """Validate and build the knowledge base in a worker thread; swap it in if it is sound, else keep the old one."""
        async with self._lock:
            started = time.perf_counter()
            try:
                engine = await asyncio.to_thread(self._build)
            except KnowledgeBaseError as exc:
                problems = tuple(exc.problems)
            except Exception as exc:  # a bug must not take the bot down with it: keep serving
                log.exception("reload (%s) failed unexpectedly", trigger)
                problems = (Problem(str(self.root), f"unexpected error: {type(exc).__name__}: {exc}"),)
            else:
                self.holder.swap(engine)
                result = ReloadResult(True, trigger, time.perf_counter() - started, len(engine.kb.intents), engine.kb.warnings)
                log.info("%s", result.summary())
                self.last = result
                del engine
                await asyncio.to_thread(release_free_memory)  # the build's garbage, and the old engine once unused
                return result
            result = ReloadResult(False, trigger, time.perf_counter() - started, len(self.holder.get().kb.intents), problems)
            log.error("%s", result.summary(limit=50))
            self.last = result
            await asyncio.to_thread(release_free_memory)
        await self._report(result)
        return result

    async def _report(self, result: ReloadResult) -> None:
        if self.on_error is None:
            return
        try:
            outcome = self.on_error(result)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("the reload error callback failed")

    def request(self, trigger: str) -> asyncio.Task[ReloadResult]:
        """Start a reload in the background (e.g. from a signal handler); the task is kept until done."""
        task = asyncio.get_running_loop().create_task(self.reload(trigger), name=f"faqbot-reload-{trigger}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def watch(self, stop_event: asyncio.Event) -> None:
        """Reload whenever a .yaml/.yml/.md file under intents/ or content/ changes, until `stop_event` is set.

        Changes are gathered until none has come for `settle_ms` (an editor saving several
        files, a `git pull`), then one reload runs. The root is watched too, so a folder that is
        deleted and created again (or appears later) is watched anew, followed by a reload; a
        Kubernetes ConfigMap update (its `..data` symlink swapped to a new directory) is a change.
        """
        if not self.root.is_dir():
            log.warning("nothing to watch: %s is not a folder", self.root)
            return
        try:
            while not stop_event.is_set():
                folders = {folder for folder in (self.root / "intents", self.root / "content") if folder.is_dir()}
                if not folders:
                    log.warning("no intents/ or content/ under %s yet: watching for them", self.root)
                else:
                    log.info("watching %s for changes", ", ".join(str(f) for f in sorted(folders)))
                regrouped = await self._watch_folders(folders, stop_event)
                if regrouped and not stop_event.is_set():
                    await self.reload("watch")
        finally:
            self.watching.clear()

    async def _watch_folders(self, folders: set[Path], stop_event: asyncio.Event) -> bool:
        """Reload on changes in `folders` until one of intents/ or content/ comes or goes (return True) or `stop_event`."""
        names = (self.root / "intents", self.root / "content")

        def relevant(change: Change, path: str) -> bool:
            where = Path(path)
            if where in names:
                return True  # a folder itself came or went
            if where.parent not in folders:
                return False
            return where.name == CONFIGMAP_DATA or (where.name.endswith(WATCHED_SUFFIXES) and not where.name.startswith("."))

        changes_stream = awatch(
            self.root,
            *sorted(folders),
            stop_event=stop_event,
            step=self.settle_ms,
            debounce=max(1600, 4 * self.settle_ms),
            watch_filter=relevant,
            force_polling=self.force_polling,
            recursive=False,
        )
        # awatch installs its watcher when first stepped, before its first await: one turn of
        # the loop after the first step is scheduled, edits are seen.
        next_changes = asyncio.ensure_future(anext(changes_stream))
        await asyncio.sleep(0)
        if not next_changes.done() or next_changes.exception() is None:  # not failed at the start (e.g. no inotify watches left)
            self.watching.set()
        try:
            while True:
                try:
                    changes = await next_changes
                except StopAsyncIteration:
                    return False
                if stop_event.is_set():
                    return False
                paths = {Path(path) for _, path in changes}
                log.info("knowledge base files changed: %s", ", ".join(sorted(p.name for p in paths)))
                if paths & set(names) and {folder for folder in names if folder.is_dir()} != folders:
                    return True
                await self.reload("watch")
                next_changes = asyncio.ensure_future(anext(changes_stream))
        finally:
            next_changes.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):  # an error is raised above
                await next_changes
            await changes_stream.aclose()

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """Reload on SIGHUP (`kill -HUP <pid>`). Return False where signals cannot be handled (Windows, not the main thread)."""
        loop = loop or asyncio.get_running_loop()
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None:
            return False
        try:
            loop.add_signal_handler(sighup, self.request, "SIGHUP")
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        self._sighup_loop = loop
        return True

    def remove_sighup(self) -> None:
        sighup = getattr(signal, "SIGHUP", None)
        if self._sighup_loop is not None and sighup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._sighup_loop.remove_signal_handler(sighup)
        self._sighup_loop = None
