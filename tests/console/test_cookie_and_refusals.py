"""The console's cookies are `Secure` whenever `JPS_ENV=production`, even when the app sees plain
http behind a TLS proxy; in development over http they are not (the local stack has no TLS). A 403
the console answers with a page is audited like the API's."""

from __future__ import annotations

import asyncpg
import httpx

from api.console.session import TOKEN_COOKIE
from api.deps import Services
from api.main import create_app
from jps.domain.roles import Role
from tests.api.conftest import Stack
from tests.console.conftest import ConsoleLogin


async def _sign_in(stack: Stack, pool: asyncpg.Pool, env: str) -> tuple[str, str]:
    settings = stack.settings.model_copy(update={"env": env})
    app = create_app(services=Services.build(settings, pool, stack.client))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client,
    ):
        resp = await client.post("/masuk", data={"token": stack.token(Role.VERIFIER), "next": "/"})
        assert resp.status_code == 303 and TOKEN_COOKIE in resp.headers["set-cookie"]
        out = await client.post("/keluar")
        return resp.headers["set-cookie"].lower(), out.headers["set-cookie"].lower()


async def test_the_console_cookie_is_secure_in_production(stack: Stack, pool: asyncpg.Pool) -> None:
    signed_in, signed_out = await _sign_in(stack, pool, "production")
    assert "; secure" in signed_in and "httponly" in signed_in and "samesite=strict" in signed_in
    assert "; secure" in signed_out
    signed_in, _ = await _sign_in(stack, pool, "development")
    assert "; secure" not in signed_in and "httponly" in signed_in


async def test_a_403_on_a_console_page_is_audited(stack: Stack, console: ConsoleLogin) -> None:
    """The console answers a refusal with a page of its own; the refusal is audited all the same."""
    verifier = await console(Role.VERIFIER, officer="verifier-console-403")
    page = await verifier.get("/catatan-audit")
    assert page.status_code == 403
    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE actor = 'verifier-console-403'")
    assert [(r["event"], r["details"]["route"], r["details"]["status"]) for r in rows] == [
        ("request_refused", "/catatan-audit", 403)
    ]
