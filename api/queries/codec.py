"""The audit record of a decode through the codec endpoint: who, which group when known, how many
payloads; never the payloads."""

from __future__ import annotations

import asyncpg

from infra.audit import append_officer_audit
from jps.domain.models import Officer

DECODE_EVENT = "payloads_decoded"


async def record_decode(
    pool: asyncpg.Pool, *, officer: Officer, group_id: str | None, namespace: str, count: int
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await append_officer_audit(
            conn, officer, DECODE_EVENT, group_id=group_id, details={"count": count, "namespace": namespace}
        )
