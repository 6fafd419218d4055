"""The audit log (catatan audit) for auditors: read it, and check its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Auditor, Paging, PoolDep, SettingsDep
from api.errors import AUTHED, responses
from api.queries import audit
from api.schemas import AuditRowOut, AuditVerifyOut, Page
from infra.audit import AuditAnchors

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
) -> Page[AuditRowOut]:
    return await audit.audit_log(
        pool,
        officer=officer,
        paging=paging,
        group_id=group_id,
        actor=actor,
        event=event,
        since=since,
        until=until,
    )


@router.get(
    "/verify",
    response_model=AuditVerifyOut,
    summary="Check the audit log's hash chain: valid, rows checked, and where it first breaks (auditor)",
    description=(
        "The chain is also checked against the signed anchors of its head (`JPS_AUDIT_ANCHOR_PATH`): "
        "fewer rows than an anchor counts (a deleted tail, an emptied table), or another row at an "
        "anchored position, is invalid. A valid head is anchored in turn."
    ),
    responses=responses(*AUTHED),
)
async def audit_verify(officer: Auditor, pool: PoolDep, settings: SettingsDep) -> AuditVerifyOut:
    anchors = AuditAnchors.of(settings)
    return await audit.check_chain(pool, anchors=anchors)
