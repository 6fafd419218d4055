"""Grievances in a real browser (Debian's Chromium driven by Playwright, as in test_browser.py): a
member files one on the public form without signing in and gets its number; a verifier of the region
finds it in the inbox, opens the case page and acknowledges and decides it with its forms; the
complainant's text shows escaped; the public form works in English too. Screenshots in the test's
temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright, expect

from api.console.session import TOKEN_COOKIE
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, submit
from tests.console.conftest import CHROMIUM


async def test_a_member_files_and_an_officer_decides_in_a_real_browser(
    stack: Stack, http: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium)"
    proposal = factories.proposal(Program.TKM, size=10)
    gid = (await submit(http, stack, proposal))["group_id"]
    member = proposal.members[4]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            # The member, not signed in.
            public = await (await browser.new_context(viewport={"width": 420, "height": 900})).new_page()
            problems: list[str] = []
            public.on("pageerror", lambda exc: problems.append(str(exc)))
            await public.goto(f"{stack.url}/pengaduan-baru")
            assert await public.locator("html").get_attribute("lang") == "id"
            await expect(public.locator("h1")).to_have_text("Ajukan pengaduan")
            await public.locator("#nik").fill(member.nik)
            await public.locator("#phone").fill(member.phone)
            await public.locator("#group_id").fill(gid)
            await public.locator("#category").select_option("excluded")
            await public.locator("#text").fill("Nama saya <script>alert(1)</script> dicoret.")
            await public.get_by_role("button", name="Kirim pengaduan").click()
            sent = public.locator("#grievance-sent")
            await expect(sent).to_contain_text("Pengaduan Anda diterima dengan nomor GRV-")
            case_id = await sent.get_attribute("data-grievance")
            assert case_id and member.nik not in await public.content()
            await public.screenshot(path=str(tmp_path / "pengaduan-baru.png"), full_page=True)

            # A verifier of the region: the inbox, the case page, its forms.
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_cookies(
                [
                    {
                        "name": TOKEN_COOKIE,
                        "value": stack.token(Role.VERIFIER),
                        "url": stack.url,
                        "httpOnly": True,
                        "sameSite": "Strict",
                    }
                ]
            )
            page = await context.new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(f"{stack.url}/")
            row = page.locator("#inbox-grievances tr", has_text=case_id)
            await expect(row).to_contain_text("Terima pengaduan")
            await row.get_by_role("link", name=case_id).click()
            await expect(page.locator("#grievance-status")).to_have_attribute("data-status", "filed")
            await expect(page.locator("#grievance-text")).to_have_text(
                "Nama saya <script>alert(1)</script> dicoret."
            )
            await page.locator("#gform-acknowledge button").click()
            await expect(page.locator("#grievance-status")).to_have_attribute("data-status", "acknowledged")
            await page.locator("#decision").select_option("upheld")
            await page.locator("#reason-resolve").fill("Dimasukkan kembali ke daftar penerima")
            await page.locator("#gform-resolve button").click()
            await expect(page.locator("#grievance-status")).to_have_attribute("data-status", "resolved")
            await expect(page.locator("#grievance-steps li")).to_have_count(3)
            await page.screenshot(path=str(tmp_path / "pengaduan-kasus.png"), full_page=True)

            # The public form in English.
            await public.goto(f"{stack.url}/pengaduan-baru?lang=en")
            assert await public.locator("html").get_attribute("lang") == "en"
            await expect(public.locator("h1")).to_have_text("File a grievance")
            await public.screenshot(path=str(tmp_path / "grievance-form-en.png"), full_page=True)
            assert problems == [], problems
        finally:
            await browser.close()
