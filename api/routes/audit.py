"""The audit log (catatan audit) for auditors: read it, and check its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Auditor, Paging, PoolDep, region_filter
from api.errors import AUTHED, responses
from api.schemas import AuditRowOut, AuditVerifyOut, Page
from api.sql import Where
from infra.audit import verify_chain
from jps.domain.nik import mask_niks_in

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditRowOut],
    summary="The append-only audit log, newest first (auditor)",
    description=(
        "Every officer action and automated step, and every refused attempt (`action_refused`, "
        "`proposal_refused`). A regional auditor sees the rows of groups in scope."
    ),
    responses=responses(*AUTHED, 422),
)
async def audit_log(
    officer: Auditor,
    pool: PoolDep,
    paging: Paging,
    group_id: str | None = None,
    actor: str | None = None,
    event: str | None = None,
    since: Annotated[datetime | None, Query(description="Rows at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Rows before this time")] = None,
) -> dict[str, Any]:
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
    total = await pool.fetchval(f"SELECT count(*) FROM audit_log WHERE {where.sql}", *where.params)
    rows = await pool.fetch(
        f"""SELECT id, group_id, seq, at, actor, actor_roles, event, stage, reason, details, prev_hash, hash
              FROM audit_log WHERE {where.sql} ORDER BY id DESC LIMIT {paging.size} OFFSET {paging.offset}""",
        *where.params,
    )
    items = [
        AuditRowOut(**{**dict(r), "reason": mask_niks_in(r["reason"]), "details": mask_niks_in(r["details"])})
        for r in rows
    ]
    return paging.wrap(items, total)


@router.get(
    "/verify",
    response_model=AuditVerifyOut,
    summary="Check the audit log's hash chain: valid, rows checked, and where it first breaks (auditor)",
    responses=responses(*AUTHED),
)
async def audit_verify(officer: Auditor, pool: PoolDep) -> AuditVerifyOut:
    async with pool.acquire() as conn:
        return AuditVerifyOut.model_validate(await verify_chain(conn))
