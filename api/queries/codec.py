"""The audit record of a decode through the codec endpoint: who, which group when known, how many
payloads; never the payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from infra.audit import append_audit
from jps.domain.models import Officer

DECODE_EVENT = "payloads_decoded"


async def record_decode(
    pool: asyncpg.Pool, *, officer: Officer, group_id: str | None, namespace: str, count: int
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await append_audit(
            conn,
            group_id=group_id,
            seq=None,
            at=datetime.now(UTC),
            actor=officer.id,
            actor_roles=[r.value for r in officer.roles],
            event=DECODE_EVENT,
            stage=None,
            details={"count": count, "namespace": namespace},
        )
