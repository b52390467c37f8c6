"""A fake Telegram Bot API HTTP server on 127.0.0.1, with fault injection.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for httpx and aiohttp, and
implements the methods the bot uses: getMe, deleteWebhook, setWebhook, getUpdates
(long polling with offset and timeout), sendMessage, answerCallbackQuery,
answerInlineQuery, editMessageReplyMarkup, setMyCommands, sendDocument (multipart uploads).

Faults are queued per method and each one is consumed by one request:
`Fault.status(429, retry_after=1)`, `Fault.status(500)`, `Fault.slow(2.0)` (answer
nothing for that long, then hang up: the request is not carried out, as when a
request times out before reaching Telegram), `Fault.late(2.0)` (carry the request out,
then answer that late: the client may time out and retry), `Fault.not_ok()` (HTTP 200
with `{"ok": false}`) and `Fault.drop()` (hang up at once).

`storm(method, fault)` applies a fault to every request of a method until `storm(method, None)`;
`hold(method, after=n)` carries out `n` more requests of a method and leaves the next ones
hanging, not carried out, until `release(method)` (then they are hung up on).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = dict[str, Any]
_JSON_PARAMS = {"reply_markup", "entities", "results", "commands", "reply_parameters", "allowed_updates", "button", "link_preview_options"}
_INT_PARAMS = {"chat_id", "message_id", "offset", "timeout", "limit", "cache_time", "message_thread_id", "max_connections"}
_BOOL_PARAMS = {"show_alert", "is_personal", "drop_pending_updates"}


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0

    @staticmethod
    def status_code(status: int, retry_after: int | None = None) -> Fault:
        return Fault("status", status, retry_after)

    @staticmethod
    def slow(delay: float) -> Fault:
        return Fault("slow", delay=delay)

    @staticmethod
    def drop() -> Fault:
        return Fault("drop")

    @staticmethod
    def late(delay: float) -> Fault:
        return Fault("late", delay=delay)

    @staticmethod
    def not_ok() -> Fault:
        return Fault("not_ok", status=200)


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart/form-data request."""

    filename: str | None
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    method: str
    params: JSON
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI:
    """The server. `base_url` is what TELEGRAM_API_URL should be set to."""

    def __init__(self, token: str, bot_user: JSON) -> None:
        self.token = token
        self.bot_user = bot_user
        self.port = 0
        self.calls: list[ApiCall] = []
        """Requests that were carried out (faulted ones are not)."""
        self.attempts: dict[str, int] = {}
        """Every request received, per method, faulted or not."""
        self.sent: list[JSON] = []
        self.uploads: list[Upload] = []
        """Files received by sendDocument (multipart/form-data)."""
        self.webhook: JSON | None = None
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._next_message_id = 100
        self._chats: dict[int, JSON] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._storms: dict[str, Fault] = {}
        self._holds: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = False

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def __aenter__(self) -> FakeBotAPI:
        """`async with FakeBotAPI(...) as api`: started on entry, stopped on exit."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Close the listener, wake long polls, hang up on every client and wait for their handlers to end."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        async with self._changed:
            self._changed.notify_all()
        for writer in list(self._writers):
            writer.close()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    # --- test controls -----------------------------------------------------------------------

    def push(self, update: JSON) -> JSON:
        """Queue an update for getUpdates (an update_id is assigned if it has none)."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        for key in ("message", "edited_message"):
            if key in update:
                chat = update[key]["chat"]
                self._chats[chat["id"]] = chat
        if "callback_query" in update and "message" in update["callback_query"]:
            chat = update["callback_query"]["message"]["chat"]
            self._chats[chat["id"]] = chat
        self._updates.append(update)
        self._notify()
        return update

    def inject(self, method: str, *faults: Fault) -> None:
        self._faults.setdefault(method, deque()).extend(faults)

    def storm(self, method: str, fault: Fault | None) -> None:
        """Fault every request of `method` from now on (None: stop)."""
        if fault is None:
            self._storms.pop(method, None)
        else:
            self._storms[method] = fault

    def hold(self, method: str, after: int = 0) -> None:
        """Carry out `after` more requests of `method`, then leave the next ones hanging (not carried out)."""
        self._holds[method] = after

    def release(self, method: str) -> None:
        """End a hold: the hanging requests are hung up on (not carried out); later ones are carried out."""
        self._holds.pop(method, None)
        self._notify()

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def sent_per_chat(self) -> dict[int, int]:
        """How many messages were sent to each chat."""
        counts: dict[int, int] = {}
        for message in self.sent:
            counts[message["chat"]["id"]] = counts.get(message["chat"]["id"], 0) + 1
        return counts

    def pending_faults(self, method: str) -> int:
        return len(self._faults.get(method, ()))

    def of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages_to(self, chat_id: int) -> list[JSON]:
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSON:
        return next(m for m in self.sent if m["chat"]["id"] == chat_id and m["message_id"] == message_id)

    async def wait_for(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until `condition()` holds (re-checked whenever a request is carried out)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    def _notify(self) -> None:
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(notify())
        self._clients.add(task)
        task.add_done_callback(self._clients.discard)

    # --- HTTP --------------------------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self._writers.add(writer)
        try:
            while not self._closing:
                request_line = await reader.readline()
                if not request_line:
                    break
                verb, target, _version = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                answer = await self._handle(verb, target, headers, body)
                if answer is None:
                    break  # hang up without answering
                status, payload = answer
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._clients.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, verb: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, JSON] | None:
        url = urlsplit(target)
        prefix = f"/bot{self.token}/"
        if not url.path.startswith("/bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if not url.path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = url.path[len(prefix) :]
        params = _params(url.query, headers.get("content-type", ""), body)
        self.attempts[method] = self.attempts.get(method, 0) + 1
        if method in self._holds:
            if self._holds[method] > 0:
                self._holds[method] -= 1
            else:
                async with self._changed:
                    await self._changed.wait_for(lambda: self._closing or method not in self._holds)
                return None
        faults = self._faults.get(method)
        fault: Fault | None = faults.popleft() if faults else self._storms.get(method)
        late = 0.0
        if fault is not None and fault.kind == "late":
            late, fault = fault.delay, None
        if fault is not None:
            if fault.kind == "not_ok":
                return 200, {"ok": False}
            if fault.kind == "drop":
                return None
            if fault.kind == "slow":
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(fault.delay), self._changed:
                        await self._changed.wait_for(lambda: self._closing)
                return None
            error: JSON = {"ok": False, "error_code": fault.status, "description": f"Injected error {fault.status}"}
            if fault.retry_after is not None:
                error["parameters"] = {"retry_after": fault.retry_after}
                error["description"] = f"Too Many Requests: retry after {fault.retry_after}"
            return fault.status, error
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            result = handler(params)
            if isinstance(result, tuple):
                return result
        self.calls.append(ApiCall(method, params))
        self._notify()
        if late:
            await asyncio.sleep(late)
        return 200, {"ok": True, "result": result}

    # --- methods -----------------------------------------------------------------------------

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)

        def ready() -> bool:
            return bool(self._updates) or self._closing

        if not ready() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(ready)
        return self._updates[:limit]

    def _m_getMe(self, params: JSON) -> JSON:
        return self.bot_user

    def _m_deleteWebhook(self, params: JSON) -> bool:
        self.webhook = None
        return True

    def _m_setWebhook(self, params: JSON) -> bool:
        self.webhook = params
        return True

    def _m_setMyCommands(self, params: JSON) -> bool:
        return True

    def _m_answerCallbackQuery(self, params: JSON) -> bool:
        return True

    def _m_answerInlineQuery(self, params: JSON) -> bool:
        return True

    def _m_sendMessage(self, params: JSON) -> JSON | tuple[int, JSON]:
        text = params.get("text", "")
        if not str(text).strip():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(str(text).encode("utf-16-le")) // 2 > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        chat_id = int(params["chat_id"])
        self._next_message_id += 1
        message: JSON = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "User"}),
            "from": self.bot_user,
            "text": text,
        }
        for key in ("entities", "reply_markup", "message_thread_id"):
            if params.get(key) is not None:
                message[key] = params[key]
        if params.get("reply_parameters"):
            message["reply_to_message_id"] = params["reply_parameters"].get("message_id")
        self.sent.append(message)
        return message

    def _m_sendDocument(self, params: JSON) -> JSON | tuple[int, JSON]:
        document = params.get("document")
        if not isinstance(document, Upload):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: there is no document in the request"}
        chat_id = int(params["chat_id"])
        self._next_message_id += 1
        self.uploads.append(document)
        message: JSON = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "User"}),
            "from": self.bot_user,
            "document": {
                "file_id": f"doc{self._next_message_id}",
                "file_unique_id": f"u{self._next_message_id}",
                "file_name": document.filename,
            },
        }
        if params.get("caption") is not None:
            message["caption"] = params["caption"]
        self.sent.append(message)
        return message

    def _m_editMessageReplyMarkup(self, params: JSON) -> JSON | tuple[int, JSON]:
        try:
            message = self.message(int(params["chat_id"]), int(params["message_id"]))
        except StopIteration:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"}
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message


def _params(query: str, content_type: str, body: bytes) -> JSON:
    raw: JSON = {k: v[0] for k, v in parse_qs(query).items()}
    if body:
        if content_type.startswith("application/json"):
            raw.update(json.loads(body))
        elif content_type.startswith("multipart/form-data"):
            raw.update(_multipart(content_type, body))
        else:
            raw.update({k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str) and key in _JSON_PARAMS:
            value = json.loads(value)
        elif isinstance(value, str) and key in _INT_PARAMS:
            with contextlib.suppress(ValueError):
                value = int(value)
        elif isinstance(value, str) and key in _BOOL_PARAMS:
            value = value == "true"
        params[key] = value
    return params


def _multipart(content_type: str, body: bytes) -> JSON:
    """The fields of a multipart/form-data body: text fields as str, file parts as Upload."""
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: JSON = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = Upload(filename, content, part.get_content_type())
        else:
            fields[str(name)] = content.decode(part.get_content_charset() or "utf-8")
    return fields
