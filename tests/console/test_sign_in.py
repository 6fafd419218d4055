"""The console's sign-in form: a username and password (the API's own sign-in behind it), and in
production a finance officer's first sign-in enrols a TOTP second factor from a QR code."""

from __future__ import annotations

import re

import httpx

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
