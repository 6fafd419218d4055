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
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Body, Depends, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client

from api.deps import CurrentOfficer, PoolDep, TemporalDep, authorize, region_filter, require
from api.errors import AUTHED, responses
from api.sql import Where
from infra.audit import append_audit
from jps.domain.models import Officer
from jps.domain.programs import Program
from jps.domain.roles import NATIONAL, Role

log = structlog.get_logger()
router = APIRouter(prefix="/budget", tags=["budget"])

BudgetReader = Annotated[Officer, Depends(require(Role.FINANCE, Role.SUPERVISOR, Role.AUDITOR))]
_REGION = r"^\d{2}(\d{2})?$"


BUDGET_CHANGED_SIGNAL = "budget_changed"


async def _nudge_waiting(
    pool: asyncpg.Pool, client: Client, program: str | None, region_code: str | None
) -> int:
    """Signal the groups waiting on budget or a freeze that this change may release. Best effort:
    a group missed here still re-checks at its retry interval."""
    rows = await pool.fetch(
        """SELECT group_id FROM groups WHERE task_kind IN ('await_budget', 'await_unfreeze')
           AND ($1::text IS NULL OR program = $1) AND ($2::text IS NULL OR region_code LIKE $2 || '%')""",
        program,
        region_code,
    )
    results = await asyncio.gather(
        *(client.get_workflow_handle(r["group_id"]).signal(BUDGET_CHANGED_SIGNAL) for r in rows),
        return_exceptions=True,
    )
    nudged = sum(1 for r in results if not isinstance(r, BaseException))
    log.info("budget_waiters_nudged", program=program, region_code=region_code, groups=nudged)
    return nudged


def _national(officer: Officer, roles: tuple[Role, ...], what: str) -> None:
    authorize(officer, roles=roles, what=what)
    if NATIONAL not in officer.regions:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"{what} is for national officers (scope *)")


class AllocationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program": "tkm",
                    "region_code": "31",
                    "amount": 5_000_000_000,
                    "reserved": 20_000_000,
                    "spent": 130_000_000,
                    "available": 4_850_000_000,
                }
            ]
        }
    )
    program: Program
    region_code: str = Field(description="2-digit province or 4-digit regency; the most specific one pays")
    amount: int
    reserved: int
    spent: int
    available: int


class AllocationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": 5_000_000_000, "reason": "DIPA 2020 revisi 2"}]},
    )
    amount: int = Field(ge=0, description="Whole rupiah; not below what is already reserved and spent")
    reason: str = Field(min_length=3, max_length=500)


class FreezeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"program": None, "region_code": "31", "reason": "Pilkada 2020"}]},
    )
    program: Program | None = Field(None, description="null: every programme")
    region_code: str | None = Field(None, pattern=_REGION, description="null: the whole country")
    reason: str = Field(min_length=3, max_length=500)


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "audit closed"}]})
    reason: str = Field(min_length=3, max_length=500)


class FreezeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "freeze_id": 1,
                    "program": None,
                    "region_code": "31",
                    "reason": "Pilkada 2020",
                    "frozen_by": "supervisor-1",
                    "frozen_at": "2020-11-20T02:00:00Z",
                    "lifted_by": None,
                    "lifted_at": None,
                }
            ]
        }
    )
    freeze_id: int
    program: Program | None
    region_code: str | None
    reason: str
    frozen_by: str
    frozen_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


async def _audit(
    conn: asyncpg.Connection, officer: Officer, event: str, reason: str, details: dict[str, Any]
) -> None:
    await append_audit(
        conn,
        group_id=None,
        seq=None,
        at=datetime.now(UTC),
        actor=officer.id,
        actor_roles=[r.value for r in officer.roles],
        event=event,
        stage=None,
        reason=reason,
        details=details,
    )


@router.get(
    "/allocations",
    response_model=list[AllocationOut],
    summary="Allocations, reservations and spending per programme and region (in my scope)",
    responses=responses(*AUTHED),
)
async def allocations(officer: BudgetReader, pool: PoolDep) -> list[AllocationOut]:
    where = Where()
    scope = region_filter(officer)
    if scope is not None:  # a province's allocation concerns the regencies in it, and vice versa
        where.add(
            "(region_code LIKE ANY(?::text[])"
            " OR EXISTS (SELECT 1 FROM unnest(?::text[]) s WHERE s LIKE region_code || '%'))",
            scope,
            officer.regions,
        )
    rows = await pool.fetch(
        f"""SELECT program, region_code, amount, reserved, spent, amount - reserved - spent AS available
              FROM budget_allocations WHERE {where.sql} ORDER BY program, region_code""",
        *where.params,
    )
    return [AllocationOut.model_validate(dict(r)) for r in rows]


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
    region_code: Annotated[str, Path(pattern=_REGION)],
    body: Annotated[AllocationIn, Body()],
) -> AllocationOut:
    _national(officer, (Role.FINANCE, Role.SUPERVISOR), "setting a budget allocation")
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """INSERT INTO budget_allocations (program, region_code, amount) VALUES ($1, $2, $3)
                   ON CONFLICT (program, region_code) DO UPDATE SET amount = EXCLUDED.amount,
                       updated_at = now()
                   RETURNING program, region_code, amount, reserved, spent,
                       amount - reserved - spent AS available""",
                program.value,
                region_code,
                body.amount,
            )
            await _audit(
                conn,
                officer,
                "budget_allocated",
                body.reason,
                {"program": program.value, "region_code": region_code, "amount": body.amount},
            )
    except asyncpg.CheckViolationError:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="amount: below what is already reserved and spent in this allocation",
        ) from None
    await _nudge_waiting(pool, client, program.value, region_code)
    return AllocationOut.model_validate(dict(row))


_FREEZE_COLUMNS = "freeze_id, program, region_code, reason, frozen_by, frozen_at, lifted_by, lifted_at"


@router.get(
    "/freezes",
    response_model=list[FreezeOut],
    summary="Disbursement freezes, the active ones first",
    responses=responses(*AUTHED),
)
async def freezes(officer: BudgetReader, pool: PoolDep) -> list[FreezeOut]:
    rows = await pool.fetch(
        f"SELECT {_FREEZE_COLUMNS} FROM disbursement_freezes ORDER BY lifted_at IS NOT NULL, frozen_at DESC"
    )
    return [FreezeOut.model_validate(dict(r)) for r in rows]


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
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO disbursement_freezes (program, region_code, reason, frozen_by)
                VALUES ($1, $2, $3, $4) RETURNING {_FREEZE_COLUMNS}""",
            body.program.value if body.program else None,
            body.region_code,
            body.reason,
            officer.id,
        )
        await _audit(
            conn,
            officer,
            "disbursements_frozen",
            body.reason,
            {"freeze_id": row["freeze_id"], "program": row["program"], "region_code": row["region_code"]},
        )
    return FreezeOut.model_validate(dict(row))


@router.post(
    "/freezes/{freeze_id}/lift",
    response_model=FreezeOut,
    summary="Lift a freeze (national supervisor)",
    responses=responses(*AUTHED, 404, 409, 422),
)
async def lift(
    officer: CurrentOfficer, pool: PoolDep, client: TemporalDep, freeze_id: int, body: LiftIn
) -> FreezeOut:
    _national(officer, (Role.SUPERVISOR,), "lifting a freeze")
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""UPDATE disbursement_freezes SET lifted_by = $2, lifted_at = now()
                WHERE freeze_id = $1 AND lifted_at IS NULL RETURNING {_FREEZE_COLUMNS}""",
            freeze_id,
            officer.id,
        )
        if row is None:
            exists = await conn.fetchval("SELECT 1 FROM disbursement_freezes WHERE freeze_id = $1", freeze_id)
            if not exists:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no freeze {freeze_id}")
            raise HTTPException(status.HTTP_409_CONFLICT, detail=f"freeze {freeze_id} is already lifted")
        await _audit(conn, officer, "freeze_lifted", body.reason, {"freeze_id": freeze_id})
    await _nudge_waiting(pool, client, row["program"], row["region_code"])
    return FreezeOut.model_validate(dict(row))
