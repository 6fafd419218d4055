"""A NUL character in the URL (`%00` in a path segment or a query parameter) is refused with 422 before
any route runs. PostgreSQL's text cannot hold NUL: passed on to a query (a group id, `q`, an audit
filter) it raised inside the route, a 500. No id, filter or search term of ours contains one."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send


def _nul_at(scope: Scope) -> list[str] | None:
    """Where the first NUL is, as a FastAPI `loc`; None when there is none."""
    if "\x00" in scope.get("path", ""):
        return ["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ["query", name.replace("\x00", "")]
    return None


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loc = _nul_at(scope) if scope["type"] == "http" else None
        if loc is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"detail": [{"loc": loc, "msg": "NUL characters are not allowed", "type": "value_error"}]}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
