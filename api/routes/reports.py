"""Reports (laporan): per programme and stage, how many groups and people, and how much money."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentOfficer, PoolDep
from api.errors import AUTHED, responses
from api.queries import reports
from api.schemas import SummaryOut

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/summary",
    response_model=SummaryOut,
    summary="Per programme and stage: groups, people and amounts, in my region scope",
    description=(
        "`as_of` (YYYY-MM-DD) gives the figures at the end of that day in Jakarta time (WIB): each group "
        "in the stage it was in then, money counted as paid once the bank confirmed it by then. "
        "`approved_amount` is the group's current approved amount."
    ),
    responses=responses(*AUTHED, 422),
)
async def summary(
    officer: CurrentOfficer,
    pool: PoolDep,
    as_of: Annotated[date | None, Query(description="End of this day, Jakarta time; omitted = now")] = None,
) -> SummaryOut:
    return await reports.summary(pool, officer=officer, as_of=as_of)
