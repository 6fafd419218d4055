"""Evidence files (bukti): receipts (kwitansi) and photos of goods for the LPJ, photos of worksites
for Padat Karya muster rolls. An officer of the group's region uploads one (registrar, mentor or
verifier); any officer of that region lists and downloads them. An officer outside the region gets
the answer an unknown group gets (404), so ids reveal nothing; the attempt is audited.

Every check runs before anything is kept: the purpose, where and when a photo was taken, the size,
and the type as the bytes show it (JPEG, PNG or PDF; `jps.domain.files`). Then the bytes go to the
file store (`infra.filestore`, by sha256) and the row and its audit row (with the hash) to PostgreSQL
in one transaction (`api.queries.files.record_upload`). The checking, keeping and serving are
`api.evidence`'s, which the console's LPJ form calls too.

The upload route has a body limit of its own (`upload_limit`): the file limit plus room for the
form's other fields, whatever `JPS_MAX_REQUEST_BYTES` allows the other routes.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, Response, UploadFile, status
from pydantic import AwareDatetime

from api.deps import CurrentOfficer, FilesDep, PoolDep, SettingsDep, authorize
from api.errors import AUTHED, responses
from api.evidence import (
    Upload,
    audit_out_of_scope,
    check_place_and_time,
    checked_upload,
    file_response,
    keep_upload,
    read_evidence,
    too_large,
)
from api.limits import RouteLimit
from api.queries import files as queries
from api.queries import groups
from api.queries.groups import GroupPlace
from api.schemas.files import FileOut, FileUploadedOut
from jps.domain.files import FILE_ID_PATTERN, ContentType, EvidencePurpose
from jps.domain.roles import Role, region_in_scope
from jps.settings import Settings

router = APIRouter(tags=["files"])

UPLOADERS = (Role.REGISTRAR, Role.MENTOR, Role.VERIFIER)
# What a multipart body carries beside the file: boundaries, part headers, the purpose, coordinates
# and a timestamp; a few hundred bytes in practice.
FORM_ROOM_BYTES = 64 * 1024


def upload_limit(settings: Settings) -> RouteLimit:
    """The upload route's body limit, for `api.limits.BodyLimitMiddleware`."""
    return RouteLimit(
        "POST",
        re.compile(r"/groups/[^/]+/files"),
        settings.max_file_bytes + FORM_ROOM_BYTES,
        too_large(settings.max_file_bytes),
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
        await audit_out_of_scope(
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
    check_place_and_time(lat, lon, captured_at)
    data = await file.read(settings.max_file_bytes + 1)  # one byte past the limit tells it was passed
    content_type = checked_upload(data, max_bytes=settings.max_file_bytes, group_id=place.group_id)
    upload = Upload(data, content_type, purpose, file.filename, lat, lon, captured_at)
    uploaded = await keep_upload(pool, store, officer=officer, place=place, upload=upload)
    response.headers["Location"] = f"/files/{uploaded.file_id}"
    return uploaded


@router.get(
    "/groups/{group_id}/files",
    response_model=list[FileOut],
    summary="A group's evidence files, the newest first (officers of its region)",
    responses=responses(*AUTHED, 404, 422),
)
async def list_files(place: Annotated[GroupPlace, Depends(_group_in_scope)], pool: PoolDep) -> list[FileOut]:
    return await queries.group_files(pool, group_id=place.group_id)


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
    found, data = await read_evidence(pool, store, officer, file_id)
    return file_response(found, data)
