"""A step recorded by a workflow task that never completed is not the step its retry records (issue
10; found by `make chaos`), at the activity level against PostgreSQL.

The record of a step is a local activity (`record_step`): it commits inside the workflow task that
took the step, before Temporal has that task's outcome. A task that times out (its worker killed, or
slower than the task timeout) is tried again with what arrived meanwhile (a batch's callbacks, a
fired timer, an officer's update), and the retry can take another path: in the chaos run a Padat
Karya group's abandoned task recorded an `await_bank` reminder as step 12, its retry heard the
batch's callbacks and recorded the week's settlement (`wages_partly_paid`, drawing Rp 2,000,000 from
the wage bill) as step 12 of the same run. Keyed by (group_id, seq, run id) alone, the settlement was
taken for a retry of the reminder and written nowhere: nothing drawn, while the bank paid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from activities.db import ReadModelActivities
from infra.audit import verify_chain
from infra.ledger import set_allocation
from jps.contracts.activities import TransitionRecord
from jps.contracts.wages import BudgetDraw
from jps.domain.programs import Program
from jps.domain.stages import Stage
from tests import factories
from tests.activities.records import step

GROUP = "PK-3171-UNFINISHED01"
RUN = "the-one-run"
RESERVATION = f"{GROUP}:0"
BILL, PAID = 10_000_000, 2_000_000
PROPOSAL = factories.proposal(Program.PADAT_KARYA, name="Kelompok Padat Karya", size=10, amount=BILL)
T0 = datetime.now(UTC) - timedelta(hours=1)


def _step(seq: int, at: datetime, event: str, **details: Any) -> TransitionRecord:
    return step(
        GROUP, seq, run_id=RUN, at=at, stage=Stage.DISBURSEMENT, proposal=PROPOSAL, event=event, **details
    )


async def _wage_bill_reserved(db: asyncpg.Pool, rm: ReadModelActivities) -> None:
    await set_allocation(db, "padat_karya", "3171", 100_000_000)
    await db.execute(
        "UPDATE budget_allocations SET reserved = $1 WHERE program = 'padat_karya' AND region_code = '3171'",
        BILL,
    )
    await db.execute(
        """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code, amount, status)
           VALUES ($1, $2, 'padat_karya', '3171', $3, 'reserved')""",
        RESERVATION,
        GROUP,
        BILL,
    )
    assert await rm.record_transition(_step(1, T0, "wage_bill_reserved"))


def _settlement(at: datetime) -> TransitionRecord:
    """The week's settlement as the retried task records it: step 2, drawing what the bank paid."""
    settled = _step(2, at, "wages_partly_paid", paid_amount=PAID, failed=1, attempt=1)
    draw = BudgetDraw(reservation_id=RESERVATION, draw_id=f"{GROUP}-W20261116", amount=PAID)
    return settled.model_copy(update={"draw": draw})


def _reminder(at: datetime) -> TransitionRecord:
    """What the task that never completed recorded as step 2."""
    return _step(2, at, "reminder", task="await_bank", level=1)


async def _drawn(db: asyncpg.Pool) -> tuple[int, int, int]:
    drawn = await db.fetchval("SELECT drawn FROM budget_reservations WHERE reservation_id = $1", RESERVATION)
    alloc = await db.fetchrow(
        "SELECT reserved, spent FROM budget_allocations WHERE program = 'padat_karya' AND region_code = $1",
        "3171",
    )
    assert alloc is not None
    return drawn, alloc["reserved"], alloc["spent"]


async def test_a_settlement_recorded_at_the_seq_of_an_unfinished_tasks_step_draws_once(
    db: asyncpg.Pool,
) -> None:
    rm = ReadModelActivities(db)
    await _wage_bill_reserved(db, rm)
    t1 = T0 + timedelta(minutes=1)
    assert await rm.record_transition(_reminder(t1))  # the task times out after this commit
    # Its retry, twenty seconds later, records the settlement as step 2 of the same run.
    settled = _settlement(t1 + timedelta(seconds=20))
    assert await rm.record_transition(settled)
    assert await _drawn(db) == (PAID, BILL - PAID, PAID)
    assert await db.fetchval("SELECT count(*) FROM budget_draws") == 1
    assert await db.fetchval("SELECT last_seq FROM groups WHERE group_id = $1", GROUP) == 2

    audit = await db.fetch(
        "SELECT event, details FROM audit_log WHERE group_id = $1 AND seq = 2 ORDER BY id", GROUP
    )
    assert [a["event"] for a in audit] == ["reminder", "wages_partly_paid"]
    assert audit[1]["details"]["replaces_an_unfinished_task"] is True
    assert "re_executed_after_reset" not in audit[1]["details"]

    # A retry of the settlement (its local activity again, or the activity it falls back to) is a no-op.
    assert not await rm.record_transition(settled)
    # So is the abandoned task's own record arriving late (its worker still retrying it): the
    # settlement, taken later, stays the step.
    assert not await rm.record_transition(_reminder(t1))
    assert await _drawn(db) == (PAID, BILL - PAID, PAID)
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1", GROUP) == 3
    async with db.acquire() as conn:
        assert (await verify_chain(conn))["valid"]


async def test_the_same_step_taken_again_by_a_retried_task_is_written_once(db: asyncpg.Pool) -> None:
    """The usual retry of a timed-out task takes the same path: its step (the same event with the
    same details, at the retry's own time) was written by the first attempt, and is not again."""
    rm = ReadModelActivities(db)
    await _wage_bill_reserved(db, rm)
    t1 = T0 + timedelta(minutes=1)
    assert await rm.record_transition(_settlement(t1))
    assert not await rm.record_transition(_settlement(t1 + timedelta(seconds=20)))
    assert await _drawn(db) == (PAID, BILL - PAID, PAID)
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1 AND seq = 2", GROUP) == 1


async def test_a_step_superseded_twice_is_the_latest_tasks(db: asyncpg.Pool) -> None:
    """Two attempts of the task time out, each after recording another step 2; the third records
    the first one's again: it is written (the second's stands in between), its draw once."""
    rm = ReadModelActivities(db)
    await _wage_bill_reserved(db, rm)
    t1 = T0 + timedelta(minutes=1)
    assert await rm.record_transition(_settlement(t1))
    assert await rm.record_transition(_reminder(t1 + timedelta(seconds=10)))
    assert await rm.record_transition(_settlement(t1 + timedelta(seconds=20)))
    assert await _drawn(db) == (PAID, BILL - PAID, PAID)
    events = await db.fetch("SELECT event FROM audit_log WHERE group_id = $1 AND seq = 2 ORDER BY id", GROUP)
    assert [e["event"] for e in events] == ["wages_partly_paid", "reminder", "wages_partly_paid"]
