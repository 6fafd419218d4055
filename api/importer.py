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

Reading the file's bytes into lines of cell text (the encodings, the XLSX checks against zip bombs
and declared sizes, calamine or openpyxl) is `api/sheet_reader.py`; this module reads the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api.sheet_reader import FileError, file_rows
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
    for line, values in file_rows(filename, data):
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
