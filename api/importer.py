"""Reading an import file (CSV or XLSX) into proposals, with every bad row named by line and column.

One line per member; the lines of one group share a `group_ref`. The group's own columns (programme,
name, region, amount, the group's bank account) are read from its first line; later lines may leave
them empty, and if they fill them in they must agree. Columns (header names, any order, any case):

| column | |
| --- | --- |
| group_ref | your key for the group; re-importing the same ref creates nothing twice |
| program | `tkm` or `padat_karya` |
| group_name, region_code, requested_amount, description | the group (amount in whole rupiah) |
| group_bank_code, group_account_no, group_account_holder | the group's account |
| nik, member_name, phone, is_leader | the member (`is_leader`: yes/no, ya/tidak, 1/0, true/false) |
| birth_date, gender | optional: YYYY-MM-DD, `L` or `P`; checked against the NIK |
| bank_code, account_no, account_holder | the member's own wage account (Padat Karya) |
| worksite_lat, worksite_lon, worksite_radius_m | Padat Karya: the worksite (degrees; metres, default 200) |
| work_role | Padat Karya: `worker`, `skilled` or `foreman` (`pekerja`, `tukang`, `mandor`); empty: worker |

A Padat Karya group under the weekly wage rule (docs/wages.md; the built-in policy) without its
worksite is refused, naming `worksite_lat`; the columns are optional in the header.

Spreadsheets turn long digit strings into numbers and may round a 16-digit NIK: format the NIK
and account columns as text.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from jps.domain.models import Proposal
from jps.domain.wages import WorkRole

GROUP_COLUMNS = (
    "program",
    "group_name",
    "region_code",
    "requested_amount",
    "description",
    "group_bank_code",
    "group_account_no",
    "group_account_holder",
    "worksite_lat",
    "worksite_lon",
    "worksite_radius_m",
)
MEMBER_COLUMNS = (
    "nik",
    "member_name",
    "birth_date",
    "gender",
    "phone",
    "is_leader",
    "bank_code",
    "account_no",
    "account_holder",
    "work_role",
)
COLUMNS = ("group_ref", *GROUP_COLUMNS, *MEMBER_COLUMNS)
REQUIRED_COLUMNS = (
    "group_ref",
    "program",
    "group_name",
    "region_code",
    "requested_amount",
    "group_bank_code",
    "group_account_no",
    "nik",
    "member_name",
    "phone",
    "is_leader",
)

# Where a Proposal field's error shows in the file.
_GROUP_FIELD_COLUMN = {
    ("program",): "program",
    ("name",): "group_name",
    ("region_code",): "region_code",
    ("requested_amount",): "requested_amount",
    ("description",): "description",
    ("bank_account",): "group_account_no",
    ("bank_account", "bank_code"): "group_bank_code",
    ("bank_account", "account_no"): "group_account_no",
    ("bank_account", "holder_name"): "group_account_holder",
    ("members",): "is_leader",
    ("worksite",): "worksite_lat",
    ("worksite", "lat"): "worksite_lat",
    ("worksite", "lon"): "worksite_lon",
    ("worksite", "radius_m"): "worksite_radius_m",
}
_MEMBER_FIELD_COLUMN = {
    ("nik",): "nik",
    ("name",): "member_name",
    ("birth_date",): "birth_date",
    ("gender",): "gender",
    ("phone",): "phone",
    ("is_leader",): "is_leader",
    ("bank_account",): "account_no",
    ("bank_account", "bank_code"): "bank_code",
    ("bank_account", "account_no"): "account_no",
    ("bank_account", "holder_name"): "account_holder",
    ("work_role",): "work_role",
}
# A member's work role in the officers' words too (Indonesian first); empty: a worker.
_WORK_ROLES = {
    **{role.value: role for role in WorkRole},
    "pekerja": WorkRole.WORKER,
    "tukang": WorkRole.SKILLED,
    "mandor": WorkRole.FOREMAN,
}
_TRUE = {"1", "y", "yes", "ya", "true", "t", "x", "ketua"}
_FALSE = {"", "0", "n", "no", "tidak", "false", "f", "anggota"}
_THOUSANDS = re.compile(r"^\d{1,3}([.,]\d{3})+$")
_FIELD_PREFIX = re.compile(r"^(members\.(\d+)\.)?([a-z_.]+): (.*)$", re.S)


class FileError(ValueError):
    """The file as a whole cannot be read (format, header): answered 422 before any row."""


@dataclass
class RowError:
    line: int
    column: str
    reason: str
    kind: str = "invalid"  # or "conflict": a NIK already claimed by another group


@dataclass
class GroupInFile:
    ref: str
    lines: list[int]
    rows: list[dict[str, str]]
    proposal: Proposal | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.lines[0]


@dataclass
class ParsedFile:
    rows: int
    groups: list[GroupInFile]


# ---- reading the file into string rows ----


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


def _source(filename: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    return _xlsx_rows(data) if is_xlsx(filename, data) else _csv_rows(data)


def _header(values: list[str]) -> list[str]:
    header = [h.strip().lower().replace(" ", "_") for h in values]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileError(f"missing columns: {', '.join(missing)} (expected: {', '.join(COLUMNS)})")
    return header


@dataclass(frozen=True)
class Sheet:
    """A file read once: its header (normalised names) and each non-empty data row as a dict, with
    its line number. The upload's route reads it (so a file that is not an import file is a 422
    before any job) and hands it to the job, which parses it: the whole cohort's sheet costs about
    2.4 s in calamine, paid once."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The header, checked, and the rows (CPU work: run it in a thread)."""
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, values in _source(filename, data):
        if not any(values):
            continue
        if header is None:
            header = _header(values)
            continue
        rows.append((line, {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}))
    if header is None:
        raise FileError("the file is empty")
    return Sheet(header, rows)


def read_rows(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows of a file that has rows."""
    sheet = read_sheet(filename, data)
    if not sheet.rows:
        raise FileError("the file has a header but no rows")
    return sheet.header, sheet.rows


# ---- rows into proposals ----


def _amount(raw: str) -> str:
    text = raw.replace("Rp", "").replace("rp", "").strip()
    return re.sub(r"[.,]", "", text) if _THOUSANDS.match(text) else text


def _account(code: str, number: str, holder: str) -> dict[str, str] | None:
    if not (code or number):
        return None
    return {"bank_code": code, "account_no": number, "holder_name": holder}


def _decimal(raw: str) -> str:
    """'-6,2' (a decimal comma, as Indonesian spreadsheets write it) -> '-6.2'."""
    text = raw.strip()
    return text.replace(",", ".") if re.fullmatch(r"-?\d+,\d+", text) else text


def _worksite(row: dict[str, str]) -> dict[str, str] | None:
    """The worksite's columns, or None when all are empty (the model says which is missing)."""
    lat, lon, radius = (row.get(f"worksite_{c}", "").strip() for c in ("lat", "lon", "radius_m"))
    if not (lat or lon or radius):
        return None
    site = {"lat": _decimal(lat), "lon": _decimal(lon)}
    if radius:
        site["radius_m"] = radius
    return site


def _group_dict(group: GroupInFile) -> dict[str, Any]:
    first = group.rows[0]
    members = []
    for line, row in zip(group.lines, group.rows, strict=True):
        leader = row.get("is_leader", "").strip().lower()
        if leader not in _TRUE | _FALSE:
            group.errors.append(RowError(line, "is_leader", f"{row['is_leader']!r} is not yes or no"))
        role = row.get("work_role", "").strip().lower()
        if role and role not in _WORK_ROLES:
            reason = f"{row['work_role']!r} is not worker, skilled or foreman (pekerja, tukang, mandor)"
            group.errors.append(RowError(line, "work_role", reason))
        members.append(
            {
                "nik": row.get("nik", ""),
                "name": row.get("member_name", ""),
                "birth_date": row.get("birth_date") or None,
                "gender": (row.get("gender") or "").upper() or None,
                "phone": row.get("phone", ""),
                "is_leader": leader in _TRUE,
                "bank_account": _account(
                    row.get("bank_code", ""),
                    row.get("account_no", ""),
                    row.get("account_holder") or row.get("member_name", ""),
                ),
                "work_role": _WORK_ROLES.get(role, WorkRole.WORKER),
            }
        )
    return {
        "program": first.get("program", "").strip().lower(),
        "name": first.get("group_name", ""),
        "region_code": first.get("region_code", ""),
        "description": first.get("description", ""),
        "requested_amount": _amount(first.get("requested_amount", "")),
        "bank_account": {
            "bank_code": first.get("group_bank_code", ""),
            "account_no": first.get("group_account_no", ""),
            "holder_name": first.get("group_account_holder") or first.get("group_name", ""),
        },
        "members": members,
        "worksite": _worksite(first),
    }


def _check_group_columns_agree(group: GroupInFile) -> None:
    first = group.rows[0]
    for line, row in zip(group.lines[1:], group.rows[1:], strict=True):
        for column in GROUP_COLUMNS:
            value = row.get(column, "")
            if value and value != first.get(column, ""):
                group.errors.append(
                    RowError(line, column, f"differs from the group's first line ({group.first_line})")
                )


def _place(group: GroupInFile, loc: tuple[Any, ...], message: str) -> RowError:
    """The line and column a Proposal validation error belongs to."""
    message = message.removeprefix("Value error, ")
    if loc and loc[0] == "members" and len(loc) > 1 and isinstance(loc[1], int):
        index, rest = loc[1], tuple(loc[2:])
        if not rest:  # a member-level check says which field first: "nik: ..."
            match = _FIELD_PREFIX.match(message)
            if match:
                rest, message = (match.group(3),), match.group(4)
        line = group.lines[index] if index < len(group.lines) else group.first_line
        return RowError(
            line, _MEMBER_FIELD_COLUMN.get(rest, _MEMBER_FIELD_COLUMN.get(rest[:1], "nik")), message
        )
    match = _FIELD_PREFIX.match(message) if not loc else None
    if match:  # a proposal-level check: "members.3.nik: ..." or "members: ..."
        if match.group(2) is not None:
            index = int(match.group(2))
            line = group.lines[index] if index < len(group.lines) else group.first_line
            column = match.group(3).split(".")[0]
            return RowError(line, _MEMBER_FIELD_COLUMN.get((column,), column), match.group(4))
        loc, message = tuple(match.group(3).split(".")), match.group(4)
    column = _GROUP_FIELD_COLUMN.get(tuple(loc), _GROUP_FIELD_COLUMN.get(tuple(loc[:1]), "group_ref"))
    return RowError(group.first_line, column, message)


def policy_column(field: str) -> str:
    """The column a programme policy's refusal (`Proposal.policy_errors`) belongs to: the group's
    size is the group's as a whole; a missing worksite is its first column."""
    return "group_ref" if field == "members" else _GROUP_FIELD_COLUMN.get((field,), field)


def validate_group(group: GroupInFile) -> None:
    _check_group_columns_agree(group)
    data = _group_dict(group)
    try:
        proposal = Proposal.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_context=False):
            group.errors.append(_place(group, tuple(err["loc"]), err["msg"]))
        return
    if not group.errors:
        group.proposal = proposal


def parse(filename: str, data: bytes) -> ParsedFile:
    """Read and validate the whole file (CPU work: run it in a thread)."""
    return parse_sheet(read_sheet(filename, data))


def parse_sheet(sheet: Sheet) -> ParsedFile:
    """Validate a file already read (CPU work: run it in a thread)."""
    if not sheet.rows:
        raise FileError("the file has a header but no rows")
    rows = sheet.rows
    groups: dict[str, GroupInFile] = {}
    orphans: list[GroupInFile] = []
    for line, row in rows:
        ref = row.get("group_ref", "").strip()
        if not ref:
            orphan = GroupInFile(ref="", lines=[line], rows=[row])
            orphan.errors.append(RowError(line, "group_ref", "every line needs the group_ref of its group"))
            orphans.append(orphan)
            continue
        group = groups.setdefault(ref, GroupInFile(ref=ref, lines=[], rows=[]))
        group.lines.append(line)
        group.rows.append(row)
    for group in groups.values():
        validate_group(group)
    _flag_niks_repeated_across_groups(list(groups.values()))
    return ParsedFile(rows=len(rows), groups=[*groups.values(), *orphans])


def _flag_niks_repeated_across_groups(groups: list[GroupInFile]) -> None:
    """A NIK may be in one active group only: the second group in the file that lists it is refused."""
    first_seen: dict[str, tuple[str, int]] = {}
    for group in groups:
        if group.proposal is None:
            continue
        for line, member in zip(group.lines, group.proposal.members, strict=True):
            seen = first_seen.get(member.nik)
            if seen is None:
                first_seen[member.nik] = (group.ref, line)
            elif seen[0] != group.ref:
                group.errors.append(
                    RowError(
                        line, "nik", f"also in group {seen[0]} (line {seen[1]}) of this file", "conflict"
                    )
                )
        if group.errors:
            group.proposal = None
