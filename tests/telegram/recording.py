"""A BaseRequest that records Bot API calls and answers them with canned JSON (no network)."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TelegramError
from telegram.request import BaseRequest, RequestData

from tests.telegram.factories import BOT_USER, GROUP_ID

JSON = dict[str, Any]


@dataclass
class Call:
    method: str
    params: JSON
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Uploaded files (e.g. sendDocument's document): part name -> (file name, content)."""


class RecordingRequest(BaseRequest):
    """Records every call; `fail(method, error)` makes the next call of `method` raise `error`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._message_ids = iter(range(5000, 10**9))
        self._faults: dict[str, deque[TelegramError]] = {}

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def fail(self, method: str, *errors: TelegramError) -> None:
        self._faults.setdefault(method, deque()).extend(errors)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        self.calls.clear()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params: JSON = dict(request_data.parameters) if request_data else {}
        faults = self._faults.get(name)
        if faults:
            raise faults.popleft()
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for part, value in request_data.multipart_data.items():
                filename, content = value[0], value[1]
                files[part] = (filename, content if isinstance(content, bytes) else content.read())
        self.calls.append(Call(name, params, files))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: JSON) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "getUpdates":
            return []
        if name in ("sendMessage", "sendDocument", "editMessageReplyMarkup", "editMessageText"):
            chat_id = int(params.get("chat_id", 1))
            chat: JSON = {"id": chat_id, "type": "private", "first_name": "Ada"}
            if chat_id < 0 or chat_id == GROUP_ID:
                chat = {"id": chat_id, "type": "supergroup", "title": "Group"}
            message: JSON = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
                "text": params.get("text", "edited"),
            }
            if params.get("entities"):
                message["entities"] = params["entities"]
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            if name == "sendDocument":
                del message["text"]
                message["document"] = {"file_id": "doc1", "file_unique_id": "d1"}
                if params.get("caption"):
                    message["caption"] = params["caption"]
            return message
        return True
