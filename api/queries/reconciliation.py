"""Reconciliation mismatches (selisih rekonsiliasi): the list finance and auditors read, and finance's
resolution of one, recorded with the officer and the reason in the audit log in the same transaction.

The rows are opened by `activities.reconciliation_store.open_mismatch` (the runs, and a member's
"TIDAK" to the post-payment verification), one open row per transfer and kind; resolving one is the
only write here. A mismatch belongs to the region of its transfer's group. One without a group (the
bank paid a transfer nobody here instructed) has no region: only national officers see and resolve it.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from api.queries.common import Db, PageParams, Where, region_filter
from api.schemas import Page
from api.schemas.reconciliation import MismatchOut, MismatchStatus, Resolution
from infra.audit import append_officer_audit
from jps.contracts.activities import MismatchKind
from jps.domain.models import Officer

RESOLVED_EVENT = "reconciliation_mismatch_resolved"

_SELECT = """SELECT m.id, m.transfer_id, m.kind, m.group_id, g.name AS group_name, g.program, g.region_code,
                    g.stage, m.ours, m.bank, m.found_at, m.run_id, m.last_seen_at, m.last_run_id,
                    m.resolution, m.resolved_by, m.resolved_at, m.resolution_reason
               FROM reconciliation_mismatches m LEFT JOIN groups g ON g.group_id = m.group_id"""


class MismatchNotFound(LookupError):
    pass


class MismatchAlreadyResolved(ValueError):
    pass


def _out(row: asyncpg.Record) -> MismatchOut:
    data: dict[str, Any] = {k: v for k, v in dict(row).items() if k != "stage"}
    data["status"] = "open" if row["resolved_at"] is None else "resolved"
    return MismatchOut.model_validate(data)


async def list_mismatches(
    db: Db,
    *,
    officer: Officer,
    paging: PageParams,
    status: MismatchStatus | None = None,
    kind: MismatchKind | None = None,
    region: str | None = None,
    group_id: str | None = None,
) -> Page[MismatchOut]:
    """The mismatches in the officer's scope, open ones first, then the oldest found first."""
    where = Where()
    scope = region_filter(officer)
    if scope is not None:
        where.add("g.region_code LIKE ANY(?::text[])", scope)
    if status == "open":
        where.add("m.resolved_at IS NULL")
    elif status == "resolved":
        where.add("m.resolved_at IS NOT NULL")
    if kind:
        where.add("m.kind = ?", kind)
    if region:
        where.add("g.region_code LIKE ?", f"{region}%")
    if group_id:
        where.add("m.group_id = ?", group_id)
    total = await db.fetchval(
        f"""SELECT count(*) FROM reconciliation_mismatches m LEFT JOIN groups g ON g.group_id = m.group_id
             WHERE {where.sql}""",
        *where.params,
    )
    rows = await db.fetch(
        f"""{_SELECT} WHERE {where.sql}
             ORDER BY (m.resolved_at IS NULL) DESC, m.found_at, m.id
             LIMIT {paging.size} OFFSET {paging.offset}""",
        *where.params,
    )
    return Page[MismatchOut](items=[_out(r) for r in rows], total=total, page=paging.page, size=paging.size)


async def get_mismatch(db: Db, *, mismatch_id: int) -> MismatchOut | None:
    row = await db.fetchrow(f"{_SELECT} WHERE m.id = $1", mismatch_id)
    return None if row is None else _out(row)


async def resolve_mismatch(
    pool: asyncpg.Pool, *, officer: Officer, mismatch_id: int, resolution: Resolution, reason: str
) -> MismatchOut:
    """Resolve an open mismatch and audit it; `MismatchNotFound` or `MismatchAlreadyResolved` otherwise.
    The caller has checked the officer's role and the mismatch's region."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE reconciliation_mismatches
                  SET resolved_at = now(), resolved_by = $2, resolution = $3, resolution_reason = $4
                WHERE id = $1 AND resolved_at IS NULL
            RETURNING id, transfer_id, kind, group_id, ours, bank, resolved_at""",
            mismatch_id,
            officer.id,
            resolution,
            reason,
        )
        if row is None:
            if await conn.fetchval("SELECT 1 FROM reconciliation_mismatches WHERE id = $1", mismatch_id):
                raise MismatchAlreadyResolved(f"mismatch {mismatch_id} is already resolved")
            raise MismatchNotFound(f"no mismatch {mismatch_id}")
        stage = await conn.fetchval("SELECT stage FROM groups WHERE group_id = $1", row["group_id"])
        await append_officer_audit(
            conn,
            officer,
            RESOLVED_EVENT,
            group_id=row["group_id"],
            at=row["resolved_at"],
            stage=stage,
            reason=reason,
            details={
                "mismatch_id": row["id"],
                "transfer_id": row["transfer_id"],
                "kind": row["kind"],
                "resolution": resolution,
                "ours": row["ours"],
                "bank": row["bank"],
            },
        )
        found = await get_mismatch(conn, mismatch_id=mismatch_id)
    assert found is not None
    return found
