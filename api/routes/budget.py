"""The budget (anggaran) as officers see and set it: allocations per programme and region, and
disbursement freezes. Setting either is a national officer's act (scope `*`), recorded in the audit
log. Reservations and spending are the workflows' business (through the ledger activities); this
router only reads them.

A group waiting on a missing budget or on a freeze checks again at its programme's
`budget_retry_every` interval; a new allocation or a lifted freeze also nudges the waiting groups it
concerns (the workflow's `budget_changed` signal), so they re-check at once.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Body, Depends, HTTPException, Path, status
from temporalio.client import Client

from api.deps import CurrentOfficer, PoolDep, TemporalDep, authorize, require
from api.errors import AUTHED, responses
from api.queries import budget, dashboard
from api.queries.common import BIGINT_MAX
from api.schemas import REGION_PATTERN, AllocationIn, AllocationOut, FreezeIn, FreezeOut, LiftIn
from api.schemas.dashboard import LedgerRowOut
from jps.contracts.names import BUDGET_SIGNAL
from jps.domain.models import Officer
from jps.domain.programs import Program
from jps.domain.roles import NATIONAL, Role, region_in_scope

log = structlog.get_logger()
router = APIRouter(prefix="/budget", tags=["budget"])

BudgetReader = Annotated[Officer, Depends(require(Role.FINANCE, Role.SUPERVISOR, Role.AUDITOR))]


async def _nudge_waiting(
    pool: asyncpg.Pool, client: Client, program: str | None, region_code: str | None
) -> int:
    """Signal the groups waiting on budget or a freeze that this change may release. Best effort:
    a group missed here still re-checks at its retry interval."""
    waiting = await budget.groups_waiting_on_budget(pool, program=program, region_code=region_code)
    results = await asyncio.gather(
        *(client.get_workflow_handle(group_id).signal(BUDGET_SIGNAL) for group_id in waiting),
        return_exceptions=True,
    )
    nudged = sum(1 for r in results if not isinstance(r, BaseException))
    log.info("budget_waiters_nudged", program=program, region_code=region_code, groups=nudged)
    return nudged


def _national(officer: Officer, roles: tuple[Role, ...], what: str) -> None:
    authorize(officer, roles=roles, what=what)
    if NATIONAL not in officer.regions:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"{what} is for national officers (scope *)")


@router.get(
    "/allocations",
    response_model=list[AllocationOut],
    summary="Allocations, reservations and spending per programme and region (in my scope)",
    responses=responses(*AUTHED),
)
async def allocations(officer: BudgetReader, pool: PoolDep) -> list[AllocationOut]:
    return await budget.allocations(pool, officer=officer)


@router.get(
    "/ledger",
    response_model=list[LedgerRowOut],
    summary="The budget ledger: each allocation in my scope, and what became of the aid it paid",
    description=(
        "Per allocation: `spent` (the ledger) and `accounts`: paid (by the bank, to the groups whose "
        "settled reservations drew on it) = no LPJ owed + accounted + awaiting LPJ + under recovery + "
        "recovered + written off."
    ),
    responses=responses(*AUTHED),
)
async def ledger(officer: BudgetReader, pool: PoolDep) -> list[LedgerRowOut]:
    return await dashboard.ledger(pool, officer=officer)


@router.put(
    "/allocations/{program}/{region_code}",
    response_model=AllocationOut,
    summary="Set a programme's allocation for a province or regency (national finance or supervisor)",
    responses=responses(*AUTHED, 409, 422),
)
async def set_allocation(
    officer: CurrentOfficer,
    pool: PoolDep,
    client: TemporalDep,
    program: Program,
    region_code: Annotated[str, Path(pattern=REGION_PATTERN)],
    body: Annotated[AllocationIn, Body()],
) -> AllocationOut:
    _national(officer, (Role.FINANCE, Role.SUPERVISOR), "setting a budget allocation")
    try:
        allocation = await budget.set_allocation(
            pool,
            officer=officer,
            program=program,
            region_code=region_code,
            amount=body.amount,
            reason=body.reason,
        )
    except asyncpg.CheckViolationError:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="amount: below what is already reserved and spent in this allocation",
        ) from None
    await _nudge_waiting(pool, client, program.value, region_code)
    return allocation


@router.get(
    "/freezes",
    response_model=list[FreezeOut],
    summary="Disbursement freezes that hold groups of my regions, the active ones first",
    responses=responses(*AUTHED),
)
async def freezes(officer: BudgetReader, pool: PoolDep) -> list[FreezeOut]:
    return [f for f in await budget.freezes(pool) if freeze_concerns(f, officer)]


def freeze_concerns(freeze: FreezeOut, officer: Officer) -> bool:
    """A regional officer sees the freezes that hold groups of their regions: national ones, and those
    of a region inside or around their scope; a national officer sees all."""
    if freeze.region_code is None or NATIONAL in officer.regions:
        return True
    return region_in_scope(freeze.region_code, officer.regions) or any(
        scope.startswith(freeze.region_code) for scope in officer.regions
    )


@router.post(
    "/freezes",
    response_model=FreezeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Freeze disbursements for a programme and/or region (national supervisor)",
    description=(
        "Groups reaching disbursement wait, durably, until it is lifted; nothing already paid changes."
    ),
    responses=responses(*AUTHED, 422),
)
async def freeze(officer: CurrentOfficer, pool: PoolDep, body: FreezeIn) -> FreezeOut:
    _national(officer, (Role.SUPERVISOR,), "freezing disbursements")
    return await budget.freeze(
        pool, officer=officer, program=body.program, region_code=body.region_code, reason=body.reason
    )


@router.post(
    "/freezes/{freeze_id}/lift",
    response_model=FreezeOut,
    summary="Lift a freeze (national supervisor)",
    responses=responses(*AUTHED, 404, 409, 422),
)
async def lift(
    officer: CurrentOfficer,
    pool: PoolDep,
    client: TemporalDep,
    # A bigint column: an id beyond it is a 422, not a 500 from asyncpg.
    freeze_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
    body: LiftIn,
) -> FreezeOut:
    _national(officer, (Role.SUPERVISOR,), "lifting a freeze")
    try:
        lifted = await budget.lift_freeze(pool, officer=officer, freeze_id=freeze_id, reason=body.reason)
    except budget.FreezeNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except budget.FreezeAlreadyLifted as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    await _nudge_waiting(pool, client, lifted.program.value if lifted.program else None, lifted.region_code)
    return lifted
