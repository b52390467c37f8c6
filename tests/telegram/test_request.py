"""AiohttpRequest against the fake Bot API server: parameters, uploads, timeouts, refused and dropped connections, the pool limit."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from telegram import Bot, MessageEntity
from telegram.error import NetworkError, TimedOut

from bot.telegram.request import AiohttpRequest
from tests.telegram.factories import BOT_USER, TOKEN
from tests.telegram.fake_api import FakeBotAPI, Fault, Upload


def url(api: FakeBotAPI, method: str) -> str:
    return f"{api.base_url}{TOKEN}/{method}"


async def opened(request: AiohttpRequest) -> AiohttpRequest:
    await request.initialize()
    return request


async def test_json_parameters_arrive_as_httpx_sends_them(fake_api: FakeBotAPI) -> None:
    async with Bot(TOKEN, base_url=fake_api.base_url, request=AiohttpRequest(), get_updates_request=AiohttpRequest()) as bot:
        entity = MessageEntity(MessageEntity.BOLD, 0, 3)
        message = await bot.send_message(42, "Git — *bold* & ü", entities=[entity], message_thread_id=7)
    [call] = fake_api.of("sendMessage")
    assert call.params["chat_id"] == 42
    assert call.params["text"] == "Git — *bold* & ü"
    assert call.params["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert message.text == "Git — *bold* & ü"
    assert message.entities == (entity,)


async def test_a_multipart_upload_arrives(fake_api: FakeBotAPI) -> None:
    content = bytes(range(256)) * 40
    async with Bot(TOKEN, base_url=fake_api.base_url, request=AiohttpRequest(), get_updates_request=AiohttpRequest()) as bot:
        message = await bot.send_document(42, content, filename="report.bin", caption="the report")
    assert fake_api.uploads == [Upload("report.bin", content, "application/octet-stream")]
    [call] = fake_api.of("sendDocument")
    assert call.params["chat_id"] == 42
    assert call.params["caption"] == "the report"
    assert message.document is not None
    assert message.document.file_name == "report.bin"


async def test_a_slow_answer_past_the_read_timeout_is_timed_out(fake_api: FakeBotAPI) -> None:
    request = await opened(AiohttpRequest(read_timeout=0.3))
    fake_api.inject("getMe", Fault.slow(3.0))
    started = time.monotonic()
    try:
        with pytest.raises(TimedOut):
            await request.post(url(fake_api, "getMe"))
    finally:
        await request.shutdown()
    assert time.monotonic() - started < 2.0
    assert not fake_api.of("getMe")


async def test_a_long_poll_gets_its_own_read_timeout(fake_api: FakeBotAPI) -> None:
    polling = AiohttpRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=fake_api.base_url, request=AiohttpRequest(), get_updates_request=polling) as bot:
        started = time.monotonic()
        updates = await bot.get_updates(timeout=1, read_timeout=2.0)  # the server holds it for 1 s: longer than 0.3
    assert updates == ()
    assert time.monotonic() - started >= 0.9


async def test_a_refused_connection_is_a_network_error(fake_api: FakeBotAPI) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    request = await opened(AiohttpRequest(connect_timeout=2.0))
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert not isinstance(caught.value, TimedOut)
    assert TOKEN not in str(caught.value)


async def test_a_dropped_connection_is_a_network_error_and_the_next_request_works(fake_api: FakeBotAPI) -> None:
    request = await opened(AiohttpRequest())
    fake_api.inject("getMe", Fault.drop())
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(url(fake_api, "getMe"))
        assert not isinstance(caught.value, TimedOut)
        assert await request.post(url(fake_api, "getMe")) == BOT_USER
    finally:
        await request.shutdown()


async def test_error_statuses_are_returned_for_python_telegram_bot_to_raise(fake_api: FakeBotAPI) -> None:
    request = await opened(AiohttpRequest())
    fake_api.inject("getMe", Fault.status_code(500))
    try:
        status, body = await request.do_request(url(fake_api, "getMe"), "POST")
    finally:
        await request.shutdown()
    assert status == 500
    assert b"Injected error 500" in body


async def test_the_pool_limit_holds_and_waiting_for_a_connection_times_out(fake_api: FakeBotAPI) -> None:
    request = await opened(AiohttpRequest(connection_pool_size=1, connect_timeout=0.2, pool_timeout=0.2))
    try:
        poll = asyncio.create_task(request.do_request(url(fake_api, "getUpdates?timeout=1"), "POST", read_timeout=3.0))
        await asyncio.sleep(0.3)  # the long poll holds the only connection (attempts are counted without a notification)
        assert fake_api.attempts.get("getUpdates") == 1
        with pytest.raises(TimedOut):
            await request.post(url(fake_api, "getMe"))
        assert (await poll)[0] == 200
        assert await request.post(url(fake_api, "getMe")) == BOT_USER  # the connection is free again
    finally:
        await request.shutdown()


async def test_lifecycle(fake_api: FakeBotAPI) -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url(fake_api, "getMe"), "POST")
    await request.initialize()
    await request.initialize()  # idempotent
    assert await request.post(url(fake_api, "getMe")) == BOT_USER
    await request.shutdown()
    await request.shutdown()  # idempotent
    await request.initialize()  # reopened after a shutdown, as Application.initialize may do
    assert await request.post(url(fake_api, "getMe")) == BOT_USER
    await request.shutdown()
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)
