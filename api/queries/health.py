"""Whether PostgreSQL answers (the `/health` probe)."""

from __future__ import annotations

from api.queries.common import Db


async def ping(db: Db) -> None:
    await db.fetchval("SELECT 1")
