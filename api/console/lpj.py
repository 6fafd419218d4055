"""The LPJ form of a group's page (laporan pertanggungjawaban, a TKM group's use-of-funds report) and
the evidence files it shows: spending lines with their receipts, posted as one multipart form.

Each line cites a receipt already uploaded to the group or carries a new one (and maybe a photo of
the goods). A new file is checked and kept by `api.evidence`, the path of `POST /groups/{id}/files`;
the report then goes through `api.service.perform_action`, the path of
`POST /groups/{id}/actions/submit-lpj`. Every file is checked, and the lines against the programme's
LPJ rules (`jps.domain.lpj`), before any file is kept, so a form refused for a reason the page can see
stores nothing; the workflow still decides. A refusal comes back on the group's page with the rows as
posted (new files now chosen from the group's list) and the line named.

Files are served at `/berkas/{file_id}` to officers of the group's region only, as `GET /files/{id}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.console.actions import FormError, rupiah_field
from api.console.i18n import Translator
from api.console.render import ConsoleRoute
from api.console.routes import LPJ_ROWS, group_page_html
from api.console.session import OfficerCtx, signed_in
from api.deps import Services, ServicesDep, TemporalDep, guard_action
from api.errors import unprocessable
from api.evidence import Upload, checked_upload, file_response, keep_upload, read_evidence, too_large
from api.limits import RouteLimit
from api.queries import lpj as lpj_queries
from api.queries.files import files_by_id
from api.queries.groups import GroupPlace
from api.service import full_args, perform_action
from infra.filestore import sha256_of
from jps.domain.actions import ACTIONS
from jps.domain.calendar import local_date
from jps.domain.files import FILE_ID_PATTERN, ContentType, EvidencePurpose
from jps.domain.lpj import lpj_problem
from jps.domain.models import Officer, SubmitLpjArgs
from jps.domain.nik import mask_niks_in
from jps.domain.programs import Program
from jps.settings import Settings

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ACTION = "submit-lpj"
# Every row may carry a receipt and a photo; room beyond that for the form's text fields.
FORM_ROOM_BYTES = 256 * 1024


def lpj_form_limit(settings: Settings) -> RouteLimit:
    """The LPJ form's body limit, for `api.limits.BodyLimitMiddleware`: a receipt and a photo per row."""
    return RouteLimit(
        "POST",
        re.compile(r"/kelompok/[^/]+/lpj"),
        2 * LPJ_ROWS * settings.max_file_bytes + FORM_ROOM_BYTES,
        too_large(settings.max_file_bytes),
    )


# ---- the form's rows ----

_TEXT_FIELDS = ("category", "amount", "spent_on", "supplier", "receipt", "photo")
_KINDS = {"receipt": EvidencePurpose.RECEIPT, "photo": EvidencePurpose.GOODS_PHOTO}
_FIELD_OF = {"receipt": "file_id", "photo": "photo_file_id"}


@dataclass
class _NewFile:
    """A file a row brings, checked (its bytes, type and hash) before any is kept."""

    upload: UploadFile
    data: bytes = b""
    content_type: ContentType | None = None


@dataclass
class _Row:
    """One filled row of the form: what was typed, and the files it brings."""

    row: int  # 0-based on the form
    raw: dict[str, str]
    new: dict[str, _NewFile] = field(default_factory=dict)  # receipt | photo


def _upload_of(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


def _rows(form: FormData) -> list[_Row]:
    rows = []
    for i in range(LPJ_ROWS):
        raw = {}
        for key in _TEXT_FIELDS:
            value = form.get(f"l{i}_{key}")
            raw[key] = value.strip() if isinstance(value, str) else ""
        new = {kind: _NewFile(u) for kind in _KINDS if (u := _upload_of(form, f"l{i}_{kind}_file"))}
        # The category has a default and the date starts at today: a row counts once anything else is in it.
        if any(raw[k] for k in ("amount", "supplier", "receipt", "photo")) or new:
            rows.append(_Row(i, raw, new))
    return rows


def _body(rows: Sequence[_Row], notes: str, ids: dict[tuple[int, str], str]) -> dict[str, Any]:
    """The request body `submit-lpj` takes; `ids` names the file of each (row, receipt|photo) kept."""
    lines = []
    for j, row in enumerate(rows):
        try:
            amount = rupiah_field(row.raw, "amount", required=True)
        except FormError as exc:
            raise FormError(f"lines[{j}].amount", exc.reason) from None
        lines.append(
            {
                "category": row.raw["category"],
                "amount": amount,
                "spent_on": row.raw["spent_on"] or None,
                "supplier": row.raw["supplier"],
                "file_id": ids.get((row.row, "receipt")) or row.raw["receipt"] or None,
                "photo_file_id": ids.get((row.row, "photo")) or row.raw["photo"] or None,
            }
        )
    return {"lines": lines, "notes": notes}


async def _check_files(rows: Sequence[_Row], max_bytes: int, group_id: str) -> None:
    """Read and check every new file (its size, and its type from its bytes) before any is kept."""
    for j, row in enumerate(rows):
        for kind, new in row.new.items():
            new.data = await new.upload.read(max_bytes + 1)  # one byte past the limit tells it was passed
            where = f"lines[{j}].{_FIELD_OF[kind]}"
            new.content_type = checked_upload(new.data, max_bytes=max_bytes, group_id=group_id, field=where)


async def _check_lines(services: Services, group_id: str, rows: Sequence[_Row], args: SubmitLpjArgs) -> None:
    """The programme's LPJ rules over the lines as they would be submitted (a new receipt by the hash
    of its bytes), before a file is kept: a report that does not add up stores nothing. The workflow
    checks them again under the group's own policy, and decides."""
    owed = await lpj_queries.lpj_of(services.pool, group_id=group_id)
    policy = services.policies[Program(owed.program)].lpj if owed else None
    if owed is None or policy is None:
        return  # the workflow says why: this group owes no LPJ
    known = await files_by_id(
        services.pool, group_id=group_id, file_ids=[line.file_id for line in args.lines]
    )
    lines = []
    for row, line in zip(rows, args.lines, strict=True):
        new = row.new.get("receipt")
        sha = sha256_of(new.data) if new else known[line.file_id].sha256 if line.file_id in known else None
        lines.append(line.model_copy(update={"receipt_sha256": sha}))
    problem = lpj_problem(
        lines,
        paid=owed.paid,
        paid_on=local_date(owed.paid_at),
        today=local_date(datetime.now(UTC)),
        policy=policy,
    )
    if problem:
        where, _, reason = problem.partition(": ")
        raise unprocessable([(where, reason)], kind="policy")


async def _keep_files(
    services: Services, officer: Officer, place: GroupPlace, rows: Sequence[_Row]
) -> dict[tuple[int, str], str]:
    ids: dict[tuple[int, str], str] = {}
    for row in rows:
        for kind, new in row.new.items():
            assert new.content_type is not None  # checked by _check_files
            upload = Upload(new.data, new.content_type, _KINDS[kind], new.upload.filename)
            kept = await keep_upload(
                services.pool, services.files, officer=officer, place=place, upload=upload
            )
            ids[(row.row, kind)] = kept.file_id
    return ids


# ---- refusals, each naming the form's row ----

_LINE_REF = re.compile(r"^lines\[(\d+)\]$")


def lpj_error_lines(errors: Sequence[dict[str, Any]], t: Translator, rows: Sequence[int]) -> list[str]:
    """Errors (FastAPI's `detail` shape or pydantic's) as lines an officer reads: `lines[1].amount`
    becomes "Baris 3 · Jumlah" when the report's second line was the form's third row."""
    out = []
    for error in errors:
        parts: list[str] = []
        for part in error.get("loc", ()):
            if part == "body":
                continue
            if isinstance(part, int) and parts and parts[-1] == "lines":
                parts[-1] = f"lines[{part}]"
            else:
                parts.extend(str(part).split("."))
        label = ".".join(parts)
        if parts and (found := _LINE_REF.match(parts[0])):
            j = int(found.group(1))
            row = t("lpj_row", n=rows[j] + 1 if j < len(rows) else j + 1)
            rest = parts[1:]
            label = f"{row} · {t(rest[-1]) if rest and t.has(rest[-1]) else '.'.join(rest)}" if rest else row
        elif parts and t.has(parts[-1]):
            label = str(t(parts[-1]))
        msg = str(error.get("msg", ""))
        out.append(str(mask_niks_in(f"{label}: {msg}" if label else msg)))
    return out


def _detail_errors(detail: Any) -> list[dict[str, Any]]:
    """A refusal's detail as a list of errors: a workflow's "field: reason" sentence is one."""
    if isinstance(detail, list):
        return detail
    name, sep, reason = str(detail).partition(": ")
    if sep and " " not in name:
        return [{"loc": name.split("."), "msg": reason}]
    return [{"loc": (), "msg": str(detail)}]


# ---- routes ----


@router.post("/kelompok/{group_id}/lpj")
async def submit_lpj(group_id: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep) -> Response:
    """The LPJ form: the new files checked, the lines checked, then the files kept and the report sent."""
    officer = signed_in(ctx)
    spec = ACTIONS[ACTION]
    rows: list[_Row] = []
    places: list[int] = []
    ids: dict[tuple[int, str], str] = {}
    errors: list[str] = []
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    try:
        # the role and the region first (a refusal is audited), then the form is read
        action_ctx = await guard_action(services.pool, officer, spec, group_id)
        form = await ctx.request.form(max_files=2 * LPJ_ROWS, max_fields=20 * LPJ_ROWS)
        notes = form.get("notes")
        rows = _rows(form)
        places = [row.row for row in rows]
        if not rows:
            raise FormError("lines", "fill in at least one spending line")
        await _check_files(rows, services.settings.max_file_bytes, group_id)
        pending = {(r.row, kind): f"F-NEW{kind.upper()}{r.row:02d}" for r in rows for kind in r.new}
        args = SubmitLpjArgs.model_validate(_body(rows, notes if isinstance(notes, str) else "", pending))
        await _check_lines(services, group_id, rows, args)
        place = GroupPlace(group_id, action_ctx.region_code, action_ctx.stage)
        ids = await _keep_files(services, officer, place, rows)
        body = _body(rows, args.notes, ids)
        await perform_action(services, client, action_ctx, spec, full_args(spec, body, officer))
    except FormError as exc:
        errors = lpj_error_lines([{"loc": exc.field.split("."), "msg": exc.reason}], ctx.t, places)
    except ValidationError as exc:
        errors = lpj_error_lines([dict(e) for e in exc.errors(include_url=False)], ctx.t, places)
    except RequestValidationError as exc:
        errors = lpj_error_lines(list(exc.errors()), ctx.t, places)
    except HTTPException as exc:
        if exc.status_code in (401, 404):
            raise
        code = exc.status_code
        errors = lpj_error_lines(_detail_errors(exc.detail), ctx.t, places)
    if errors:
        return await group_page_html(
            ctx,
            services,
            group_id,
            status_code=code,
            errors=errors,
            failed=ACTION,
            lpj_rows=_refill(rows, ids),
        )
    return RedirectResponse(
        f"/kelompok/{quote(group_id)}?done={ACTION}", status_code=status.HTTP_303_SEE_OTHER
    )


def _refill(rows: Sequence[_Row], ids: dict[tuple[int, str], str]) -> list[dict[str, str]]:
    """The form's rows as posted, each at its place; a file kept on the way is now chosen from the list."""
    out = [dict.fromkeys(_TEXT_FIELDS, "") for _ in range(LPJ_ROWS)]
    for row in rows:
        out[row.row] = {
            **row.raw,
            "receipt": ids.get((row.row, "receipt"), row.raw["receipt"]),
            "photo": ids.get((row.row, "photo"), row.raw["photo"]),
        }
    return out


@router.get("/berkas/{file_id}")
async def evidence_file(
    file_id: Annotated[str, Path(pattern=FILE_ID_PATTERN)], ctx: OfficerCtx, services: ServicesDep
) -> Response:
    """An evidence file's bytes, as `GET /files/{id}` serves them: officers of its group's region."""
    found, data = await read_evidence(services.pool, services.files, signed_in(ctx), file_id)
    return file_response(found, data)
