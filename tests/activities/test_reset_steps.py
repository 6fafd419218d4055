"""A step's key survives `temporal workflow reset` (issue 10, scenario 8), at the activity level against
PostgreSQL: the run id (`TransitionRecord.run_id`, workflow.info().run_id) is part of it.

Before, (group_id, seq) alone was the key: after a reset the new run's re-executed steps reused seq
numbers already recorded and were skipped as retries, so the read model froze and a settlement
recorded in such a step never happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from activities.db import ReadModelActivities
from infra.audit import verify_chain
from infra.ledger import set_allocation
from jps.contracts.activities import BudgetSettlement, ReceivableEvent, TransitionRecord
from jps.domain.models import Receivable
from jps.domain.stages import Stage
from tests import factories
from tests.activities.records import step

GROUP = "TKM-3171-RESETSTEP01"
OLD, NEW = "run-before-the-reset", "run-after-the-reset"


async def group_row(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT stage, last_seq FROM groups WHERE group_id = $1", GROUP)
    assert row is not None
    return row


async def test_a_retry_under_the_same_run_is_a_no_op(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    first = step(GROUP, 1, run_id=OLD)
    assert await rm.record_transition(first)
    assert not await rm.record_transition(first)
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1", GROUP) == 1
    # The run id is part of what the chain's hash covers.
    await db.execute("UPDATE audit_log SET run_id = 'another-run' WHERE group_id = $1", GROUP)
    async with db.acquire() as conn:
        assert not (await verify_chain(conn))["valid"]


async def test_steps_a_reset_re_executes_are_written_and_the_read_model_moves_on(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    proposal = factories.proposal(name="Kelompok Reset", size=10)
    # The run before the reset: submitted, approved (training), training scheduled.
    assert await rm.record_transition(step(GROUP, 1, run_id=OLD, at=t0, proposal=proposal))
    assert await rm.record_transition(
        step(
            GROUP,
            2,
            run_id=OLD,
            at=t0 + timedelta(minutes=1),
            stage=Stage.TRAINING,
            from_stage=Stage.VERIFICATION,
        )
    )
    assert await rm.record_transition(
        step(GROUP, 3, run_id=OLD, at=t0 + timedelta(minutes=2), stage=Stage.TRAINING)
    )
    assert (await group_row(db))["last_seq"] == 3

    # An operator resets the workflow to just after step 1; the verifier now sends it back for revision.
    revise = step(
        GROUP, 2, run_id=NEW, stage=Stage.PROPOSAL, from_stage=Stage.VERIFICATION, event="verification_revise"
    )
    assert await rm.record_transition(revise)
    row = await group_row(db)
    assert (row["stage"], row["last_seq"]) == ("proposal", 2)
    transitions = await db.fetch(
        "SELECT seq, to_stage FROM stage_transitions WHERE group_id = $1 ORDER BY seq", GROUP
    )
    assert [(t["seq"], t["to_stage"]) for t in transitions] == [(1, "verification"), (2, "proposal")]

    audit = await db.fetch(
        "SELECT seq, run_id, event, details FROM audit_log WHERE group_id = $1 AND seq = 2 ORDER BY id", GROUP
    )
    assert [(a["run_id"], a["event"]) for a in audit] == [(OLD, "test_step"), (NEW, "verification_revise")]
    assert audit[1]["details"]["re_executed_after_reset"] is True
    assert audit[1]["details"]["replaces_runs"] == [OLD]

    # The new run's retry is a no-op; its next step (seq 3 again) moves on too.
    assert not await rm.record_transition(revise)
    assert await rm.record_transition(
        step(GROUP, 3, run_id=NEW, stage=Stage.VERIFICATION, from_stage=Stage.PROPOSAL)
    )
    row = await group_row(db)
    assert (row["stage"], row["last_seq"]) == ("verification", 3)
    async with db.acquire() as conn:
        assert (await verify_chain(conn))["valid"]


async def test_a_settlement_in_a_re_executed_step_happens(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    await set_allocation(db, "tkm", "3171", 100_000_000)
    await db.execute("UPDATE budget_allocations SET reserved = 10000000 WHERE region_code = '3171'")
    await db.execute(
        """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code, amount, status)
           VALUES ($1, $2, 'tkm', '3171', 10000000, 'reserved')""",
        f"{GROUP}:1",
        GROUP,
    )
    assert await rm.record_transition(step(GROUP, 1, run_id=OLD, at=t0, stage=Stage.DISBURSEMENT))
    assert await rm.record_transition(
        step(GROUP, 2, run_id=OLD, at=t0, stage=Stage.DISBURSEMENT, event="escalated")
    )
    # Reset to after step 1: the new run's step 2 is the payment's settlement.
    paid = step(
        GROUP,
        2,
        run_id=NEW,
        stage=Stage.MENTORING,
        from_stage=Stage.DISBURSEMENT,
        event="aid_paid",
    ).model_copy(update={"settle": BudgetSettlement(reservation_id=f"{GROUP}:1", paid_amount=10_000_000)})
    assert await rm.record_transition(paid)
    assert await db.fetchval("SELECT status FROM budget_reservations") == "settled"
    alloc = await db.fetchrow("SELECT reserved, spent FROM budget_allocations WHERE region_code = '3171'")
    assert (alloc["reserved"], alloc["spent"]) == (0, 10_000_000)
    assert (await group_row(db))["stage"] == "mentoring"


async def test_a_re_executed_step_notifies_again_only_what_differs(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    assert await rm.record_transition(step(GROUP, 1, run_id=OLD, at=t0))
    rejected = step(GROUP, 2, run_id=OLD, at=t0, stage=Stage.REJECTED, notify=("proposal_rejected",))
    assert await rm.record_transition(rejected.model_copy(update={"reason": "dokumen palsu"}))
    # The same step with the same words after a reset: nothing new to say.
    assert await rm.record_transition(
        step(GROUP, 2, run_id=NEW, stage=Stage.REJECTED, notify=("proposal_rejected",)).model_copy(
            update={"reason": "dokumen palsu"}
        )
    )
    assert (
        await db.fetchval("SELECT count(*) FROM notification_outbox WHERE template = 'proposal_rejected'")
        == 1
    )
    # Another reset, another reason: the group hears the new one.
    third = step(GROUP, 2, run_id="a-third-run", stage=Stage.REJECTED, notify=("proposal_rejected",))
    assert await rm.record_transition(third.model_copy(update={"reason": "di luar wilayah"}))
    bodies = await db.fetch(
        "SELECT id, body FROM notification_outbox WHERE template = 'proposal_rejected' ORDER BY id"
    )
    assert len(bodies) == 2
    assert "di luar wilayah" in bodies[1]["body"] and bodies[1]["id"].startswith(
        f"{GROUP}:2:proposal_rejected:0@"
    )


async def test_steps_of_workflows_from_before_run_ids_keep_the_old_key(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    assert await rm.record_transition(step(GROUP, 1))
    assert not await rm.record_transition(step(GROUP, 1))  # no run id: (group_id, seq) as before
    # A reset of such a workflow after the upgrade: its new run names itself, so it is written.
    assert await rm.record_transition(step(GROUP, 1, run_id=NEW))
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1", GROUP) == 2
    async with db.acquire() as conn:
        assert (await verify_chain(conn))["valid"]


def _recovery_step(
    seq: int, run_id: str, at: datetime, recovered: int, moved: ReceivableEvent | None, event: str
) -> TransitionRecord:
    """A step of a group under recovery: 10,000,000 owed since `OPENED`, `recovered` repaid so far."""
    record = step(GROUP, seq, run_id=run_id, at=at, stage=Stage.RECOVERY, event=event)
    record.state.receivable = Receivable(
        amount=10_000_000, reason="overdue", opened_at=OPENED, recovered=recovered
    )
    return record.model_copy(update={"receivable_event": moved})


OPENED = datetime.now(UTC) - timedelta(hours=2)


async def test_a_reset_that_records_repayments_in_another_order_counts_each_once(db: asyncpg.Pool) -> None:
    """The abandoned run recorded repayment A (step 3) then B (step 4); after a reset to step 2 the new
    run takes B as step 3 and A is never sent again. The receivable's movements are the new run's:
    B once, and nothing of the abandoned run's A or of its second copy of B."""
    rm = ReadModelActivities(db)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    a = ReceivableEvent(kind="repayment", amount=1_000_000, reference="NTPN-A", paid_on=t0.date())
    b = ReceivableEvent(kind="repayment", amount=2_000_000, reference="NTPN-B", paid_on=t0.date())
    opened = ReceivableEvent(kind="opened", amount=10_000_000, reason="overdue")
    assert await rm.record_transition(step(GROUP, 1, run_id=OLD, at=t0))
    assert await rm.record_transition(_recovery_step(2, OLD, t0, 0, opened, "lpj_overdue"))
    assert await rm.record_transition(
        _recovery_step(3, OLD, t0 + timedelta(minutes=1), 1_000_000, a, "repayment_recorded")
    )
    assert await rm.record_transition(
        _recovery_step(4, OLD, t0 + timedelta(minutes=2), 3_000_000, b, "repayment_recorded")
    )

    assert await rm.record_transition(
        _recovery_step(3, NEW, datetime.now(UTC), 2_000_000, b, "repayment_recorded")
    )
    assert await rm.record_transition(_recovery_step(4, NEW, datetime.now(UTC), 2_000_000, None, "reminder"))
    events = await db.fetch(
        "SELECT seq, kind, amount, reference FROM receivable_events WHERE group_id = $1 ORDER BY seq", GROUP
    )
    assert [(e["seq"], e["kind"], e["amount"], e["reference"]) for e in events] == [
        (2, "opened", 10_000_000, ""),
        (3, "repayment", 2_000_000, "NTPN-B"),
    ]
    assert await db.fetchval("SELECT recovered FROM receivables WHERE group_id = $1", GROUP) == 2_000_000


async def test_a_receivable_is_settled_when_its_last_rupiah_moved_not_at_every_later_step(
    db: asyncpg.Pool,
) -> None:
    """A short receivable repaid while the visits go on: it stays settled at the repayment's time
    while the group's later steps (its visits) are recorded."""
    rm = ReadModelActivities(db)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    repaid = ReceivableEvent(kind="repayment", amount=10_000_000, reference="NTPN-ALL", paid_on=t0.date())
    assert await rm.record_transition(step(GROUP, 1, run_id=OLD, at=t0))
    assert await rm.record_transition(
        _recovery_step(2, OLD, t0 + timedelta(minutes=1), 10_000_000, repaid, "repayment_recorded")
    )
    assert await rm.record_transition(
        _recovery_step(3, OLD, t0 + timedelta(minutes=2), 10_000_000, None, "visit_reported")
    )
    settled = await db.fetchval("SELECT settled_at FROM receivables WHERE group_id = $1", GROUP)
    assert settled == t0 + timedelta(minutes=1)
