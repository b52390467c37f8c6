"""Structured logs: one `key=value` line per handled update, user ids hashed, secrets redacted.

A line looks like

    update=812 kind=text chat=private user=5f0c2a9e…(64 hex digits) intent=salary score=0.93 reply=answer latency_ms=14.2

`user` is `bot.maintenance.events.hash_user` with USER_HASH_SALT, the value the
conversation log stores in `user_hash`, so `SELECT * FROM questions WHERE user_hash = '<user>'`
finds the line's rows. The question text is added (as `text=...`) only when the level is DEBUG.

Secrets never reach the output: `protect_output` wraps stdout and stderr so every line
written (log lines, `print`s, tracebacks, warnings) has the token, its secret half, its
URL-encoded form and the webhook secret replaced by `***`; log records are redacted too.
Only the bot's own loggers follow LOG_LEVEL below WARNING: at DEBUG, python-telegram-bot logs
whole `getUpdates` payloads and `sendMessage` parameters (raw user ids, names, texts) and
aiosqlite logs INSERT parameters, so other libraries' records below WARNING are dropped.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import quote

from telegram import Update

from bot.maintenance.events import hash_user

UPDATES_LOGGER = "faqbot.updates"
_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_NOISY = ("httpx", "httpcore", "aiohttp", "apscheduler", "tornado", "telegram", "aiosqlite", "watchfiles", "asyncio")
OWN_LOGGERS = ("bot", "faqbot", "__main__")
"""Loggers that follow LOG_LEVEL all the way down; every other logger's records below WARNING are dropped."""
_SECRETS: list[str] = []


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every form in which a secret may be printed: as is, URL-encoded and, for a token, its part after the colon."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, quote(secret, safe="")})
        _bot_id, colon, key = secret.partition(":")
        if colon and len(key) >= 8:
            forms.add(key)
    return sorted(forms, key=len, reverse=True)


def redacted(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret (those given, else those `protect_output`/`configure` were given) replaced by `***`."""
    for secret in _SECRETS if secrets is None else secret_forms(secrets):
        text = text.replace(secret, "***")
    return text


class RedactingStream(io.TextIOBase):
    """A text stream writing to `inner` line by line, every line `redacted`."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _newline, self._pending = self._pending.rpartition("\n")
            self.inner.write(redacted(complete + "\n"))
            self.inner.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.inner.write(redacted(self._pending))
            self._pending = ""
        self.inner.flush()


def protect_output(secrets: Iterable[str]) -> None:
    """Redact `secrets` from everything written to stdout and stderr from now on (see the module's docstring)."""
    _SECRETS[:] = sorted(set(_SECRETS) | set(secret_forms(secrets)), key=len, reverse=True)
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)


class OwnBelowWarning(logging.Filter):
    """Lets other libraries' records through only from WARNING up (their DEBUG/INFO records carry user data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in OWN_LOGGERS


class Redact(logging.Filter):
    """Replaces every secret (e.g. the bot token) by `***` in a record's rendered message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = secret_forms(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self._secrets):
                redacted += " | " + _redact(text, self._secrets)
                record.exc_info, record.exc_text = None, None
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at `level`, redact `secrets` there and from all output, keep other libraries at WARNING."""
    secrets = list(secrets)
    protect_output(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(OwnBelowWarning())
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet()


def quiet() -> None:
    """Raise other libraries' loggers to WARNING: at INFO httpx logs request URLs (with the token), at DEBUG PTB logs payloads."""
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class UpdateRecord:
    """What a handler found out while handling one update; logged when it is done."""

    kind: str
    intent: str | None = None
    score: float | None = None
    reply: str | None = None
    text: str | None = None
    note: str | None = None


class UpdateLogger:
    """Writes the one line per handled update."""

    def __init__(self, salt: str, logger: logging.Logger | None = None) -> None:
        self._salt = salt
        self.logger = logger or logging.getLogger(UPDATES_LOGGER)

    def user(self, user_id: int | None) -> str:
        """The user as the conversation log stores it (`hash_user`), or '-' when there is no user."""
        return "-" if user_id is None else hash_user(user_id, self._salt)

    @contextmanager
    def update(self, update: Update, kind: str) -> Iterator[UpdateRecord]:
        """Time the handling of `update` and log its line at the end (also when the handler fails)."""
        started = time.perf_counter()
        record = UpdateRecord(kind)
        outcome = "ok"
        try:
            yield record
        except BaseException as exc:
            outcome = f"error:{type(exc).__name__}"
            raise
        finally:
            latency = (time.perf_counter() - started) * 1000
            self.logger.info("%s", self.line(update, record, latency, outcome))

    def line(self, update: Update, record: UpdateRecord, latency_ms: float, outcome: str = "ok") -> str:
        chat = update.effective_chat
        user = update.effective_user
        chat_type = chat.type if chat is not None else ("inline" if update.inline_query is not None else "-")
        fields: list[tuple[str, object]] = [
            ("update", update.update_id),
            ("kind", record.kind),
            ("chat", chat_type),
            ("user", self.user(user.id if user is not None else None)),
            ("intent", record.intent or "-"),
            ("score", "-" if record.score is None else f"{record.score:.2f}"),
            ("reply", record.reply or "-"),
            ("latency_ms", f"{latency_ms:.1f}"),
        ]
        if outcome != "ok":
            fields.append(("outcome", outcome))
        if record.note:
            fields.append(("note", record.note))
        if record.text is not None and self.logger.isEnabledFor(logging.DEBUG):
            fields.append(("text", repr(record.text[:200])))
        return " ".join(f"{key}={value}" for key, value in fields)
