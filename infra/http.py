"""One HTTP client shape for the services we call many times at once (bank, notification gateway,
the bank simulator's callbacks).

httpx's interface (its `Request`, `Response` and exceptions, which the clients and their tests
speak) over aiohttp's connection pool (`AioTransport`). Profiled under the benchmark, httpcore's
pool was most of the worker's HTTP cost: each request checks every pooled connection
(`has_expired` -> `is_socket_readable` -> `getpeername`) and writes through anyio's streams. Before
that, httpx's pool matched every queued request against every connection each time one changed
state, quadratic with hundreds queued (the bench found the worker spending almost half its CPU
there). So requests still wait on a semaphore *before* entering the pool, never more of them in it
than it has connections, and every connection is kept alive for reuse instead of being reopened.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx

DEFAULT_CONNECTIONS = 32

# Our servers keep an idle connection open longer than clients keep it in their pools, so the
# client always closes first. With equal timeouts a request sent on a connection the server is
# closing at that moment fails with a read error (the bench saw it).
KEEP_ALIVE_S = 75
CLIENT_KEEP_ALIVE_S = 15.0

# Headers httpx adds that aiohttp sets itself (or, for the encoding, that would hand back a body the
# response below does not decode: our servers then answer uncompressed).
_NOT_FORWARDED = frozenset({"host", "content-length", "accept-encoding", "transfer-encoding", "connection"})


class AioTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an aiohttp session (opened on first use, inside the running loop).
    Every aiohttp failure comes out as the httpx exception the clients already handle: a timeout as
    `httpx.TimeoutException` (the answer may have been lost after the server acted), a refused or
    failed connection as `httpx.ConnectError`, anything else on the wire as `httpx.ReadError`."""

    def __init__(
        self, *, connections: int = DEFAULT_CONNECTIONS, keepalive_s: float = CLIENT_KEEP_ALIVE_S
    ) -> None:
        self.connections = connections
        self.keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=self.keepalive_s)
            # No Accept-Encoding of aiohttp's own either: the body is handed on as it came.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, skip_auto_headers=("Accept-Encoding",)
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits: dict[str, float | None] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=limits.get("pool"),
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _NOT_FORWARDED]
        try:
            async with self._open().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                content = await resp.read()
                status, raw_headers = resp.status, resp.raw_headers
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors
            kind = (
                httpx.ConnectTimeout if isinstance(exc, aiohttp.ConnectionTimeoutError) else httpx.ReadTimeout
            )
            raise kind(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=list(raw_headers), content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class BoundedAsyncClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` over `AioTransport` with at most `connections` requests in flight; the
    rest wait their turn outside the pool (the wait does not count against the request's timeout).
    A test may hand it another transport (`httpx.MockTransport`)."""

    def __init__(self, *, connections: int = DEFAULT_CONNECTIONS, **kwargs: Any) -> None:
        if kwargs.get("transport") is None:
            kwargs["transport"] = AioTransport(connections=connections)
        super().__init__(**kwargs)
        self._gate = asyncio.Semaphore(connections)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        async with self._gate:
            return await super().send(request, **kwargs)
