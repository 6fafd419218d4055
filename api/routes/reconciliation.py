"""Reconciliation (rekonsiliasi) for people: the mismatches the nightly runs found between our payments
and the bank's statement, which finance in the group's region resolves and auditors read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query

from api import service
from api.deps import CurrentOfficer, Paging, PoolDep, require
from api.errors import AUTHED, responses
from api.queries import reconciliation
from api.queries.common import BIGINT_MAX
from api.schemas import Page
from api.schemas.budget import REGION_PATTERN
from api.schemas.reconciliation import MismatchOut, MismatchResolveIn, MismatchStatus
from jps.contracts.activities import MismatchKind
from jps.domain.models import Officer
from jps.domain.roles import Role

router = APIRouter(prefix="/reconciliation", tags=["reconciliation"])

MismatchReader = Annotated[Officer, Depends(require(Role.FINANCE, Role.AUDITOR))]


@router.get(
    "/mismatches",
    response_model=Page[MismatchOut],
    summary="Mismatches between our payments and the bank's statement (finance, auditor)",
    description=(
        "Open ones first, then the oldest found. A regional officer sees those of the groups in scope; "
        "a mismatch without a group (the bank paid a transfer we have no row for) only national officers."
    ),
    responses=responses(*AUTHED, 422),
)
async def list_mismatches(
    officer: MismatchReader,
    pool: PoolDep,
    paging: Paging,
    status_: Annotated[
        MismatchStatus | None, Query(alias="status", description="open or resolved; omitted: both")
    ] = None,
    kind: MismatchKind | None = None,
    region: Annotated[
        str | None, Query(pattern=REGION_PATTERN, description="A province (2 digits) or regency (4)")
    ] = None,
    group_id: str | None = None,
) -> Page[MismatchOut]:
    return await reconciliation.list_mismatches(
        pool, officer=officer, paging=paging, status=status_, kind=kind, region=region, group_id=group_id
    )


@router.post(
    "/mismatches/{mismatch_id}/resolve",
    response_model=MismatchOut,
    summary="Resolve a mismatch, with the reason (finance in the group's region)",
    description=(
        "Recorded with the officer and the reason in the audit log (`reconciliation_mismatch_resolved`). "
        "A resolved mismatch stays resolved: the next runs do not open it again unless its figures change. "
        "409 when it is already resolved."
    ),
    responses=responses(*AUTHED, 404, 409, 422),
)
async def resolve_mismatch(
    officer: CurrentOfficer,
    pool: PoolDep,
    mismatch_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],  # a bigint column: beyond it 422, not 500
    body: Annotated[MismatchResolveIn, Body()],
) -> MismatchOut:
    return await service.resolve_mismatch(pool, officer, mismatch_id, body)
