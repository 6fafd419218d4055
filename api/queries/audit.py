"""The audit log (catatan audit): its rows as auditors read them, its chain check, and a group's
timeline when Temporal has forgotten the workflow."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from api.queries.common import Db, PageParams, Where, region_filter
from api.schemas import AuditRowOut, AuditVerifyOut, HistoryEventOut, Page
from infra.audit import AuditAnchors, verify_chain
from jps.domain.models import Officer
from jps.domain.nik import mask_niks_in


async def audit_log(
    db: Db,
    *,
    officer: Officer,
    paging: PageParams,
    group_id: str | None = None,
    actor: str | None = None,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditRowOut]:
    """Newest first; a regional officer sees the rows of the groups in scope."""
    where = Where()
    scope = region_filter(officer)
    if scope is not None:
        where.add("group_id IN (SELECT group_id FROM groups WHERE region_code LIKE ANY(?::text[]))", scope)
    if group_id:
        where.add("group_id = ?", group_id)
    if actor:
        where.add("actor = ?", actor)
    if event:
        where.add("event = ?", event)
    if since:
        where.add("at >= ?", since)
    if until:
        where.add("at < ?", until)
    total = await db.fetchval(f"SELECT count(*) FROM audit_log WHERE {where.sql}", *where.params)
    rows = await db.fetch(
        f"""SELECT id, group_id, seq, at, actor, actor_roles, event, stage, reason, details, prev_hash, hash
              FROM audit_log WHERE {where.sql} ORDER BY id DESC LIMIT {paging.size} OFFSET {paging.offset}""",
        *where.params,
    )
    items = [
        AuditRowOut(**{**dict(r), "reason": mask_niks_in(r["reason"]), "details": mask_niks_in(r["details"])})
        for r in rows
    ]
    return Page[AuditRowOut](items=items, total=total, page=paging.page, size=paging.size)


async def check_chain(pool: asyncpg.Pool, *, anchors: AuditAnchors | None = None) -> AuditVerifyOut:
    """Walk the whole hash chain (every row: run it on request, not on every page); with `anchors`,
    also against the signed checkpoints of its head (a cut tail), anchoring a valid head in turn."""
    async with pool.acquire() as conn:
        return AuditVerifyOut.model_validate(await verify_chain(conn, anchors))


async def group_timeline(db: Db, *, group_id: str) -> list[HistoryEventOut]:
    """A group's timeline from its audit rows, oldest first (what outlives Temporal's retention)."""
    rows = await db.fetch(
        "SELECT at, event, stage, actor, reason, details FROM audit_log WHERE group_id = $1 ORDER BY id",
        group_id,
    )
    return [
        HistoryEventOut(
            at=r["at"],
            event=r["event"],
            stage=r["stage"],
            officer=r["actor"],
            reason=mask_niks_in(r["reason"]),
            details=mask_niks_in(r["details"] or {}),
        )
        for r in rows
    ]
