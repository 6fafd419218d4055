"""The bounded HTTP client keeps httpx's pool short: never more requests in flight than connections,
the rest wait outside the pool, and every request is still answered."""

from __future__ import annotations

import asyncio

import httpx

from infra.http import BoundedAsyncClient


async def test_no_more_requests_in_flight_than_connections() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"path": request.url.path})

    async with BoundedAsyncClient(
        connections=8, base_url="http://gateway", transport=httpx.MockTransport(handler)
    ) as client:
        answers = await asyncio.gather(*(client.get(f"/m/{i}") for i in range(100)))
    assert peak == 8
    assert sorted(a.json()["path"] for a in answers) == sorted(f"/m/{i}" for i in range(100))


def test_the_pool_keeps_every_connection_alive() -> None:
    client = BoundedAsyncClient(connections=12)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._max_keepalive_connections) == (12, 12)
