"""The console's muster-roll page (api/console/wages.py) in a real browser (Debian's Chromium): a
Padat Karya group paid by muster rolls, one week with an exception struck and one accepted, paid;
the grid of workers × days, the photos per day, the exceptions with the supervisor's decisions and
the wage run, in Bahasa Indonesia and in English. And the mentor's side: the week's roll sent from the
page's grid form with photos uploaded per day, then shown with its exception (screenshots of the form
and of the roll in the test's temp dir)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import FilePayload, async_playwright, expect

from jps.domain.calendar import local_date
from jps.domain.roles import Role
from tests.api.conftest import Stack, act
from tests.api.test_wages import (
    has_task,
    pk_proposal,
    submit_roll,
    until,
    upload_photo,
    wage_api,
    week_settled,
    whttp,
)
from tests.console.conftest import CHROMIUM, signed_in
from tests.console.wage_groups import day_place, group_at_rolls, last_week
from tests.evidence_files import jpeg

__all__ = ["wage_api", "whttp"]  # the module's fixtures, used here by name


async def test_the_weekly_roll_as_a_grid_with_its_exceptions_and_wages(
    stack: Stack, whttp: httpx.AsyncClient, browser_type_launch_args: dict[str, Any]
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it"
    http = whttp
    p = pk_proposal().model_copy(update={"name": "Kelompok Irigasi Sumber Rejeki"})
    resp = await http.post("/groups", json=p.model_dump(mode="json"), headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 201, resp.text
    gid = resp.json()["group_id"]
    m = [x.nik for x in p.members]
    today = local_date(datetime.now(UTC))
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today.isoformat(), "ends_on": today.isoformat(), "venue": "Balai Desa"},
    )
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": m})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    await until("reserved", lambda: has_task(http, stack, gid, "submit_muster"))
    week = today - timedelta(days=today.weekday() + 7)
    ev = {
        0: await upload_photo(http, stack, gid, week),
        1: await upload_photo(http, stack, gid, week + timedelta(days=1)),
    }
    await submit_roll(http, stack, gid, week, {m[0]: [0, 1, 2], m[1]: [0, 2], m[2]: [1]}, ev)
    # A regional officer who is supervisor and finance at once: reviews the roll, then releases the run.
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            page = await signed_in(browser, stack, "pengawas-9", [Role.SUPERVISOR, Role.FINANCE])
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{stack.url}/kelompok/{gid}")
            await page.get_by_role("link", name="Daftar hadir dan upah").click()
            await expect(page.locator("h1")).to_have_text("Daftar hadir dan upah mingguan")
            # The exceptions (Wednesday had no photo): accept the foreman's, strike the other's.
            review = page.locator("form.review-form")
            await expect(review.locator("fieldset")).to_have_count(2)
            first = review.locator("fieldset", has_text=m[0][-4:])  # the foreman (NIKs show masked)
            second = review.locator("fieldset", has_text=m[1][-4:])
            await first.get_by_label("Terima").check()
            await first.get_by_label("Alasan").fill("foto kepala desa")
            await second.get_by_label("Coret").check()
            await second.get_by_label("Alasan").fill("tidak terlihat di lokasi")
            await review.get_by_role("button", name="Periksa daftar hadir").click()
            await expect(page.get_by_role("status")).to_contain_text("Tersimpan: Periksa daftar hadir")
            await expect(page.locator(".week-status")).to_have_text("Menunggu persetujuan upah")
            await page.locator("form.week-form textarea").fill("sesuai buku harian lokasi")
            await page.get_by_role("button", name="Setujui upah mingguan").click()
            await expect(page.get_by_role("status")).to_contain_text("Tersimpan: Setujui upah mingguan")
            await until("paid", lambda: week_settled(http, stack, gid, week))
            await page.reload()
            grid = page.locator("table.muster-grid")
            await expect(grid.locator("tbody tr")).to_have_count(4)  # three workers and the photos' row
            await expect(grid.locator("td.struck s")).to_have_text("8")
            await expect(grid.locator("td.exception")).to_have_count(2)
            await expect(page.locator("ul.exceptions li")).to_have_count(2)
            await expect(page.locator("ul.exceptions")).to_contain_text("Dicoret")
            await expect(page.locator("ul.exceptions")).to_contain_text("Diterima")
            await expect(page.locator(".week-status")).to_have_text("Selesai")
            await expect(page.locator("table.wage-run tbody tr")).to_have_count(3)
            await expect(page.locator("table.wage-run")).to_contain_text(
                "450.000"
            )  # the foreman: 3 × 150,000
            await page.goto(f"{stack.url}/kelompok/{gid}/upah?lang=en")
            await expect(page.locator("h1")).to_have_text("Muster rolls and weekly wages")
            assert await page.locator("html").get_attribute("lang") == "en"
            await expect(page.locator("ul.exceptions")).to_contain_text("Struck")
            assert errors == []
        finally:
            await browser.close()


async def test_a_mentor_sends_the_weeks_roll_with_photos_from_the_grid(
    stack: Stack, whttp: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it"
    gid, p = await group_at_rolls(whttp, stack, "Kelompok Jembatan Gotong Royong")
    names = [m.name for m in p.members]
    week = last_week()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            page = await signed_in(browser, stack, "pendamping-9", Role.MENTOR)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{stack.url}/kelompok/{gid}")
            await page.get_by_role("link", name="Daftar hadir dan upah").click()
            form = page.locator("form.roll-form")
            await expect(page.get_by_role("heading", name="Kirim daftar hadir")).to_be_visible()
            await expect(page.locator("#roll-week")).to_have_value(week.isoformat())
            # Monday and Tuesday: the foreman both days, the skilled worker Monday for 6 hours, a worker
            # Tuesday; Wednesday a worker without a photo of the site (an exception for the supervisor).
            await form.get_by_label(f"Bekerja: 1. {names[0]}, Sen {week:%d/%m}").check()  # labelled cells
            for cell in ("1-1", "2-0", "3-1", "4-2"):
                await form.locator(f"#w-{cell}").check()
            await form.locator("#h-2-0").fill("6")
            for day in (0, 1):
                photo: FilePayload = {
                    "name": f"lokasi-{day}.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg(40 + day),
                }
                await form.locator(f"#photo-{day}").set_input_files([photo])
                for name, value in day_place(day).items():
                    await form.locator(f"#{name}").fill(value)
            await form.screenshot(path=str(tmp_path / "daftar-hadir-form.png"))
            await form.get_by_role("button", name="Kirim daftar hadir").click()
            await expect(page.get_by_role("status")).to_contain_text("Tersimpan: Kirim daftar hadir")
            await expect(page.locator(".week-status")).to_have_text("Menunggu pemeriksaan pengecualian")
            grid = page.locator("table.muster-grid:not(.roll-input)")
            await expect(grid.locator("tbody tr")).to_have_count(5)  # four workers and the photos' row
            await expect(grid.locator("tbody tr", has_text=names[1])).to_contain_text("6")
            await expect(grid.locator("tr.evidence")).to_contain_text("1 foto sah")
            await expect(grid.locator("td.exception")).to_have_count(1)
            await expect(page.locator("ul.exceptions li")).to_have_count(1)
            await expect(page.locator("ul.exceptions")).to_contain_text("Hari tanpa foto lokasi")
            await expect(page.locator("#roll-week")).not_to_have_value(week.isoformat())  # sent
            await page.screenshot(path=str(tmp_path / "daftar-hadir-terkirim.png"), full_page=True)
            await page.goto(f"{stack.url}/kelompok/{gid}/upah?lang=en")
            await expect(page.get_by_role("heading", name="Submit the muster roll")).to_be_visible()
            await expect(page.locator(".week-status")).to_have_text("Exceptions awaiting review")
            assert errors == []
        finally:
            await browser.close()
    resp = await whttp.get(f"/groups/{gid}/rolls", headers=stack.auth(Role.AUDITOR))
    [roll] = resp.json()["items"]
    assert roll["week_starts_on"] == week.isoformat() and roll["submitted_by"] == "pendamping-9"
    assert len(roll["entries"]) == 5 and len(roll["evidence"]) == 2
