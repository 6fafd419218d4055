"""Padat Karya muster rolls and weekly wage runs (issue 13): a group's weeks (the roll with its
entries, evidence and exceptions, and the wage run it became), and the wages report. The steps
themselves are actions (`submit-muster`, `review-muster`, `approve-wages`, `authorize-wages`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentOfficer, PoolDep, ScopedGroup
from api.errors import AUTHED, responses
from api.queries import muster
from api.schemas.muster import WageReportOut, WeeksOut

router = APIRouter(tags=["wages"])


@router.get(
    "/groups/{group_id}/rolls",
    response_model=WeeksOut,
    summary="The group's weekly muster rolls: entries (NIKs masked), evidence per day, exceptions",
    responses=responses(*AUTHED, 404, 422),
)
async def group_rolls(group: ScopedGroup, pool: PoolDep) -> WeeksOut:
    return await muster.weeks(pool, group_id=group.group_id)


@router.get(
    "/groups/{group_id}/wage-runs",
    response_model=WeeksOut,
    summary="The group's weekly wage runs: per worker days, rate, amount, transfer and status",
    responses=responses(*AUTHED, 404, 422),
)
async def group_wage_runs(group: ScopedGroup, pool: PoolDep) -> WeeksOut:
    out = await muster.weeks(pool, group_id=group.group_id)
    for week in out.items:
        week.entries, week.evidence = [], []
    out.items = [w for w in out.items if w.status != "in_review"]
    out.total = len(out.items)
    return out


@router.get(
    "/reports/wages",
    response_model=WageReportOut,
    summary="Padat Karya wages per group and regency: workdays planned and worked, paid, owed, struck",
    responses=responses(*AUTHED, 422),
)
async def wage_report(
    officer: CurrentOfficer,
    pool: PoolDep,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2}(\d{2})?$", description="Province (2) or regency (4) prefix")
    ] = None,
) -> WageReportOut:
    return await muster.wage_report(pool, officer=officer, region=region)
