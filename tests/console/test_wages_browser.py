"""The console's muster-roll page (api/console/wages.py) in a real browser (Debian's Chromium): a
Padat Karya group paid by muster rolls, one week with an exception struck and one accepted, paid;
the grid of workers × days, the photos per day, the exceptions with the supervisor's decisions and
the wage run, in Bahasa Indonesia and in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import async_playwright, expect

from infra.officers import ensure_officer
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
from tests.console.conftest import CHROMIUM

__all__ = ["wage_api", "whttp"]  # the module's fixtures, used here by name
PASSWORD = "kata-sandi-daftar-hadir"


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
    wed = (week + timedelta(days=2)).isoformat()
    await act(
        http,
        stack,
        gid,
        "review-muster",
        Role.SUPERVISOR,
        {
            "decisions": [
                {"nik": m[0], "date": wed, "accept": True, "reason": "foto kepala desa"},
                {"nik": m[1], "date": wed, "accept": False, "reason": "tidak terlihat di lokasi"},
            ]
        },
    )
    await act(http, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": week.isoformat()})
    await until("paid", lambda: week_settled(http, stack, gid, week))

    await ensure_officer(
        stack.pool, officer_id="supervisor-9", roles=[Role.SUPERVISOR], regions=["31"], password=PASSWORD
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{stack.url}/masuk")
            await page.get_by_label("Nama pengguna").fill("supervisor-9")
            await page.get_by_label("Kata sandi").fill(PASSWORD)
            await page.get_by_role("button", name="Masuk").first.click()
            await expect(page.locator("h1")).to_have_text("Kotak tugas")
            await page.goto(f"{stack.url}/kelompok/{gid}")
            await page.get_by_role("link", name="Daftar hadir dan upah").click()
            await expect(page.locator("h1")).to_have_text("Daftar hadir dan upah mingguan")
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
