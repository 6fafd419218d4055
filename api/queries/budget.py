"""The budget (anggaran): allocations per programme and region, and disbursement freezes. Setting
either is recorded in the audit log in the same transaction; an allocation is written by its one
writer, `infra.ledger.set_allocation`. Reservations and spending are the ledger activities' business."""

from __future__ import annotations

from typing import Any

import asyncpg

from api.queries.common import Db, Where, region_filter
from api.queries.tasks import groups_waiting_on
from api.schemas import AllocationOut, FreezeOut
from infra.audit import append_officer_audit
from infra.ledger import ALLOCATION_COLUMNS
from infra.ledger import set_allocation as write_allocation
from jps.domain.models import Officer
from jps.domain.programs import Program
from jps.domain.stages import TaskKind

_FREEZE_COLUMNS = "freeze_id, program, region_code, reason, frozen_by, frozen_at, lifted_by, lifted_at"


class FreezeNotFound(LookupError):
    pass


class FreezeAlreadyLifted(ValueError):
    pass


async def _audit(
    conn: asyncpg.Connection, officer: Officer, event: str, reason: str, details: dict[str, Any]
) -> None:
    await append_officer_audit(conn, officer, event, reason=reason, details=details)


async def allocations(db: Db, *, officer: Officer) -> list[AllocationOut]:
    """The allocations in the officer's scope: a province's concerns the regencies in it, and vice versa."""
    where = Where()
    scope = region_filter(officer)
    if scope is not None:
        where.add(
            "(region_code LIKE ANY(?::text[])"
            " OR EXISTS (SELECT 1 FROM unnest(?::text[]) s WHERE s LIKE region_code || '%'))",
            scope,
            officer.regions,
        )
    rows = await db.fetch(
        f"""SELECT {ALLOCATION_COLUMNS} FROM budget_allocations WHERE {where.sql}
             ORDER BY program, region_code""",
        *where.params,
    )
    return [AllocationOut.model_validate(dict(r)) for r in rows]


async def set_allocation(
    pool: asyncpg.Pool, *, officer: Officer, program: Program, region_code: str, amount: int, reason: str
) -> AllocationOut:
    """Set an allocation and audit it. Below what is reserved and spent: `asyncpg.CheckViolationError`."""
    async with pool.acquire() as conn, conn.transaction():
        row = await write_allocation(conn, program.value, region_code, amount)
        await _audit(
            conn,
            officer,
            "budget_allocated",
            reason,
            {"program": program.value, "region_code": region_code, "amount": amount},
        )
    return AllocationOut.model_validate(dict(row))


async def freezes(db: Db) -> list[FreezeOut]:
    """Every freeze, the active ones first, then the newest."""
    rows = await db.fetch(
        f"SELECT {_FREEZE_COLUMNS} FROM disbursement_freezes ORDER BY lifted_at IS NOT NULL, frozen_at DESC"
    )
    return [FreezeOut.model_validate(dict(r)) for r in rows]


async def freeze(
    pool: asyncpg.Pool, *, officer: Officer, program: Program | None, region_code: str | None, reason: str
) -> FreezeOut:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO disbursement_freezes (program, region_code, reason, frozen_by)
                VALUES ($1, $2, $3, $4) RETURNING {_FREEZE_COLUMNS}""",
            program.value if program else None,
            region_code,
            reason,
            officer.id,
        )
        await _audit(
            conn,
            officer,
            "disbursements_frozen",
            reason,
            {"freeze_id": row["freeze_id"], "program": row["program"], "region_code": row["region_code"]},
        )
    return FreezeOut.model_validate(dict(row))


async def lift_freeze(pool: asyncpg.Pool, *, officer: Officer, freeze_id: int, reason: str) -> FreezeOut:
    """Lift an active freeze and audit it; `FreezeNotFound` or `FreezeAlreadyLifted` otherwise."""
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
                raise FreezeNotFound(f"no freeze {freeze_id}")
            raise FreezeAlreadyLifted(f"freeze {freeze_id} is already lifted")
        await _audit(conn, officer, "freeze_lifted", reason, {"freeze_id": freeze_id})
    return FreezeOut.model_validate(dict(row))


async def groups_waiting_on_budget(db: Db, *, program: str | None, region_code: str | None) -> list[str]:
    """The groups a new allocation or a lifted freeze in `program` and `region_code` may release."""
    return await groups_waiting_on(
        db, kinds=(TaskKind.AWAIT_BUDGET, TaskKind.AWAIT_UNFREEZE), program=program, region_code=region_code
    )
