"""The beneficiary's pages in a real browser (Debian's Chromium driven by Playwright, as in
test_browser.py): a member of a paid TKM group, not signed in, opens the public status page from the
footer, types the group's id and their NIK, and reads the stage, the next step and the group's
transfer; a wrong NIK reads the same "not found" as an unknown group; English is one click away. An
officer reads the verification report. Screenshots of both pages in the test's temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright, expect

from infra.officers import ensure_officer
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories, verification_rows
from tests.api.conftest import Stack
from tests.api.test_public_status import TKM_PAID, paid
from tests.console.conftest import CHROMIUM

PASSWORD = "kata-sandi-peramban"


async def test_a_member_checks_the_status_and_an_officer_reads_the_report_in_a_real_browser(
    stack: Stack, http: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium)"
    proposal = factories.proposal(Program.TKM, size=12, amount=TKM_PAID, name="Kelompok Kue Lestari")
    gid = await paid(http, stack, proposal, TKM_PAID)
    nik = proposal.members[4].nik
    await verification_rows.insert(stack.pool)
    await ensure_officer(
        stack.pool, officer_id="spv-31", roles=[Role.SUPERVISOR], regions=["*"], password=PASSWORD
    )

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            errors: list[str] = []
            context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="id-ID")
            member = await context.new_page()
            member.on("pageerror", lambda exc: errors.append(str(exc)))
            # A console error but the "not found" page's own 404 (that answer is meant).
            member.on(
                "console",
                lambda msg: (
                    errors.append(msg.text) if msg.type == "error" and "404" not in msg.text else None
                ),
            )

            await member.goto(f"{stack.url}/masuk")
            await member.get_by_role("link", name="Cek status bantuan").click()
            await expect(member.locator("h1")).to_have_text("Cek status bantuan kelompok")
            await member.get_by_label("ID kelompok").fill(gid)
            await member.get_by_label("NIK Anda (16 angka)").fill(nik)
            await member.get_by_role("button", name="Cek status").click()
            result = member.locator("#status-result")
            await expect(result).to_contain_text("Kelompok Kue Lestari")
            await expect(result).to_contain_text("Bantuan sudah dibayar; tahap pendampingan")
            await expect(member.locator("#status-payments tbody tr")).to_have_count(1)
            await expect(member.locator("#status-payments")).to_contain_text("Rp 10.000.000")
            await expect(member.locator("#status-payments")).to_contain_text("******7890")
            assert nik not in await member.content()
            await member.screenshot(path=str(tmp_path / "public-status.png"), full_page=True)

            await member.get_by_role("link", name="English").click()
            await expect(member.locator("html")).to_have_attribute("lang", "en")
            await member.get_by_label("Group ID").fill(gid)
            await member.get_by_label("Your NIK (16 digits)").fill(factories.member(91).nik)
            await member.get_by_role("button", name="Check status").click()
            await expect(member.locator("#status-not-found")).to_contain_text("Nothing found")
            await member.screenshot(path=str(tmp_path / "public-status-not-found.png"), full_page=True)

            officer = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
            officer.on("pageerror", lambda exc: errors.append(str(exc)))
            await officer.goto(f"{stack.url}/masuk")
            await officer.get_by_label("Nama pengguna").fill("spv-31")
            await officer.get_by_label("Kata sandi").fill(PASSWORD)
            await officer.get_by_role("button", name="Masuk").first.click()
            await expect(officer.locator("h1")).to_have_text("Kotak tugas")
            await officer.get_by_role("link", name="Verifikasi pembayaran").click()
            await expect(officer.locator("h1")).to_have_text("Verifikasi pasca-pembayaran")
            table = officer.locator("#verification-report")
            await expect(table.locator("tbody tr")).to_have_count(2)
            await expect(table).to_contain_text("49,0 % – 94,3 %")
            await officer.screenshot(path=str(tmp_path / "verification-report.png"), full_page=True)
            assert errors == []
        finally:
            await browser.close()
