"""One real browser (Debian's Chromium driven by Playwright) through the console: sign in, the inbox,
a group's page, an action form; screenshots of the group's page, wide and narrow, in a temp dir.

Playwright's async API, not pytest-playwright's sync `page` fixture: the worker runs on the test's
event loop, and a sync browser call would block it while the workflow has an update to answer.
The launch arguments are pytest-playwright's `browser_type_launch_args` fixture, set in this folder's
conftest for Debian's Chromium (NOTES.md, "Browser tests"), so the sync fixtures work with it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright, expect

from infra.officers import ensure_officer
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, state_of, submit
from tests.console.conftest import CHROMIUM

PASSWORD = "kata-sandi-peramban"


async def test_an_officer_signs_in_opens_the_inbox_and_a_group_in_a_real_browser(
    stack: Stack, http: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium)"
    proposal = factories.proposal(Program.TKM, size=20, amount=10_000_000, name="Kelompok Batik Sekar Arum")
    gid = (await submit(http, stack, proposal))["group_id"]

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            await page.goto(f"{stack.url}/")
            await expect(page.locator("h1")).to_have_text("Masuk")  # sent to the sign-in form
            await ensure_officer(
                stack.pool, officer_id="verifier-7", roles=[Role.VERIFIER], regions=["31"], password=PASSWORD
            )
            await page.get_by_label("Nama pengguna").fill("verifier-7")
            await page.get_by_label("Kata sandi").fill(PASSWORD)
            await page.get_by_role("button", name="Masuk").first.click()

            await expect(page.locator("h1")).to_have_text("Kotak tugas")
            assert await page.locator("html").get_attribute("lang") == "id"
            cookies = {c["name"]: c for c in await context.cookies()}
            assert (
                cookies["jps_console_token"]["httpOnly"]
                and cookies["jps_console_token"]["sameSite"] == "Strict"
            )
            assert await page.evaluate("document.cookie") == ""  # script cannot read the token

            await page.get_by_role("link", name="Kelompok Batik Sekar Arum").click()
            await expect(page.locator("h1")).to_have_text("Kelompok Batik Sekar Arum")
            await expect(page.get_by_role("heading", name="Keputusan verifikasi")).to_be_visible()
            shot = tmp_path / "kelompok.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            await page.get_by_label("Setujui").check()
            await page.locator("#verify-notes").fill("dokumen dan lapangan lengkap")
            await page.get_by_role("button", name="Keputusan verifikasi").click()
            await expect(page.get_by_role("status")).to_contain_text("Tahap sekarang: Pelatihan")
            assert (await state_of(stack, gid)).stage == "training"

            # narrow screen (a phone): the same page, tables as cards, in English
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.goto(f"{stack.url}/kelompok/{gid}?lang=en")
            await expect(page.locator("h1")).to_have_text("Kelompok Batik Sekar Arum")
            assert await page.locator("html").get_attribute("lang") == "en"
            narrow = tmp_path / "kelompok-narrow.png"
            await page.screenshot(path=str(narrow), full_page=True)
            assert errors == []
        finally:
            await browser.close()
