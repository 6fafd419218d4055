"""The budget ledger (anggaran) in PostgreSQL: allocations per programme and region, reservations,
settlement and release, and disbursement freezes.

A reservation draws on the most specific allocation that exists for the group's region (the
regency, else its province). The database enforces "never overspent": the reserving UPDATE only
matches while `reserved + spent + amount <= amount`, and a CHECK constraint backs it, so a hundred
concurrent approvals can never push an allocation over. Reservations are keyed group_id:attempt, so
a retried activity reserves once. A Padat Karya wage bill is drawn week by week
(`draw_reservation`, once per draw id), then settled like any reservation. This module is the one
writer of `budget_reservations`, `budget_draws` and an allocation's `reserved` and `spent`; the
allocations' amounts are set by one other writer, `infra.ledger` (a national officer's act).
"""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from jps.contracts.activities import BudgetRequest, BudgetResult, BudgetSettlement, FreezeStatus
from jps.contracts.wages import BudgetDraw

log = structlog.get_logger()

__all__ = ["LedgerActivities", "active_freeze", "draw_reservation", "settle_reservation"]


def _candidate_regions(region_code: str) -> list[str]:
    return [region_code, region_code[:2]]


class LedgerActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="check_freeze")
    async def check_freeze(self, req: BudgetRequest) -> FreezeStatus:
        return await active_freeze(self.pool, req.program, req.region_code)

    @activity.defn(name="reserve_budget")
    async def reserve_budget(self, req: BudgetRequest) -> BudgetResult:
        rid = req.reservation_id
        bound = log.bind(group_id=req.group_id, workflow_id=req.group_id, reservation_id=rid)
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchrow(
                "SELECT region_code, status FROM budget_reservations WHERE reservation_id = $1", rid
            )
            if existing is not None:  # a retry of a reservation that already committed
                return BudgetResult(
                    reserved=True, reservation_id=rid, allocation_region=existing["region_code"]
                )
            freeze = await active_freeze(conn, req.program, req.region_code)
            if freeze.frozen:
                return BudgetResult(reserved=False, frozen=True, reservation_id=rid, reason=freeze.reason)
            allocations = await conn.fetch(
                """SELECT region_code, amount - reserved - spent AS available FROM budget_allocations
                   WHERE program = $1 AND region_code = ANY($2) FOR UPDATE""",
                req.program,
                _candidate_regions(req.region_code),
            )
            if not allocations:
                reason = f"no budget allocation for {req.program} in region {req.region_code} or its province"
                bound.warning("budget_missing", reason=reason)
                return BudgetResult(reserved=False, reservation_id=rid, reason=reason)
            # The most specific allocation wins (regency before province).
            chosen = max(allocations, key=lambda r: len(r["region_code"]))
            row = await conn.fetchrow(
                """UPDATE budget_allocations SET reserved = reserved + $3, updated_at = now()
                   WHERE program = $1 AND region_code = $2 AND reserved + spent + $3 <= amount
                   RETURNING region_code""",
                req.program,
                chosen["region_code"],
                req.amount,
            )
            if row is None:
                reason = (
                    f"budget of {req.program} region {chosen['region_code']} has Rp {chosen['available']:,} "
                    f"left, Rp {req.amount:,} needed"
                )
                bound.warning("budget_insufficient", reason=reason)
                return BudgetResult(reserved=False, reservation_id=rid, reason=reason)
            await conn.execute(
                """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code,
                   amount, status)
                   VALUES ($1, $2, $3, $4, $5, 'reserved')""",
                rid,
                req.group_id,
                req.program,
                row["region_code"],
                req.amount,
            )
        bound.info("budget_reserved", amount=req.amount, allocation_region=row["region_code"])
        return BudgetResult(reserved=True, reservation_id=rid, allocation_region=row["region_code"])

    @activity.defn(name="settle_budget")
    async def settle_budget(self, req: BudgetSettlement) -> None:
        """Workflows started before PATCH_LEDGER_STEPS settle here; later ones inside record_transition."""
        async with self.pool.acquire() as conn, conn.transaction():
            await settle_reservation(conn, req)


async def settle_reservation(conn: asyncpg.Connection, req: BudgetSettlement) -> None:
    """Move what was paid from reserved to spent and release the rest, in the caller's transaction.
    Idempotent: a reservation already closed is left alone."""
    res = await conn.fetchrow(
        "SELECT * FROM budget_reservations WHERE reservation_id = $1 FOR UPDATE", req.reservation_id
    )
    if res is None or res["status"] != "reserved":
        return
    # A Padat Karya wage bill paid week by week has drawn part of it already (`draw_reservation`).
    remaining = res["amount"] - res["drawn"]
    paid = min(req.paid_amount, remaining)
    await conn.execute(
        """UPDATE budget_allocations SET reserved = reserved - $3, spent = spent + $4, updated_at = now()
           WHERE program = $1 AND region_code = $2""",
        res["program"],
        res["region_code"],
        remaining,
        paid,
    )
    await conn.execute(
        "UPDATE budget_reservations SET status = $2, updated_at = now() WHERE reservation_id = $1",
        req.reservation_id,
        "settled" if paid > 0 or res["drawn"] > 0 else "released",
    )
    log.info("budget_settled", reservation_id=req.reservation_id, paid=paid, released=remaining - paid)


async def draw_reservation(conn: asyncpg.Connection, draw: BudgetDraw) -> None:
    """Move a paid batch's amount from the reservation to spent, once per draw id."""
    if draw.amount == 0:
        return
    inserted = await conn.fetchval(
        """INSERT INTO budget_draws (draw_id, reservation_id, amount) VALUES ($1, $2, $3)
           ON CONFLICT (draw_id) DO NOTHING RETURNING draw_id""",
        draw.draw_id,
        draw.reservation_id,
        draw.amount,
    )
    if inserted is None:
        return  # drawn already (a re-executed step after a reset)
    res = await conn.fetchrow(
        "SELECT * FROM budget_reservations WHERE reservation_id = $1 FOR UPDATE", draw.reservation_id
    )
    await conn.execute(
        "UPDATE budget_reservations SET drawn = drawn + $2, updated_at = now() WHERE reservation_id = $1",
        draw.reservation_id,
        draw.amount,
    )
    await conn.execute(
        """UPDATE budget_allocations SET reserved = reserved - $3, spent = spent + $3, updated_at = now()
           WHERE program = $1 AND region_code = $2""",
        res["program"],
        res["region_code"],
        draw.amount,
    )
    log.info("budget_drawn", reservation_id=draw.reservation_id, draw_id=draw.draw_id, amount=draw.amount)


async def active_freeze(
    pool: asyncpg.Pool | asyncpg.Connection, program: str, region_code: str
) -> FreezeStatus:
    row = await pool.fetchrow(
        """SELECT reason FROM disbursement_freezes
           WHERE lifted_at IS NULL AND (program IS NULL OR program = $1)
             AND (region_code IS NULL OR $2 LIKE region_code || '%')
           ORDER BY frozen_at LIMIT 1""",
        program,
        region_code,
    )
    return FreezeStatus(frozen=row is not None, reason=row["reason"] if row else "")
