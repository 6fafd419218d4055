"""The dashboard page (/dasbor) through HTTP: an officer of one province sees only its figures (in the
tables and in the charts' data), a bad `as_of` or programme is a 422 page naming the field, and the
LPJ list downloads as CSV and XLSX with the console's cookie."""

from __future__ import annotations

import json
import re

import httpx

from jps.domain.roles import Role
from tests import dashboard_rows as rows
from tests.api.conftest import Stack
from tests.console.conftest import ConsoleLogin, alerts, heading


def data_of(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="dash-data">(.*?)</script>', page, re.S)
    assert found, page[:300]
    data: dict[str, object] = json.loads(found.group(1))
    return data


async def test_a_province_officer_sees_only_the_province(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    await rows.insert(stack.pool)
    aceh = await console(Role.SUPERVISOR, officer="supervisor-aceh", regions=["11"])
    resp = await aceh.get("/dasbor")
    assert resp.status_code == 200 and heading(resp.text) == "Dasbor pimpinan"
    assert 'href="/dasbor" aria-current="page"' in resp.text
    data = data_of(resp.text)
    assert json.dumps(data["allocation"]).count('"region_code"') == 1  # tkm 11 only
    assert [p["code"] for p in data["stalls"]["provinces"]] == ["11"]  # type: ignore[index]
    tables = re.sub(r'<script type="application/json".*?</script>', "", resp.text, flags=re.S)
    assert "DKI Jakarta" not in tables and "Jawa Barat" not in tables
    assert "Rp 10.000.000" in resp.text and "Rp 20.000.000" not in resp.text
    csv = await aceh.get("/dasbor/lpj.csv")
    assert csv.status_code == 200 and csv.text.splitlines()[1].startswith("G9,")
    assert len(csv.text.splitlines()) == 2
    xlsx = await aceh.get("/dasbor/lpj.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    # the field named by its label on the page: "Per tanggal (akhir hari, WIB): …", "Program: …"
    for url, field in [("/dasbor?as_of=2020-02-30", "Per tanggal"), ("/dasbor?program=bansos", "Program:")]:
        bad = await aceh.get(url)
        assert bad.status_code == 422, url
        assert field in alerts(bad.text), url


async def test_the_summary_page_shows_the_aid_accounts(stack: Stack, console: ConsoleLogin) -> None:
    await rows.insert(stack.pool)
    auditor = await console(Role.AUDITOR, officer="auditor-pusat", regions=["*"])
    page = (await auditor.get("/ringkasan?lang=en")).text
    table = page.split('id="table-accounts"')[1].split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table, re.S)]
    # TKM in DKI Jakarta: paid 20M = 10M accounted + 5M under recovery + 3M recovered + 2M written off
    row = cells.index("31", cells.index("Tenaga Kerja Mandiri (TKM)")) + 1
    assert cells[row : row + 7] == [
        "Rp 20.000.000",
        "Rp 0",
        "Rp 10.000.000",
        "Rp 0",
        "Rp 5.000.000",
        "Rp 3.000.000",
        "Rp 2.000.000",
    ]
    assert "Aid paid and what became of it" in page
