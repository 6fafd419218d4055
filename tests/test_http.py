"""The bounded HTTP client keeps httpx's pool short: never more requests in flight than connections,
the rest wait outside the pool, and every request is still answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from infra.http import KEEP_ALIVE_S, AioTransport, BoundedAsyncClient


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
    transport = client._transport
    assert isinstance(transport, AioTransport)
    assert transport.connections == 12 and transport.keepalive_s < KEEP_ALIVE_S


# ---- AioTransport over real sockets: answers as httpx would, failures as the httpx exceptions ----


async def _server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> asyncio.Server:
    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _url(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    line, *rest = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


async def test_a_request_and_its_answer_go_through_whole() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                seen.append(await _read_request(reader))
            except asyncio.IncompleteReadError:
                break
            body = json.dumps({"echo": json.loads(seen[-1][2] or b"null")}).encode()
            writer.write(
                b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nx-bank: yes\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    server = await _server(handle)
    async with server, BoundedAsyncClient(base_url=_url(server), timeout=5) as client:
        first = await client.post(
            "/transfers", json={"amount": 8_000_000}, headers={"Idempotency-Key": "k-1"}
        )
        second = await client.get("/transfers/T-1", params={"q": "a b"})
    assert first.status_code == 202 and first.json() == {"echo": {"amount": 8_000_000}}
    assert first.headers["x-bank"] == "yes"
    assert seen[0][0] == "POST /transfers HTTP/1.1" and seen[0][1]["idempotency-key"] == "k-1"
    assert seen[1][0] == "GET /transfers/T-1?q=a+b HTTP/1.1"
    assert second.json() == {"echo": None}
    assert "accept-encoding" not in seen[0][1]  # bodies come back as sent


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)  # the request arrived (and may have been acted on): no answer

    server = await _server(handle)
    async with server, BoundedAsyncClient(base_url=_url(server), timeout=0.3) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.post("/transfers", json={})


async def test_nothing_listening_is_a_connect_error() -> None:
    server = await _server(lambda r, w: asyncio.sleep(0))
    url = _url(server)
    server.close()
    await server.wait_closed()
    async with BoundedAsyncClient(base_url=url, timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/health")


async def test_a_connection_cut_mid_answer_is_a_transport_error() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"status": "pa')
        await writer.drain()
        writer.close()

    server = await _server(handle)
    async with server, BoundedAsyncClient(base_url=_url(server), timeout=2) as client:
        with pytest.raises(httpx.TransportError):
            await client.get("/transfers/T-1")
