"""The XLSX import reader (api/sheet_reader.py): calamine, when it may read a workbook, gives the rows
openpyxl gives; a workbook calamine must not read (a cell far out, an unusual cell tag) is read by
openpyxl, or refused, and never handed to calamine."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from api import importer, sheet_reader
from api.sheet_reader import FileError


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["group_ref", "nik", "birth_date", "requested_amount", "ratio", "note", "", "phone"])
    sheet.append(["G1", "3171010101800001", date(1980, 1, 1), 10_000_000, 0.25, "  teks biasa ", None, 6281])
    sheet.append([None, None, None, None])  # an empty line inside the sheet
    sheet.append(["G1", 3171010101800002, datetime(1990, 5, 17, 13, 45), 10_000_000.0, 1.5, None, True])
    sheet.append(["G2", "3171010101800003", "1975-12-31", "Rp 5.000.000", -3, "", False, "+62812"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _rewrite_sheet(xlsx: bytes, change: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = change if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            dst.writestr(item.filename, body)
    return out.getvalue()


def _sheet(xlsx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_calamine_and_openpyxl_give_the_same_rows() -> None:
    data = _workbook()
    fast = sheet_reader._calamine_rows(data)
    assert fast is not None
    assert fast == list(sheet_reader._openpyxl_rows(data))
    assert fast[1] == (
        2,
        ["G1", "3171010101800001", "1980-01-01", "10000000", "0.25", "teks biasa", "", "6281"],
    )
    assert fast[2] == (3, [])
    assert fast[3][1][1:5] == ["3171010101800002", "1990-05-17", "10000000", "1.5"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sheet_reader._calamine_reads_it(archive)
    assert list(sheet_reader._xlsx_rows(data)) == fast


def test_a_whole_number_past_a_floats_digits_is_read_by_openpyxl() -> None:
    # Written as a number: calamine would read 9471010101620001 as 9471010101620000.0.
    sheet = _sheet(_workbook()).replace(b"<v>6281</v>", b"<v>9471010101620001</v>")
    data = _rewrite_sheet(_workbook(), sheet)
    assert sheet_reader._calamine_rows(data) is None
    assert dict(sheet_reader._xlsx_rows(data))[2][-1] == "9471010101620001"


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="A1" r="XFD1048576" t="n"><v>1</v></c>',  # calamine takes the last r
        b'<c r="XFD1048576" t="n"><v>1</v></c>',  # past MAX_COLUMNS
        b"<c r='A1048576' t=\"n\"><v>1</v></c>",
        b'<x:c r="XFD1048576" t="n"><v>1</v></x:c>',
        b'<c t="n"><v>1</v></c>',  # no reference: placed by counting
        b'<c r="A1" t="e"><v>#N/A</v></c>',  # calamine reads an error as empty
    ],
)
def test_a_cell_calamine_must_not_read_sends_the_workbook_to_openpyxl(cell: bytes) -> None:
    data = _workbook()
    sheet = _sheet(data).replace(b"</sheetData>", b'<row r="9">' + cell + b"</row></sheetData>")
    sheet = re.sub(rb"<dimension [^>]*/>", b"", sheet)
    changed = _rewrite_sheet(data, sheet)
    with zipfile.ZipFile(io.BytesIO(changed)) as archive:
        assert not sheet_reader._calamine_reads_it(archive)


def test_a_cell_past_the_row_cap_is_refused_before_calamine() -> None:
    data = _workbook()
    sheet = _sheet(data).replace(
        b"</sheetData>", b'<row r="100001"><c r="A100001"><v>1</v></c></row></sheetData>'
    )
    sheet = re.sub(rb"<dimension [^>]*/>", b"", sheet)
    with pytest.raises(FileError, match="more than 100,000 lines"):
        list(sheet_reader._xlsx_rows(_rewrite_sheet(data, sheet)))


def test_an_unreadable_workbook_is_a_file_error() -> None:
    with pytest.raises(FileError, match="not a readable XLSX workbook"):
        list(sheet_reader._xlsx_rows(b"PK\x03\x04 not a zip"))


def test_a_panic_in_the_rust_reader_is_a_file_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyo3 turns a Rust panic into `PanicException`, a BaseException: the uploader gets a 422 naming
    the file, the API no 500. (A stand-in of the same name: no file is known to make it panic.)"""
    import python_calamine

    class PanicException(BaseException):
        pass

    def panics(_: object) -> None:
        raise PanicException("index out of bounds")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_object", panics)
    with pytest.raises(FileError, match="the reader failed on it"):
        importer.read_sheet("kelompok.xlsx", _workbook())
