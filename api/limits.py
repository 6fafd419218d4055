"""The request body limit, enforced as the body arrives: before FastAPI parses a form or spools an
upload to disk. A declared `Content-Length` over the limit is refused at once; a body sent without
one (chunked) is counted as it streams and refused the moment it passes the limit. Either way: 413.
A route may have a limit of its own (`RouteLimit`: an evidence upload takes up to the file limit plus
its form's other fields, whatever the general limit), and its refusal may name the field.

Beside it `RateLimiter`, at most N events per key a minute: sign-in uses it per client address (429),
and so can any endpoint that anyone may call."""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` mid-body. An HTTPException, so FastAPI's body parsing passes it on as
    it is (any other exception there becomes a 400) and the app answers 413."""

    def __init__(self, limit: int, detail: Any = None) -> None:
        super().__init__(413, detail=detail or f"request body larger than {limit} bytes")


@dataclass(frozen=True)
class RouteLimit:
    """A body limit of one route's own, instead of the general one: requests whose method is `method`
    and whose path matches `path` in full. `detail` is what its 413 says (None: the general sentence)."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    detail: Any = None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = tuple(routes)

    def _limit_of(self, scope: Scope) -> tuple[int, Any]:
        for route in self.routes:
            if scope["method"] == route.method and route.path.fullmatch(scope["path"]):
                return route.max_bytes, route.detail
        return self.max_bytes, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, detail = self._limit_of(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._refuse(send, max_bytes, detail)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes, detail)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:  # raised where no handler answered it (outside a route's body parsing)
            if not started:
                await self._refuse(send, max_bytes, detail)

    async def _refuse(self, send: Send, max_bytes: int, detail: Any) -> None:
        body = json.dumps({"detail": detail or f"request body larger than {max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def client_bucket(key: str) -> str:
    """The key a client's events count under: an IPv6 address's /64 (one host, or one subscriber, gets
    a whole /64 and could take a new address for every request); any other key as it is."""
    try:
        address = ipaddress.ip_address(key)
    except ValueError:
        return key
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return key


class RateLimiter:
    """At most `per_minute` events per key (a client's address) in any sliding minute: `admit(key)`
    answers False beyond it. In memory, per process: one more lock beside the account lock, not the
    only one. Reusable by any endpoint that anyone may call (sign-in; the public grievance forms)."""

    def __init__(self, per_minute: int, *, window_s: float = 60.0, max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}

    def admit(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        key = client_bucket(key)
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self.max_keys:
                self._prune(now)
            events = self._events[key] = deque()
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if len(events) >= self.per_minute:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        events = self._events.get(client_bucket(key))
        return max(1, int(self.window_s - (now - events[0])) + 1) if events else 1

    def _prune(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window_s]:
            del self._events[key]
        if len(self._events) >= self.max_keys:
            self._events.clear()
