"""Evidence files (bukti): receipts (kwitansi) and photos of goods for the LPJ, photos of worksites
for Padat Karya muster rolls. An officer of the group's region uploads one (registrar, mentor or
verifier); any officer of that region lists and downloads them. An officer outside the region gets
the answer an unknown group gets (404), so ids reveal nothing; the attempt is audited.

Every check runs before anything is kept: the purpose, where and when a photo was taken, the size,
and the type as the bytes show it (JPEG, PNG or PDF; `jps.domain.files`). Then the bytes go to the
file store (`infra.filestore`, by sha256) and the row and its audit row (with the hash) to PostgreSQL
in one transaction (`api.queries.files.record_upload`).

The upload route has a body limit of its own (`upload_limit`): the file limit plus room for the
form's other fields, whatever `JPS_MAX_REQUEST_BYTES` allows the other routes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
import structlog
from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, Response, UploadFile, status
from pydantic import AwareDatetime

from api.deps import CurrentOfficer, FilesDep, PoolDep, SettingsDep, authorize
from api.errors import AUTHED, field_error, forbidden, refused, responses, unprocessable
from api.limits import RouteLimit
from api.queries import files as queries
from api.queries import groups
from api.queries.groups import GroupPlace
from api.schemas.files import FileOut, FileUploadedOut
from infra.filestore import FileCorrupted, FileNotStored, FileStoreUnavailable
from jps.domain.files import (
    FILE_ID_PATTERN,
    ContentType,
    EvidencePurpose,
    FileRefused,
    check_evidence,
    new_file_id,
    sanitize_name,
)
from jps.domain.models import Officer
from jps.domain.roles import Role, region_in_scope
from jps.settings import Settings

log = structlog.get_logger()
router = APIRouter(tags=["files"])

UPLOADERS = (Role.REGISTRAR, Role.MENTOR, Role.VERIFIER)
# What a multipart body carries beside the file: boundaries, part headers, the purpose, coordinates
# and a timestamp; a few hundred bytes in practice.
FORM_ROOM_BYTES = 64 * 1024
EARLIEST_CAPTURE = datetime(2020, 1, 1, tzinfo=UTC)  # JPS began in 2020: no evidence is older
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is not a photo from the future


def _too_large(max_file_bytes: int) -> list[dict[str, Any]]:
    return field_error("file", f"the file is larger than {max_file_bytes} bytes", "too_large")


def upload_limit(settings: Settings) -> RouteLimit:
    """The upload route's body limit, for `api.limits.BodyLimitMiddleware`."""
    return RouteLimit(
        "POST",
        re.compile(r"/groups/[^/]+/files"),
        settings.max_file_bytes + FORM_ROOM_BYTES,
        _too_large(settings.max_file_bytes),
    )


async def _audit_out_of_scope(
    pool: asyncpg.Pool, officer: Officer, *, group_id: str, region_code: str, stage: str | None, action: str
) -> None:
    """An attempt on another region's group or file is audited like any refusal; the officer is
    answered as if there were none (404)."""
    await refused(
        pool,
        forbidden(f"region {region_code} is outside your scope"),
        officer=officer,
        group_id=group_id,
        stage=stage,
        action=action,
        event="request_refused",
    )


async def _group_in_scope(
    request: Request,
    group_id: Annotated[str, Path(description="The group id, e.g. TKM-3171-AB12CD34EF")],
    officer: CurrentOfficer,
    pool: PoolDep,
) -> GroupPlace:
    place = await groups.group_place(pool, group_id=group_id)
    if place is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no group {group_id}")
    if not region_in_scope(place.region_code, officer.regions):
        await _audit_out_of_scope(
            pool,
            officer,
            group_id=group_id,
            region_code=place.region_code,
            stage=place.stage,
            action="upload_file" if request.method == "POST" else "list_files",
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no group {group_id}")
    return place


async def _uploader(
    place: Annotated[GroupPlace, Depends(_group_in_scope)], officer: CurrentOfficer
) -> GroupPlace:
    authorize(officer, roles=UPLOADERS, what="uploading an evidence file")
    return place


def _check_place_and_time(lat: float | None, lon: float | None, captured_at: datetime | None) -> None:
    errors = []
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        errors.append((missing, "lat and lon are given together or not at all"))
    if captured_at is not None:
        if captured_at < EARLIEST_CAPTURE:
            errors.append(("captured_at", "before 2020-01-01"))
        elif captured_at > datetime.now(UTC) + CLOCK_SKEW:
            errors.append(("captured_at", "in the future"))
    if errors:
        raise unprocessable(errors, kind="value_error")


@router.post(
    "/groups/{group_id}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=FileUploadedOut,
    summary="Upload an evidence file for a group: a receipt, a photo of goods or of a worksite",
    description=(
        "Multipart: `file` (JPEG, PNG or PDF, as its bytes show, never its name; at most "
        "`JPS_MAX_FILE_BYTES`, 10 MiB by default), `purpose`, and for a photo optionally where "
        "(`lat`, `lon`, both or neither) and when (`captured_at`, with its offset; not before 2020, not "
        "in the future) it was taken. For registrars, mentors and verifiers of the group's region. The "
        "same bytes are stored once (by SHA-256) but every upload gets its own `file_id`; the upload "
        "and its hash are written to the audit log. A refused file is not kept: 413 when too large, "
        "422 when empty or of another type, `detail` naming `file`."
    ),
    responses={
        **responses(*AUTHED, 404, 413, 422, 503),
        201: {"description": "Stored; `Location` is the file's download address"},
    },
)
async def upload_file(
    place: Annotated[GroupPlace, Depends(_uploader)],
    officer: CurrentOfficer,
    pool: PoolDep,
    store: FilesDep,
    settings: SettingsDep,
    response: Response,
    file: Annotated[UploadFile, File(description="The evidence: a JPEG, PNG or PDF")],
    purpose: Annotated[EvidencePurpose, Form(description="What the file is evidence of")],
    lat: Annotated[float | None, Form(ge=-90, le=90, description="Latitude, WGS 84")] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180, description="Longitude, WGS 84")] = None,
    captured_at: Annotated[
        AwareDatetime | None, Form(description="When the photo was taken, e.g. 2020-11-02T09:30:00+07:00")
    ] = None,
) -> FileUploadedOut:
    _check_place_and_time(lat, lon, captured_at)
    data = await file.read(settings.max_file_bytes + 1)  # one byte past the limit tells it was passed
    try:
        content_type = check_evidence(data, max_bytes=settings.max_file_bytes)
    except FileRefused as refusal:
        log.info("file_refused", group_id=place.group_id, kind=refusal.kind, size=len(data))
        if refusal.kind == "too_large":
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=_too_large(settings.max_file_bytes)
            ) from None
        raise unprocessable([(refusal.field, refusal.reason)], kind=refusal.kind) from None
    try:
        sha256 = await store.put(data)
    except FileStoreUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="file store unavailable") from None
    record = queries.FileRecord(
        file_id=new_file_id(),
        group_id=place.group_id,
        sha256=sha256,
        size=len(data),
        content_type=content_type.value,
        purpose=purpose,
        lat=lat,
        lon=lon,
        captured_at=captured_at,
    )
    await queries.record_upload(
        pool,
        officer=officer,
        record=record,
        original_name=sanitize_name(file.filename),
        uploaded_at=datetime.now(UTC),
        stage=place.stage,
    )
    log.info("file_uploaded", group_id=place.group_id, file_id=record.file_id, sha256=sha256)
    response.headers["Location"] = f"/files/{record.file_id}"
    return FileUploadedOut(
        file_id=record.file_id,
        sha256=sha256,
        size=record.size,
        content_type=content_type,
        purpose=purpose,
    )


@router.get(
    "/groups/{group_id}/files",
    response_model=list[FileOut],
    summary="A group's evidence files, the newest first (officers of its region)",
    responses=responses(*AUTHED, 404, 422),
)
async def list_files(place: Annotated[GroupPlace, Depends(_group_in_scope)], pool: PoolDep) -> list[FileOut]:
    return await queries.group_files(pool, group_id=place.group_id)


_EXTENSIONS = {ContentType.JPEG: "jpg", ContentType.PNG: "png", ContentType.PDF: "pdf"}


def _disposition(file_id: str, original_name: str, content_type: str) -> str:
    """Always an attachment: a browser saves the file, never renders it in our origin. The name as
    uploaded (sanitised) where there is one, in RFC 6266's UTF-8 form, with an ASCII fallback."""
    fallback = f"{file_id}.{_EXTENSIONS.get(ContentType(content_type), 'bin')}"
    if not original_name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(original_name, safe='')}"


@router.get(
    "/files/{file_id}",
    response_class=Response,
    summary="Download an evidence file's bytes (officers of its group's region)",
    description=(
        "The bytes as uploaded, with the type detected at upload, `Content-Disposition: attachment` "
        "and `X-Content-Type-Options: nosniff`. Unknown ids and files of groups outside your region: 404."
    ),
    responses={
        200: {
            "description": "The file",
            "content": {c.value: {"schema": {"type": "string", "format": "binary"}} for c in ContentType},
        },
        **responses(*AUTHED, 404, 422, 503),
    },
)
async def download_file(
    file_id: Annotated[str, Path(pattern=FILE_ID_PATTERN, description="e.g. F-01J9Z6Q0K8V3M4N5P6R7S8T9VW")],
    officer: CurrentOfficer,
    pool: PoolDep,
    store: FilesDep,
) -> Response:
    found = await queries.file_with_region(pool, file_id=file_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {file_id}")
    if not region_in_scope(found.region_code, officer.regions):
        await _audit_out_of_scope(
            pool,
            officer,
            group_id=found.record.group_id,
            region_code=found.region_code,
            stage=None,
            action="download_file",
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {file_id}")
    try:
        data = await store.get(found.record.sha256)
    except (FileNotStored, FileCorrupted, FileStoreUnavailable) as exc:
        log.error("file_bytes_unavailable", file_id=file_id, sha256=found.record.sha256, error=repr(exc))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="file store unavailable") from None
    record = found.record
    return Response(
        content=data,
        media_type=record.content_type,
        headers={
            "Content-Disposition": _disposition(record.file_id, found.original_name, record.content_type),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
