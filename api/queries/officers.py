"""The officer directory, read: the admin's listing and detail, and `Directory`, what every request's
token is checked against (api/deps.py). Writes go through `infra.officers`."""

from __future__ import annotations

import time

import asyncpg

from api.queries.common import PageParams
from api.schemas import OfficerOut, Page
from infra.officers import COLUMNS, OfficerRecord, get_record


def officer_out(record: OfficerRecord) -> OfficerOut:
    return OfficerOut(
        id=record.id,
        name=record.name,
        roles=record.roles,
        regions=record.regions,
        active=record.active,
        locked_until=record.locked_until,
        second_factor=record.totp_sealed is not None,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


async def list_officers(
    pool: asyncpg.Pool, *, paging: PageParams, active: bool | None = None, q: str | None = None
) -> Page[OfficerOut]:
    where = (
        "WHERE ($1::boolean IS NULL OR active = $1) AND ($2::text IS NULL OR id ILIKE $2 OR name ILIKE $2)"
    )
    pattern = f"%{q}%" if q else None
    total = await pool.fetchval(f"SELECT count(*) FROM officers {where}", active, pattern)
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM officers {where} ORDER BY id LIMIT $3 OFFSET $4",
        active,
        pattern,
        paging.size,
        paging.offset,
    )
    items = [officer_out(OfficerRecord.of(r)) for r in rows]
    return Page[OfficerOut](items=items, total=total, page=paging.page, size=paging.size)


async def get_officer(pool: asyncpg.Pool, *, officer_id: str) -> OfficerOut | None:
    record = await get_record(pool, officer_id)
    return officer_out(record) if record else None


class Directory:
    """The directory as requests see it: an officer's record, kept for at most `ttl_s` seconds (0:
    read on every request), so a deactivation or a change of roles reaches every request within it."""

    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, OfficerRecord | None]] = {}

    async def lookup(self, officer_id: str) -> OfficerRecord | None:
        now = time.monotonic()
        if self._ttl_s > 0:
            hit = self._cache.get(officer_id)
            if hit is not None and now - hit[0] < self._ttl_s:
                return hit[1]
        record = await get_record(self._pool, officer_id)
        if self._ttl_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[officer_id] = (now, record)
        return record
