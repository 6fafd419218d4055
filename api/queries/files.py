"""Evidence files: the `files` rows (one per upload; the bytes are in the file store, by sha256).

An upload's row and its audit row (carrying the hash) are written in one transaction; a file is only
ever read within its group (`files_by_id`, which the LPJ and the muster roll call to resolve the ids
an officer cites), or by id with its group's region, for the scope check before the bytes are served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from api.queries.common import Db
from api.schemas.files import FileOut
from infra.audit import append_officer_audit
from jps.domain.files import EvidencePurpose
from jps.domain.models import Officer

_RECORD_COLUMNS = "file_id, group_id, sha256, size, content_type, purpose, lat, lon, captured_at"
_OUT_COLUMNS = f"{_RECORD_COLUMNS}, original_name, uploaded_by, uploaded_at"


@dataclass(frozen=True)
class FileRecord:
    """An uploaded evidence file as the steps that cite it need it: the group it belongs to, its hash
    (a receipt reused across groups is found by it), its type and purpose, and where and when a photo
    was taken."""

    file_id: str
    group_id: str
    sha256: str
    size: int
    content_type: str  # image/jpeg | image/png | application/pdf, detected from the bytes
    purpose: EvidencePurpose
    lat: float | None
    lon: float | None
    captured_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> FileRecord:
        return cls(
            file_id=row["file_id"],
            group_id=row["group_id"],
            sha256=row["sha256"],
            size=row["size"],
            content_type=row["content_type"],
            purpose=EvidencePurpose(row["purpose"]),
            lat=row["lat"],
            lon=row["lon"],
            captured_at=row["captured_at"],
        )


async def files_by_id(pool_or_conn: Db, *, group_id: str, file_ids: list[str]) -> dict[str, FileRecord]:
    """The files among `file_ids` that belong to `group_id`, by id. An id of another group's file, or
    of none, is simply absent: the caller names it as the field in error."""
    if not file_ids:
        return {}
    rows = await pool_or_conn.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM files WHERE group_id = $1 AND file_id = ANY($2::text[])",
        group_id,
        list(file_ids),
    )
    return {r["file_id"]: FileRecord.of(r) for r in rows}


async def record_upload(
    pool: asyncpg.Pool,
    *,
    officer: Officer,
    record: FileRecord,
    original_name: str,
    uploaded_at: datetime,
    stage: str | None,
) -> None:
    """The upload's row and its audit row (`file_uploaded`, with the sha256), both or neither. The
    bytes are already in the store: a row never names bytes that are not there."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            f"""INSERT INTO files ({_OUT_COLUMNS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            record.file_id,
            record.group_id,
            record.sha256,
            record.size,
            record.content_type,
            record.purpose.value,
            record.lat,
            record.lon,
            record.captured_at,
            original_name,
            officer.id,
            uploaded_at,
        )
        await append_officer_audit(
            conn,
            officer,
            "file_uploaded",
            group_id=record.group_id,
            stage=stage,
            details={
                "file_id": record.file_id,
                "sha256": record.sha256,
                "size": record.size,
                "content_type": record.content_type,
                "purpose": record.purpose.value,
            },
            at=uploaded_at,
        )


async def group_files(db: Db, *, group_id: str) -> list[FileOut]:
    """A group's files, the newest first."""
    rows = await db.fetch(
        f"SELECT {_OUT_COLUMNS} FROM files WHERE group_id = $1 ORDER BY uploaded_at DESC, file_id",
        group_id,
    )
    return [FileOut.model_validate(dict(r)) for r in rows]


@dataclass(frozen=True)
class StoredFile:
    record: FileRecord
    original_name: str
    region_code: str  # of the file's group: whose officers may read it


async def file_with_region(db: Db, *, file_id: str) -> StoredFile | None:
    row = await db.fetchrow(
        f"""SELECT {", ".join(f"f.{c.strip()}" for c in _RECORD_COLUMNS.split(","))},
                   f.original_name, g.region_code
              FROM files f JOIN groups g USING (group_id) WHERE f.file_id = $1""",
        file_id,
    )
    if row is None:
        return None
    return StoredFile(FileRecord.of(row), row["original_name"], row["region_code"])
