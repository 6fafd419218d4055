"""Evidence files (bukti) kept and served: the one path of the JSON API (`api/routes/files.py`) and the
console's LPJ form (`api/console/lpj.py`), so a receipt uploaded from either is checked, stored,
recorded and audited the same way, and read back only by officers of its group's region.

Checking (`checked_upload`: where and when a photo was taken, then size and type from the bytes) is
apart from keeping (`keep_upload`: the bytes to the file store by sha256, then the row and its audit
row in one transaction), so a form carrying several files checks them all before it keeps any.
Each refusal is the HTTPException the API answers, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import structlog
from fastapi import HTTPException, Response, status

from api.errors import field_error, forbidden, refused, unprocessable
from api.queries import files as queries
from api.queries.files import StoredFile
from api.queries.groups import GroupPlace
from api.schemas.files import FileUploadedOut
from infra.filestore import FileCorrupted, FileNotStored, FileStore, FileStoreUnavailable
from jps.domain.files import (
    ContentType,
    EvidencePurpose,
    FileRefused,
    check_evidence,
    new_file_id,
    sanitize_name,
)
from jps.domain.models import Officer
from jps.domain.roles import region_in_scope

log = structlog.get_logger()

EARLIEST_CAPTURE = datetime(2020, 1, 1, tzinfo=UTC)  # JPS began in 2020: no evidence is older
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is not a photo from the future


def too_large(max_file_bytes: int, field: str = "file") -> list[dict[str, Any]]:
    return field_error(field, f"the file is larger than {max_file_bytes} bytes", "too_large")


async def audit_out_of_scope(
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


def check_place_and_time(lat: float | None, lon: float | None, captured_at: datetime | None) -> None:
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


def checked_upload(data: bytes, *, max_bytes: int, group_id: str, field: str = "file") -> ContentType:
    """The file's type as its bytes show it; a 413 (too large) or 422 (empty, another type) naming
    `field` otherwise. Nothing is kept either way."""
    try:
        return check_evidence(data, max_bytes=max_bytes)
    except FileRefused as refusal:
        log.info("file_refused", group_id=group_id, kind=refusal.kind, size=len(data), field=field)
        if refusal.kind == "too_large":
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=too_large(max_bytes, field)
            ) from None
        raise unprocessable([(field, refusal.reason)], kind=refusal.kind) from None


@dataclass(frozen=True)
class Upload:
    """A checked file on its way to the store: its bytes, type and what it is evidence of."""

    data: bytes
    content_type: ContentType
    purpose: EvidencePurpose
    filename: str | None = None
    lat: float | None = None
    lon: float | None = None
    captured_at: datetime | None = None


async def keep_upload(
    pool: asyncpg.Pool, store: FileStore, *, officer: Officer, place: GroupPlace, upload: Upload
) -> FileUploadedOut:
    """The bytes to the file store, then the file's row and its audit row (with the hash); 503 when
    the store cannot take them."""
    try:
        sha256 = await store.put(upload.data)
    except FileStoreUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="file store unavailable") from None
    record = queries.FileRecord(
        file_id=new_file_id(),
        group_id=place.group_id,
        sha256=sha256,
        size=len(upload.data),
        content_type=upload.content_type.value,
        purpose=upload.purpose,
        lat=upload.lat,
        lon=upload.lon,
        captured_at=upload.captured_at,
    )
    await queries.record_upload(
        pool,
        officer=officer,
        record=record,
        original_name=sanitize_name(upload.filename),
        uploaded_at=datetime.now(UTC),
        stage=place.stage,
    )
    log.info("file_uploaded", group_id=place.group_id, file_id=record.file_id, sha256=sha256)
    return FileUploadedOut(
        file_id=record.file_id,
        sha256=sha256,
        size=record.size,
        content_type=upload.content_type,
        purpose=upload.purpose,
    )


async def read_evidence(
    pool: asyncpg.Pool, store: FileStore, officer: Officer, file_id: str
) -> tuple[StoredFile, bytes]:
    """A file and its bytes for an officer of its group's region: 404 for an unknown id and for
    another region's file (that attempt audited), 503 when the store cannot give the bytes."""
    found = await queries.file_with_region(pool, file_id=file_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {file_id}")
    if not region_in_scope(found.region_code, officer.regions):
        await audit_out_of_scope(
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
    return found, data


_EXTENSIONS = {ContentType.JPEG: "jpg", ContentType.PNG: "png", ContentType.PDF: "pdf"}


def _disposition(file_id: str, original_name: str, content_type: str) -> str:
    """Always an attachment: a browser saves the file, never renders it in our origin. The name as
    uploaded (sanitised) where there is one, in RFC 6266's UTF-8 form, with an ASCII fallback."""
    fallback = f"{file_id}.{_EXTENSIONS.get(ContentType(content_type), 'bin')}"
    if not original_name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(original_name, safe='')}"


def file_response(found: StoredFile, data: bytes) -> Response:
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
