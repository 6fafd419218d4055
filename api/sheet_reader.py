"""Reading an uploaded import file (CSV or XLSX) into numbered lines of cell text, safely: a CSV in
UTF-8 or Windows-1252 with `,` or `;`; an XLSX only after its zip and its sheets' declared sizes are
checked (`check_xlsx`), then by calamine when every cell is plain, else by openpyxl, both bounded to
MAX_ROWS lines of MAX_COLUMNS cells. A file that cannot be read is a `FileError` naming why (a 422).
What the lines mean (the columns, the groups, the proposals) is `api/importer.py`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any


class FileError(ValueError):
    """The file as a whole cannot be read (format, header): answered 422 before any row."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise FileError("the file is not UTF-8 or Windows-1252 text")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    # newline="": a bare carriage return ends a line as the csv module expects (read as "\n"-only
    # lines, one inside an unquoted cell raised csv.Error, a 500); what it still cannot read is a 422.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            yield reader.line_num, [c.strip() for c in record]
    except csv.Error as exc:
        raise FileError(f"line {reader.line_num}: not readable as CSV ({exc})") from None


# A hostile XLSX costs what it declares, not what it weighs: a 1.6 KB sheet declaring A1:XFD1048576
# made openpyxl pad every row to 16,384 cells (CPU-minutes), a zip bomb expands in memory. So the
# zip's entries and the sheets' declared dimensions are checked before openpyxl opens the file, and
# only the first MAX_COLUMNS columns of at most MAX_ROWS rows are read. The whole October 2020 cohort
# (3,076 groups, 61,520 member lines, 22 columns) fits in one file with room to spare.
MAX_ROWS = 100_000  # lines, the header included
MAX_COLUMNS = 64  # the template has 22; a few of the officer's own may follow
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # one zip entry, uncompressed
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # every entry together, uncompressed
MAX_ENTRIES = 1_000
MAX_RATIO = 100  # uncompressed / compressed of an entry over 1 MiB (sheet XML compresses 5-20 times)
_RATIO_FROM_BYTES = 1024 * 1024
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?\"")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def check_xlsx(data: bytes) -> None:
    """Refuse (FileError, naming why) a workbook whose zip entries would expand too far or too
    steeply, or whose sheets declare more rows or columns than an import may have; opens nothing
    but the zip's directory and the first bytes of each sheet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileError(f"not a readable XLSX workbook: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise FileError(f"the workbook holds {len(entries)} files (at most {MAX_ENTRIES})")
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > MAX_ENTRY_BYTES:
                size, most = f"{entry.file_size:,}", f"{MAX_ENTRY_BYTES:,}"
                raise FileError(f"{entry.filename} would expand to {size} bytes (at most {most})")
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_FROM_BYTES and ratio > MAX_RATIO:
                raise FileError(
                    f"{entry.filename} is compressed {ratio:,.0f} times (at most {MAX_RATIO}): a zip bomb?"
                )
        if total > MAX_TOTAL_BYTES:
            raise FileError(f"the workbook would expand to {total:,} bytes (at most {MAX_TOTAL_BYTES:,})")
        for entry in entries:
            if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                try:
                    with archive.open(entry) as sheet:
                        head = sheet.read(64 * 1024)
                except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                    raise FileError(f"not a readable XLSX workbook: {exc}") from None
                _check_dimension(entry.filename, head)


def _check_dimension(name: str, head: bytes) -> None:
    found = _DIMENSION.search(head)
    if found is None:
        return  # none declared: the row and column caps of the reading hold
    first_col, first_row, last_col, last_row = found.groups()
    rows = int(last_row or first_row)
    columns = _column_number(last_col or first_col)
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        raise FileError(
            f"the sheet {name} declares {rows:,} rows and {columns:,} columns "
            f"(at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns)"
        )


# The sheet is read by calamine (Rust; the whole cohort in about 1 s where openpyxl's read-only reader
# took 14 s), but calamine builds a dense grid from the first to the last cell it finds, whatever
# the sheet declares: one cell at XFD1048576 in a 1 KB file made it ask for 512 GiB and abort the
# process. So it reads only a sheet whose every cell tag is in the plain form Excel, LibreOffice and
# openpyxl write (`<c r="B7" ...>`: the reference first, inside the first MAX_COLUMNS columns and
# the first 999,999 rows, no second `r`, every attribute double-quoted). Anything else is read by
# openpyxl as before: the same rows, only slower. Every entry of the zip is checked, so a sheet
# elsewhere than its usual path is too.
_CALAMINE_REF = rb"(?:[A-Z]|A[A-Z]|B[A-L])[1-9][0-9]{0,5}"  # A..BL: MAX_COLUMNS = 64
_ATTRIBUTE = rb'\s+(?!(?:[\w.-]+:)?r=)[\w:.-]+="[^"<>]*"'
_UNPLAIN_CELL = re.compile(
    rb'<c(?:(?=[\s/>])(?! r=")| r="(?!' + _CALAMINE_REF + rb'"(?:' + _ATTRIBUTE + rb")*\s*/?>))"
)
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_EXACT_FLOAT_INTEGERS = 2**53
# An error cell (calamine: empty; openpyxl: its text) or an ISO-date cell: openpyxl's reading.
_TYPES_READ_APART = (b't="e"', b't="d"')
_ROW_OF_SIX_DIGITS = re.compile(rb'<c r="[A-Z]{1,2}([0-9]{6})"')
_ACTIVE_TAB = re.compile(rb'activeTab="([0-9]+)"')


def _calamine_reads_it(archive: zipfile.ZipFile) -> bool:
    """Whether calamine may read this (checked) workbook: every cell plain and inside the caps,
    and its first sheet the active one (openpyxl reads the active sheet)."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        return False
    found = _ACTIVE_TAB.search(archive.read("xl/workbook.xml"))
    if found is not None and found.group(1) != b"0":
        return False
    for entry in archive.infolist():
        text = archive.read(entry)
        if (
            _UNPLAIN_CELL.search(text)
            or _PREFIXED_CELL.search(text)
            or any(t in text for t in _TYPES_READ_APART)
        ):
            return False
        if any(int(m.group(1)) > MAX_ROWS for m in _ROW_OF_SIX_DIGITS.finditer(text)):
            raise FileError(f"more than {MAX_ROWS:,} lines (one file holds at most that many)")
    return True


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    check_xlsx(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            plain = _calamine_reads_it(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise FileError(f"not a readable XLSX workbook: {exc}") from None
    rows = _calamine_rows(data) if plain else None
    return iter(rows) if rows is not None else _openpyxl_rows(data)


def _calamine_rows(data: bytes) -> list[tuple[int, list[str]]] | None:
    """The first sheet by calamine, row for row as `_openpyxl_rows` gives it (calamine reads an empty
    cell as '', openpyxl as None: both are '' here); None when a number is past a float's exact
    integers (calamine reads numbers as floats, openpyxl a whole number as an int: a 16-digit NIK
    stored as a number keeps its digits only there)."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

    try:
        with CalamineWorkbook.from_object(io.BytesIO(data)) as workbook:
            if not workbook.sheets_metadata or workbook.sheets_metadata[0].typ != SheetTypeEnum.WorkSheet:
                raise FileError("the workbook has no sheet")
            grid = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        raise FileError(f"not a readable XLSX workbook: {exc}") from None
    except BaseException as exc:
        # A panic in the Rust reader is pyo3's PanicException, a BaseException: a file it cannot
        # read is the uploader's 422, not the API's 500 (an interrupt or a cancellation goes on).
        if type(exc).__name__ != "PanicException":
            raise
        raise FileError("not a readable XLSX workbook: the reader failed on it") from None
    rows: list[tuple[int, list[str]]] = []
    width = MAX_COLUMNS
    header_seen = False
    for number, values in enumerate(grid, start=1):
        values = values[:width]
        if all(v == "" for v in values):
            rows.append((number, []))
            continue
        if not header_seen:
            header_seen = True
            width = max(i for i, v in enumerate(values) if v != "") + 1
            values = values[:width]
        if any(isinstance(v, float) and abs(v) >= _EXACT_FLOAT_INTEGERS for v in values):
            return None
        rows.append((number, [_cell(v) for v in values]))
    return rows


def _openpyxl_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The active sheet by openpyxl's streaming reader: any workbook `check_xlsx` let through."""
    import openpyxl  # only imports need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(f"not a readable XLSX workbook: {exc}") from None
    try:
        sheet = workbook.active
        if sheet is None:
            raise FileError("the workbook has no sheet")
        # Bounded whatever the sheet says: the first MAX_COLUMNS columns, at most MAX_ROWS lines; once
        # the header is read, only its columns.
        width = MAX_COLUMNS
        header_seen = False
        for number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            if number > MAX_ROWS:
                raise FileError(f"more than {MAX_ROWS:,} lines (one file holds at most that many)")
            values = values[:width]
            if values.count(None) == len(values):
                yield number, []
                continue
            if not header_seen:
                header_seen = True
                width = max(i for i, v in enumerate(values) if v is not None) + 1
                values = values[:width]
            yield number, [_cell(v) for v in values]
    finally:
        workbook.close()


def is_xlsx(filename: str, data: bytes) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"


def file_rows(filename: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Each line of the file, numbered from 1, as its cells' text (an empty line: no cells)."""
    return _xlsx_rows(data) if is_xlsx(filename, data) else _csv_rows(data)
