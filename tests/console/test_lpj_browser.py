"""The LPJ in a real browser (Debian's Chromium driven by Playwright, as in test_browser.py): a mentor
signs in, picks two receipt files on the group's LPJ form and submits it; a verifier sends it back
with notes; the mentor finds the lines on the form again, replaces one receipt and resubmits; the
verifier accepts. Then finance records a repayment on a group whose LPJ was rejected. Screenshots of
the filled LPJ form, the accepted LPJ and the recovery section in the test's temp dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import FilePayload, async_playwright, expect

from api.console.session import TOKEN_COOKIE
from jps.domain.roles import Role
from tests.api.conftest import Stack, state_of
from tests.console.conftest import CHROMIUM, signed_in
from tests.console.lpj_groups import PAID, in_recovery, paid_tkm
from tests.evidence_files import pdf


def receipt(name: str, text: str) -> FilePayload:
    """A file for Playwright's `set_input_files`, as a scanner would save it."""
    return {"name": name, "mimeType": "application/pdf", "buffer": pdf(text)}


async def test_an_lpj_is_submitted_sent_back_resubmitted_and_accepted_in_a_real_browser(
    stack: Stack, http: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium)"
    gid = await paid_tkm(http, stack, name="Kelompok Jahit Sekar Arum")
    owing = await in_recovery(http, stack, name="Kelompok Tani Subur")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            errors: list[str] = []
            mentor = await signed_in(browser, stack, "mentor-7", Role.MENTOR)
            mentor.on("pageerror", lambda exc: errors.append(str(exc)))
            await mentor.goto(f"{stack.url}/kelompok/{gid}")
            form = mentor.locator("#lpj-form")
            await expect(form.get_by_role("heading", name="Ajukan LPJ")).to_be_visible()
            await form.locator("#lpj-0-amount").fill("7.000.000")
            await form.locator("#lpj-0-supplier").fill("Toko Mesin Jaya")
            await form.locator("#lpj-0-receipt_file").set_input_files(
                receipt("nota-mesin.pdf", f"{gid} mesin")
            )
            await form.locator("#lpj-1-category").select_option("working_capital")
            await form.locator("#lpj-1-amount").fill("3.000.000")
            await form.locator("#lpj-1-supplier").fill("UD Kain Indah")
            await form.locator("#lpj-1-receipt_file").set_input_files(receipt("nota-kain.pdf", f"{gid} kain"))
            await form.locator("#submit-lpj-notes").fill("nota asli di sekretariat kelompok")
            await form.screenshot(path=str(tmp_path / "lpj-form.png"))
            await form.get_by_role("button", name="Ajukan LPJ").click()
            await expect(mentor.get_by_role("status")).to_contain_text("Tersimpan: Ajukan LPJ")
            await expect(mentor.locator("#lpj-v1 tbody tr")).to_have_count(2)
            await expect(mentor.locator("#lpj-v1")).to_contain_text("nota-mesin.pdf")

            verifier = await signed_in(browser, stack, "verifier-7", Role.VERIFIER)
            await verifier.goto(f"{stack.url}/kelompok/{gid}")
            review = verifier.locator("#lpj form[action$='/aksi/review-lpj']")
            await review.get_by_label("Kembalikan untuk revisi").check()
            await review.locator("#review-lpj-notes").fill("nota kain buram; unggah ulang")
            await review.get_by_role("button", name="Periksa LPJ").click()
            await expect(verifier.get_by_role("status")).to_contain_text("Tersimpan: Periksa LPJ")

            # The lines come back on the form with their receipts chosen; one receipt is replaced.
            await mentor.goto(f"{stack.url}/kelompok/{gid}")
            await expect(mentor.locator("#lpj-revise-note")).to_contain_text("nota kain buram")
            await expect(form.locator("#lpj-1-amount")).to_have_value("3.000.000")
            await form.locator("#lpj-1-receipt").select_option("")
            await form.locator("#lpj-1-receipt_file").set_input_files(
                receipt("nota-kain-jelas.pdf", f"{gid} kain, jelas")
            )
            await form.get_by_role("button", name="Ajukan LPJ").click()
            await expect(mentor.get_by_role("status")).to_contain_text("Tersimpan: Ajukan LPJ")

            await verifier.goto(f"{stack.url}/kelompok/{gid}")
            await review.get_by_label("Terima").check()
            await review.get_by_role("button", name="Periksa LPJ").click()
            await expect(verifier.locator("#lpj dl")).to_contain_text("Diterima")
            await expect(verifier.locator("#lpj-v2")).to_contain_text("nota-kain-jelas.pdf")
            await verifier.locator("#lpj").screenshot(path=str(tmp_path / "lpj-accepted.png"))
            state = await state_of(stack, gid)
            assert state.lpj is not None and state.lpj.status == "accepted" and state.lpj.accounted == PAID

            # Finance (signed in with a second factor in real life: here its token in the cookie).
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
            token = stack.token(Role.FINANCE, officer="finance-7")
            await context.add_cookies(
                [
                    {
                        "name": TOKEN_COOKIE,
                        "value": token,
                        "url": stack.url,
                        "httpOnly": True,
                        "sameSite": "Strict",
                    }
                ]
            )
            finance = await context.new_page()
            await finance.goto(f"{stack.url}/kelompok/{owing}")
            recovery = finance.locator("#recovery")
            await expect(recovery.get_by_role("heading", name="Pemulihan dana")).to_be_visible()
            await recovery.locator("#rr-amount").fill("2.500.000")
            await recovery.locator("#rr-ref").fill("NTPN 0A1B2C3D4E")
            await recovery.get_by_role("button", name="Catat angsuran pengembalian").click()
            await expect(finance.get_by_role("status")).to_contain_text("Tersimpan")
            await expect(finance.locator("#receivable-outstanding")).to_have_text("Rp 7.500.000")
            await expect(finance.locator("#receivable-movements tbody tr")).to_have_count(2)
            await finance.locator("#recovery").screenshot(path=str(tmp_path / "recovery.png"))
            for shot in ("lpj-form.png", "lpj-accepted.png", "recovery.png"):
                assert (tmp_path / shot).stat().st_size > 10_000, shot
            assert errors == []
        finally:
            await browser.close()
