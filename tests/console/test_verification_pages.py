"""The post-payment verification's report page (/verifikasi-pembayaran) over HTTP: the figures of
tests/verification_rows.py per regency and programme, in the officer's regions only, with the rate and
its Wilson interval in Bahasa Indonesia's decimal comma (English's point), bad filters a 422 naming
them; the nav links to it and every page's footer to the public status page."""

from __future__ import annotations

import re

from jps.domain.roles import Role
from tests import verification_rows
from tests.api.conftest import Stack
from tests.console.conftest import ConsoleLogin, alerts, heading, html_lang


def cells(page: str, region: str) -> list[str]:
    row = re.search(rf'<th scope="row" data-label="[^"]*">{region}</th>(.*?)</tr>', page, re.S)
    assert row, page[-2000:]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


async def test_the_report_page_shows_each_regency_in_scope(stack: Stack, console: ConsoleLogin) -> None:
    await verification_rows.insert(stack.pool)
    national = await console(Role.SUPERVISOR, regions=["*"])
    page = await national.get("/verifikasi-pembayaran")
    assert page.status_code == 200 and html_lang(page.text) == "id"
    assert heading(page.text) == "Verifikasi pasca-pembayaran"
    assert cells(page.text, "3171") == [
        "Tenaga Kerja Mandiri (TKM)",
        "10",
        "8",
        "2",
        "0",
        "0",
        "80,0 %",
        "49,0 % – 94,3 %",
    ]
    assert cells(page.text, "3273") == ["Padat Karya", "5", "3", "0", "1", "1", "100,0 %", "43,9 % – 100,0 %"]
    assert 'href="/verifikasi-pembayaran" aria-current="page"' in page.text
    assert 'href="/cek-status"' in page.text

    english = await national.get("/verifikasi-pembayaran?lang=en&program=padat_karya")
    assert html_lang(english.text) == "en" and heading(english.text) == "Post-payment verification"
    assert "3171</th>" not in english.text
    assert cells(english.text, "3273")[-2:] == ["100.0 %", "43.9 % – 100.0 %"]

    jakarta = await console(Role.FINANCE, officer="fin-jkt", regions=["31"])
    mine = await jakarta.get("/verifikasi-pembayaran?lang=id")
    assert "3171</th>" in mine.text and "3273</th>" not in mine.text
    dated = await jakarta.get("/verifikasi-pembayaran?from=2020-10-03")
    assert "Belum ada sampel." in dated.text

    bad = await national.get("/verifikasi-pembayaran?lang=id&program=bansos&region=3&from=2020-13-01")
    assert bad.status_code == 422
    assert all(word in alerts(bad.text) for word in ("Program", "Wilayah", "Dari tanggal bayar"))


async def test_the_report_page_needs_a_signed_in_officer(stack: Stack) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=stack.url) as anonymous:
        resp = await anonymous.get("/verifikasi-pembayaran")
        assert resp.status_code == 303 and resp.headers["location"].startswith("/masuk")
        assert (await anonymous.get("/cek-status")).status_code == 200  # the public page: no sign-in
