"""A python-telegram-bot request class on aiohttp: the bot's HTTP client (TELEGRAM_HTTP=aiohttp, the default).

Under a burst, httpx/httpcore took 55% of the bot's CPU (connection-pool bookkeeping, anyio
locks); the same bot on aiohttp answers about twice as many updates per CPU-second
(benchmarks/README.md). Requests are encoded as `HTTPXRequest` encodes them: the JSON-encoded
parameters as an `application/x-www-form-urlencoded` body, or, when files are uploaded, as
`multipart/form-data` fields followed by the files.

Timeouts: `connect_timeout` bounds the TCP connect, `pool_timeout + connect_timeout` the wait
for a pooled connection plus the connect, `read_timeout` each wait for data from Telegram
(the response's head included; getUpdates passes a longer one). aiohttp has no write timeout:
a body is handed to the socket's buffer, and the read timeout runs from there. Any timeout
raises `telegram.error.TimedOut`, any other transport failure (refused, reset, hung up)
`telegram.error.NetworkError`, as HTTPXRequest does.
"""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """`telegram.request.BaseRequest` on one `aiohttp.ClientSession`, opened by `initialize()` and closed by `shutdown()`.

    `connection_pool_size` is the most connections open at once (aiohttp's connector limit);
    the timeouts are the defaults for requests that do not pass their own, in seconds (None:
    no limit), with the meanings of HTTPXRequest's; `media_write_timeout` is accepted for
    parity and, like `write_timeout`, not enforced (see the module's docstring).
    """

    __slots__ = ("_connect_timeout", "_pool_size", "_pool_timeout", "_read_timeout", "_session", "_write_timeout")

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (seconds)."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        return self._pool_size

    async def initialize(self) -> None:
        """Open the session (again after `shutdown()`); a no-op when it is open."""
        if self._session is not None and not self._session.closed:
            return
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, use_dns_cache=True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            raise_for_status=False,
            # HTTPS_PROXY / ALL_PROXY / NO_PROXY are honoured as httpx honours them; without any,
            # aiohttp is spared looking them up again on every request.
            trust_env=bool(urllib.request.getproxies()),
        )

    async def shutdown(self) -> None:
        """Close the session and its connections; a no-op when it is not open."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

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
        """Send one request; return the status code and the body. Raises TimedOut or NetworkError."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        waiting = None if connect_timeout is None or pool_timeout is None else connect_timeout + pool_timeout
        timeout = aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect_timeout, sock_read=read_timeout)

        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            parameters = request_data.json_parameters
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData(quote_fields=False)
                for name, value in parameters.items():
                    form.add_field(name, value)
                for name, field in files.items():
                    filename, content = field[0], field[1]
                    content_type = field[2] if len(field) > 2 else None
                    form.add_field(name, content, filename=filename, content_type=content_type)
                data = form
            elif parameters:
                data = urlencode(parameters).encode()
                headers = {"Content-Type": _FORM}

        try:
            async with session.request(method, url, data=data, headers=headers, timeout=timeout, allow_redirects=False) as response:
                body = await response.read()
                return response.status, body
        except TimeoutError as err:  # aiohttp's ServerTimeoutError and ConnectionTimeoutError too
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
