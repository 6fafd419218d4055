"""`dashboard_render_ms`: how long the managers' dashboard (/dasbor) takes to show its four charts in a
real browser with the bench's cohort loaded: from the start of the navigation (Chromium's
`performance.now()` origin) to the moment Plotly finished drawing every chart (`dasbor.js` marks it on
`<body data-charts-ms>`). Server time, transfer, parsing the script and drawing all count.

The first load fetches Plotly's script (`cold_ms`); the figure is the median of the loads after it,
with the script in the browser's cache as an officer sees the page day to day. Debian's Chromium
(`make bench` installs it, as `make test` does), driven by Playwright (a dev dependency); without
either the figure is null and `error` says why.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN_COOKIE = "jps_console_token"  # api.console.session.TOKEN_COOKIE (the bench does not import the API)


def _browser_missing() -> str | None:
    return None if CHROMIUM.exists() else f"no {CHROMIUM} (apt-get install chromium)"


async def render_dashboard(
    api_url: str, token: str, *, runs: int = 5, timeout_s: float = 120.0
) -> dict[str, Any]:
    """Load /dasbor `runs` + 1 times as a signed-in national officer; the figures in ms."""
    missing = _browser_missing()
    if missing:
        return {"median_ms": None, "error": missing}
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return {"median_ms": None, "error": "playwright is not installed (pip install -e '.[dev]')"}
    loads: list[int] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_cookies(
                [
                    {
                        "name": TOKEN_COOKIE,
                        "value": token,
                        "url": api_url,
                        "httpOnly": True,
                        "sameSite": "Strict",
                    }
                ]
            )
            page = await context.new_page()
            for _ in range(runs + 1):
                await page.goto(f"{api_url}/dasbor", timeout=timeout_s * 1000)
                await page.wait_for_selector("body[data-charts=ready]", timeout=timeout_s * 1000)
                loads.append(int(await page.get_attribute("body", "data-charts-ms") or 0))
            charts = await page.locator(".js-plotly-plot").count()
        finally:
            await browser.close()
    warm = loads[1:]
    return {
        "median_ms": int(statistics.median(warm)) if warm else loads[0],
        "cold_ms": loads[0],
        "warm_ms": warm,
        "max_ms": max(warm) if warm else loads[0],
        "charts": charts,
    }
