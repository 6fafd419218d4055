"""One HTTP client shape for the services we call many times at once (bank, notification gateway,
the bank simulator's callbacks).

httpx's connection pool matches every queued request against every connection each time one
changes state: with hundreds of requests queued (a hundred activities, each a batch of eight
transfers) that is quadratic, and the bench found the worker spending almost half its CPU there.
So requests wait on a semaphore *before* entering the pool, never more of them in the pool than
it has connections, and every connection is kept alive for reuse instead of being reopened.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

DEFAULT_CONNECTIONS = 32

# Our servers keep an idle connection open longer than clients keep it in their pools (httpx: 5 s),
# so the client always closes first. With equal timeouts a request sent on a connection the server
# is closing at that moment fails with a read error (the bench saw it).
KEEP_ALIVE_S = 75


class BoundedAsyncClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` with at most `connections` requests in flight; the rest wait their turn
    outside the pool (the wait does not count against the request's timeout)."""

    def __init__(self, *, connections: int = DEFAULT_CONNECTIONS, **kwargs: Any) -> None:
        kwargs.setdefault(
            "limits", httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        )
        super().__init__(**kwargs)
        self._gate = asyncio.Semaphore(connections)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        async with self._gate:
            return await super().send(request, **kwargs)
