"""Reports (laporan): per programme and stage, how many groups and people, and how much money; the
managers' reports the console's dashboard draws (funnel, stalls, allocation, LPJ status) and the
auditors' list of groups paid without an accepted LPJ."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from api import exports
from api.deps import CurrentOfficer, Paging, PoolDep
from api.errors import AUTHED, responses
from api.exports import XLSX_MEDIA_TYPE
from api.queries import dashboard, reports
from api.schemas import Page, SummaryOut
from api.schemas.dashboard import (
    LPJ_COLUMNS,
    AllocationReportOut,
    FunnelOut,
    LpjRowOut,
    LpjStatusOut,
    StallsOut,
)
from api.schemas.reports import EARLIEST_DAY, LATEST_DAY
from jps.domain.programs import Program

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


# ---- the managers' reports (the console's dashboard reads the same query functions) ----


def bounded_day(as_of: date | None) -> date | None:
    if as_of is not None and not EARLIEST_DAY <= as_of <= LATEST_DAY:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "as_of"),
                    "msg": f"a date from {EARLIEST_DAY} to {LATEST_DAY}",
                    "type": "value_error",
                    "input": as_of.isoformat(),
                }
            ]
        )
    return as_of


AsOf = Annotated[
    date | None,
    Query(description=f"End of this day, Jakarta time ({EARLIEST_DAY} to {LATEST_DAY}); omitted = now"),
]


@router.get(
    "/funnel",
    response_model=FunnelOut,
    summary="Per programme, the groups in each stage (in the lifecycle's order), in my region scope",
    description="`as_of`: each group in the stage it was in at the end of that day (from its transitions).",
    responses=responses(*AUTHED, 422),
)
async def funnel(officer: CurrentOfficer, pool: PoolDep, as_of: AsOf = None) -> FunnelOut:
    return await dashboard.funnel(pool, officer=officer, as_of=bounded_day(as_of))


@router.get(
    "/stalls",
    response_model=StallsOut,
    summary="Where groups stall: provinces × stages, the median days in the stage and the overdue tasks",
    description=(
        "A stay counts from the group's transition into the stage to its next one (a current stay until "
        "the end of `as_of`). `overdue`: open tasks of the stage due before the end of `as_of`; the read "
        "model keeps open tasks only, so for a past day a task closed since is not counted."
    ),
    responses=responses(*AUTHED, 422),
)
async def stalls(
    officer: CurrentOfficer,
    pool: PoolDep,
    as_of: AsOf = None,
    program: Annotated[Program | None, Query(description="One programme; omitted = both")] = None,
) -> StallsOut:
    return await dashboard.stalls(pool, officer=officer, as_of=bounded_day(as_of), program=program)


@router.get(
    "/allocation",
    response_model=AllocationReportOut,
    summary="Per programme and region: the allocation, aid disbursed (spent) and reserved",
    responses=responses(*AUTHED),
)
async def allocation(officer: CurrentOfficer, pool: PoolDep) -> AllocationReportOut:
    return await dashboard.allocation(pool, officer=officer)


@router.get(
    "/lpj-status",
    response_model=LpjStatusOut,
    summary="Per programme and province: LPJs on time, overdue, under recovery, accepted, settled",
    description=(
        "Each TKM group owing an LPJ is counted once, in the first bucket that fits it, in this order: "
        "under recovery, settled, accepted, overdue, on time."
    ),
    responses=responses(*AUTHED),
)
async def lpj_status(officer: CurrentOfficer, pool: PoolDep) -> LpjStatusOut:
    return await dashboard.lpj_status(pool, officer=officer)


@router.get(
    "/lpj",
    response_model=Page[LpjRowOut],
    summary="TKM groups paid without an accepted LPJ: days overdue, amounts paid, accounted, under recovery",
    description=(
        "The longest overdue first. `format=csv` or `xlsx`: every such group in my scope (no paging), "
        "text cells that begin like a formula prefixed with `'`."
    ),
    responses={
        **responses(*AUTHED, 422),
        200: {
            "content": {
                "text/csv": {"example": ",".join(LPJ_COLUMNS) + "\n"},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        },
    },
)
async def lpj(
    officer: CurrentOfficer,
    pool: PoolDep,
    paging: Paging,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="csv or xlsx for a spreadsheet")
    ] = "json",
) -> Any:
    if format == "json":
        return await dashboard.lpj_outstanding(pool, officer=officer, paging=paging)
    found = await dashboard.lpj_outstanding(pool, officer=officer)
    rows = [[getattr(item, c) for c in LPJ_COLUMNS] for item in found.items]
    name = f"lpj-{dashboard.today_wib().isoformat()}"
    if format == "csv":
        return Response(
            exports.to_csv(LPJ_COLUMNS, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        exports.to_xlsx("LPJ", LPJ_COLUMNS, rows),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
