"""The managers' dashboard (/dasbor) in a real browser (Debian's Chromium driven by Playwright, as in
test_browser.py) over the hand-computed rows of tests/dashboard_rows.py: Plotly (served by the API)
draws the four charts under the console's Content-Security-Policy, each table under its chart shows
the figures, and the page works in English too; screenshots in the test's temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright, expect

from api.console.session import TOKEN_COOKIE
from jps.domain.roles import Role
from tests import dashboard_rows as rows
from tests.api.conftest import Stack
from tests.console.conftest import CHROMIUM


async def test_the_dashboard_draws_its_charts_and_tables_in_a_real_browser(
    stack: Stack, http: httpx.AsyncClient, browser_type_launch_args: dict[str, Any], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium)"
    await rows.insert(stack.pool)
    token = stack.token(Role.SUPERVISOR, officer="supervisor-pusat", regions=["*"])

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**browser_type_launch_args)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
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
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
            )

            await page.goto(f"{stack.url}/")
            await page.get_by_role("link", name="Dasbor").click()
            await expect(page.locator("h1")).to_have_text("Dasbor pimpinan")
            await page.locator("#as_of").fill("2020-09-30")
            await page.get_by_role("button", name="Tampilkan").click()
            await expect(page.locator("body")).to_have_attribute("data-charts", "ready", timeout=30_000)
            assert "as_of=2020-09-30" in page.url

            # Plotly drew each chart as SVG: the funnel's bars, the heatmap's image, the bars of the others
            for chart in ("funnel", "stalls", "allocation", "lpj"):
                assert await page.locator(f"#chart-{chart} svg.main-svg").count() >= 1, chart
            assert await page.locator("#chart-funnel .funnellayer .trace").count() == 2
            assert await page.locator("#chart-stalls .heatmaplayer image").count() == 1
            # a programme each: spent and reserved
            assert await page.locator("#chart-allocation .barlayer .trace").count() == 4
            assert await page.locator("#chart-lpj .barlayer .trace").count() == 3

            # the tables under the charts, with the figures of the rows (as of 30 September 2020)
            verification = page.locator("#table-funnel tbody tr", has_text="Verifikasi")
            await expect(verification.locator("td").nth(0)).to_have_text("1")  # TKM: G7
            mentoring = page.locator("#table-funnel tbody tr", has_text="Pendampingan")
            await expect(mentoring.locator("td").nth(0)).to_have_text("6")
            await expect(mentoring.locator("td").nth(1)).to_have_text("1")  # Padat Karya: G6
            jakarta = page.locator("#table-stalls tbody tr", has_text="31 ")
            await expect(jakarta.locator("td").nth(1)).to_have_text("3,0 hari · 1 lewat tenggat")
            allocation = page.locator("#table-allocation tbody tr").filter(has_text="Rp 100.000.000")
            await expect(allocation.locator("td").nth(2)).to_have_text("Rp 20.000.000")
            jabar = page.locator("#table-lpj tbody tr", has_text="32 ")
            await expect(jabar.locator("td").nth(1)).to_have_text("1 · Rp 8.000.000")  # on time: G3
            await expect(jabar.locator("td").nth(2)).to_have_text("1 · Rp 10.000.000")  # overdue: G5
            shot = tmp_path / "dasbor.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000

            # in English, Padat Karya's heatmap only
            await page.goto(f"{stack.url}/dasbor?as_of=2020-09-30&program=padat_karya&lang=en")
            await expect(page.locator("h1")).to_have_text("Managers' dashboard")
            await expect(page.locator("body")).to_have_attribute("data-charts", "ready", timeout=30_000)
            assert await page.locator("html").get_attribute("lang") == "en"
            await expect(page.locator("#table-stalls tbody tr")).to_have_count(2)  # G6 in 31, G8 in 32
            await page.screenshot(path=str(tmp_path / "dasbor-en.png"), full_page=True)
            assert problems == [], problems
        finally:
            await browser.close()

    # Plotly's script: from the plotly package, versioned, cached for a year, gzipped when asked
    async with httpx.AsyncClient(base_url=stack.url, cookies={TOKEN_COOKIE: token}) as signed_in:
        html = (await signed_in.get("/dasbor")).text
    src = html.split('<script src="/aset/vendor/')[1].split('"')[0]
    js = await http.get(f"/aset/vendor/{src}", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip"
    assert "immutable" in js.headers["cache-control"] and "plotly.js v" in js.text[:200]
    again = await http.get(f"/aset/vendor/{src}", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
