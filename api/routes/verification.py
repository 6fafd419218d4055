"""The post-payment verification's report (laporan verifikasi pembayaran): per regency and programme,
how many people were asked whether their payment arrived, how many said YA, TIDAK, or never answered,
and the confirmation rate with its 95 % Wilson interval. Officers see their own regions.

`GET /reports/payment-verification` is the contract's path (DESIGN.md); `GET /reports/verification`
answers the same."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from api.deps import CurrentOfficer, PoolDep
from api.errors import AUTHED, responses
from api.queries.verification import verification_report
from api.schemas.budget import REGION_PATTERN
from api.schemas.reports import EARLIEST_DAY, LATEST_DAY
from api.schemas.verification import VerificationReportOut
from jps.domain.programs import Program

router = APIRouter(prefix="/reports", tags=["reports"])

DESCRIPTION = (
    "Per regency (4-digit region code) and programme, in my region scope: `sampled`, `confirmed` "
    '("YA"), `denied` ("TIDAK": each opened a payment_not_received grievance and flagged the transfer '
    "on the reconciliation list), `no_answer` (reminded once, then counted), `awaiting` (still within "
    "the time to answer), and `rate` = confirmed / (confirmed + denied) with its 95 % Wilson score "
    "interval (`rate_low`, `rate_high`); null before any answer. `from` and `to` (YYYY-MM-DD, WIB) bound "
    "the days whose payments were sampled; `totals` adds the rows up per programme."
)


def _bounded(day: date | None, name: str) -> date | None:
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"a date from {EARLIEST_DAY} to {LATEST_DAY}",
                    "type": "value_error",
                    "input": day.isoformat(),
                }
            ]
        )
    return day


async def _report(
    officer: CurrentOfficer,
    pool: PoolDep,
    program: Program | None,
    region: str | None,
    date_from: date | None,
    date_to: date | None,
) -> VerificationReportOut:
    return await verification_report(
        pool,
        officer=officer,
        program=program,
        region=region,
        date_from=_bounded(date_from, "from"),
        date_to=_bounded(date_to, "to"),
    )


Region = Annotated[
    str | None, Query(pattern=REGION_PATTERN, description="A 2-digit province or 4-digit regency prefix")
]
From = Annotated[date | None, Query(alias="from", description="First day of payments sampled (WIB)")]
To = Annotated[date | None, Query(alias="to", description="Last day of payments sampled (WIB)")]


@router.get(
    "/payment-verification",
    response_model=VerificationReportOut,
    summary="Post-payment verification: per region and programme, the answers and the confirmation rate",
    description=DESCRIPTION,
    responses=responses(*AUTHED, 422),
)
async def payment_verification(
    officer: CurrentOfficer,
    pool: PoolDep,
    program: Program | None = None,
    region: Region = None,
    date_from: From = None,
    date_to: To = None,
) -> VerificationReportOut:
    return await _report(officer, pool, program, region, date_from, date_to)


# The same report under the brief's shorter path: one handler, two routes.
router.get(
    "/verification",
    response_model=VerificationReportOut,
    summary="The same report as /reports/payment-verification",
    description=DESCRIPTION,
    responses=responses(*AUTHED, 422),
    operation_id="verification_report",
)(payment_verification)
