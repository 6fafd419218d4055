"""The console's sign-in form: a username and password (the API's own sign-in behind it), in
production a finance officer's first sign-in enrols a TOTP second factor from a QR code, and an
officer whose only role is admin signs in and out but is shown no officer's page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import httpx
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from api import console
from api.console.session import TOKEN_COOKIE
from api.deps import Services
from api.main import create_app
from infra.officers import ensure_officer
from jps import totp
from jps.domain.roles import Role
from tests.api.conftest import Stack

PASSWORD = "kata-sandi-konsol-panjang"


async def test_an_officer_signs_in_with_a_password(stack: Stack) -> None:
    await ensure_officer(
        stack.pool, officer_id="verifier-form", roles=[Role.VERIFIER], regions=["31"], password=PASSWORD
    )
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        page = await client.get("/masuk")
        assert 'name="username"' in page.text and 'type="password"' in page.text
        wrong = await client.post("/masuk", data={"username": "verifier-form", "password": "salah-sekali"})
        assert wrong.status_code == 401 and "Nama pengguna atau kata sandi salah." in wrong.text
        assert TOKEN_COOKIE not in client.cookies
        ok = await client.post(
            "/masuk", data={"username": "verifier-form", "password": PASSWORD, "next": "/"}
        )
        assert ok.status_code == 303 and TOKEN_COOKIE in client.cookies
        inbox = await client.get("/")
        assert inbox.status_code == 200 and "Kotak tugas" in inbox.text
        # deactivated: the cookie's token is refused on the next page
        await stack.pool.execute("UPDATE officers SET active = false WHERE id = 'verifier-form'")
        assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_finance_enrols_a_second_factor_on_first_sign_in_in_production(stack: Stack) -> None:
    await ensure_officer(
        stack.pool, officer_id="finance-form", roles=[Role.FINANCE], regions=["31"], password=PASSWORD
    )
    settings = stack.settings.model_copy(
        update={"env": "production", "totp_seal_key": "a-test-totp-seal-key-of-32-bytes-or-more"}
    )
    app = create_app(services=Services.build(settings, stack.pool, stack.client))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console") as client,
    ):
        form = {"username": "finance-form", "password": PASSWORD, "next": "/"}
        enrol = await client.post("/masuk", data=form)
        assert enrol.status_code == 401 and "<svg" in enrol.text and "Daftarkan faktor kedua" in enrol.text
        found = re.search(r"<code>([A-Z2-7]{32})</code>", enrol.text)
        pending = re.search(r'name="pending" value="([^"]+)"', enrol.text)
        assert found and pending, enrol.text
        secret = found.group(1)

        bad = await client.post("/masuk", data={**form, "pending": pending.group(1), "otp": "12345"})
        assert bad.status_code == 401 and "<svg" in bad.text  # enrol again
        assert await stack.pool.fetchval("SELECT totp_sealed FROM officers WHERE id = 'finance-form'") is None

        ok = await client.post("/masuk", data={**form, "pending": pending.group(1), "otp": totp.totp(secret)})
        assert ok.status_code == 303 and TOKEN_COOKIE in ok.headers["set-cookie"]
        sealed = await stack.pool.fetchval("SELECT totp_sealed FROM officers WHERE id = 'finance-form'")
        assert sealed and secret not in sealed

        # from now on the code is asked for
        no_code = await client.post("/masuk", data=form)
        assert no_code.status_code == 401 and "kode sekali pakai" in no_code.text.lower()
        again = await client.post("/masuk", data={**form, "otp": totp.totp(secret)})
        assert again.status_code == 303


# The console's GET pages that ask for no officer; every other one is an officer's page.
PUBLIC_PAGES = {
    "/masuk",
    "/aset/{name}",
    "/aset/vendor/plotly-{version}.css",
    "/aset/vendor/plotly-{version}.min.js",
    "/cek-status",
    "/pengaduan-baru",
}
PAGE_VALUES = {
    "group_id": "TKM-3171-AB12CD34EF",
    "file_id": "F-01HZZZZZZZZZZZZZZZZZZZZZZZ",
    "grievance_id": "GRV-ABCDEFGHIJ",
    "ext": "csv",
    "name": "console.css",
    "version": "0",
}


def _get_pages(routes: Iterable[BaseRoute]) -> Iterator[str]:
    for route in routes:
        included = getattr(route, "original_router", None)  # a sub-router, as FastAPI includes it
        if included is not None:
            yield from _get_pages(included.routes)
        elif isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            yield route.path


async def test_an_admin_only_officer_gets_no_console_page_but_a_clear_one(stack: Stack) -> None:
    """Issue 11: `admin` alone manages officers and nothing else. Every officer's GET page of the
    console answers such an officer 403 (audited) with a page that says what an admin does instead;
    sign-in and sign-out work as for anyone."""
    await ensure_officer(
        stack.pool, officer_id="admin-only-form", roles=[Role.ADMIN], regions=["*"], password=PASSWORD
    )
    pages = sorted(set(_get_pages(console.router.routes)))
    officer_pages = [p for p in pages if p not in PUBLIC_PAGES]
    assert PUBLIC_PAGES <= set(pages) and len(officer_pages) >= 15, pages
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        ok = await client.post(
            "/masuk", data={"username": "admin-only-form", "password": PASSWORD, "next": "/"}
        )
        assert ok.status_code == 303 and TOKEN_COOKIE in client.cookies
        for template in officer_pages:
            page = await client.get(template.format(**PAGE_VALUES), params={"lang": "en"})
            assert page.status_code == 403, (template, page.status_code, page.text[:300])
            assert "This account manages officers only" in page.text, template
            assert "<code>jps officer</code>" in page.text and 'href="/kelompok"' not in page.text, template
        rows = await stack.pool.fetch(
            "SELECT details FROM audit_log WHERE actor = 'admin-only-form' AND event = 'request_refused'"
        )
        assert sorted(r["details"]["route"] for r in rows) == officer_pages
        out = await client.post("/keluar", follow_redirects=False)
        assert out.status_code == 303 and TOKEN_COOKIE not in client.cookies
