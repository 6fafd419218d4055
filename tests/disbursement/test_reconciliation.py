"""Reconciliation of our payments with the bank's statement: none on a clean run; each kind of mismatch
planted in the bank simulator found and recorded once (one open row per transfer and kind, whatever
the retries and later runs); transfers still in flight are not mismatches; the daily Temporal Schedule
and `jps reconcile` (the real command, as a process) run it. Incremental runs, resolution and the
officers' list: test_reconciliation_resolution.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.bank_client import BankClient
from activities.reconciliation import ReconciliationActivities
from infra.schedules import RECONCILIATION, ensure_schedules
from jps.contracts.activities import ReconcileInput, ReconcileRequest, ReconcileResult, TransferSpec
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program, compressed_policies
from jps.domain.roles import Role
from jps.domain.stages import Stage
from tests.disbursement.conftest import PROJECT_ROOT, Rig, eventually, worker_on
from tests.factories import equal_split, officer, proposal
from tests.workflows.harness import Harness, fund

POLICIES = {
    p: policy.model_copy(update={"bank_poll_after": timedelta(seconds=2)})
    for p, policy in compressed_policies(seconds_per_day=30).items()
}
# Paid at once in equal shares (groups submitted before the weekly wage rule): a Padat Karya group's
# transfers to reconcile right after its approval, without driving muster rolls.
POLICIES[Program.PADAT_KARYA] = equal_split(POLICIES[Program.PADAT_KARYA])
VERIFIER, TRAINER, FINANCE = officer(Role.VERIFIER), officer(Role.TRAINER), officer(Role.FINANCE)


async def paid_group(h: Harness, p: Proposal) -> list[str]:
    """Walk a group to paid aid; its paid transfer ids."""
    handle, state = await h.submit(p, policy=POLICIES[p.program])
    today = local_date(state.submitted_at)
    await h.act(handle, "verify", VERIFIER, decision="approve")
    await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
    await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in p.members])
    await h.act(handle, "approve-disbursement", FINANCE, amount=p.requested_amount)

    async def recorded_paid() -> Any:  # the read model, payments included, not just the workflow's memory
        return await h.pool.fetchval(
            "SELECT stage = $2 FROM groups WHERE group_id = $1", handle.id, Stage.MENTORING
        )

    await eventually(recorded_paid)
    return [pay.transfer_id for pay in (await h.state(handle)).payments]


async def reconcile(rig: Rig, run: str, inp: ReconcileInput | None = None) -> ReconcileResult:
    result: ReconcileResult = await rig.client.execute_workflow(
        "ReconciliationWorkflow",
        inp or ReconcileInput(),
        id=run,
        task_queue=rig.task_queue,
        result_type=ReconcileResult,
    )
    return result


def found(result: ReconcileResult) -> set[tuple[str, str]]:
    return {(m.kind, m.transfer_id) for m in result.mismatches}


async def test_planted_mismatches_are_found_and_clean_runs_find_none(rig: Rig) -> None:
    await fund(rig.pool)
    async with worker_on(rig) as h:
        tkm, pk = await asyncio.gather(
            paid_group(h, proposal(Program.TKM, size=10, amount=10_000_000)),
            paid_group(h, proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)),
        )
        clean = await reconcile(rig, f"recon-clean-{uuid.uuid4().hex[:6]}")
        assert clean.mismatches == [] and (clean.compared, clean.bank_paid) == (11, 11)
        assert clean.mode == "full"  # the first run: no watermark yet

        planted = rig.bank.plant("paid_not_recorded", amount=750_000)
        rig.bank.plant("amount_differs", transfer_id=tkm[0])
        rig.bank.plant("recorded_not_paid", transfer_id=pk[3])
        run = f"recon-planted-{uuid.uuid4().hex[:6]}"
        # Two of them change a part of the statement the clean run already read: only a full run
        # sees those (an incremental one reads from where the last run ended).
        result = await reconcile(rig, run, ReconcileInput(full=True))
        assert found(result) == {
            ("paid_not_recorded", planted["transfer_id"]),
            ("amount_differs", tkm[0]),
            ("recorded_not_paid", pk[3]),
        }
        sides = {m.kind: (m.ours or {}, m.bank or {}) for m in result.mismatches}
        assert sides["paid_not_recorded"][0] == {} and sides["paid_not_recorded"][1]["amount"] == 750_000
        assert (sides["amount_differs"][0]["amount"], sides["amount_differs"][1]["amount"]) == (
            10_000_000,
            10_001_000,
        )
        assert sides["recorded_not_paid"][0]["status"] == "paid" and sides["recorded_not_paid"][1] == {}

        assert result.recorded("opened") == 3 and result.open_total == 3

        # Recorded for an officer once, however often the activity is retried.
        async with BankClient(rig.sims.bank_url) as bank:
            again = await ReconciliationActivities(rig.pool, bank).reconcile_payments(
                ReconcileRequest(run_id=run, full=True)
            )
        assert found(again) == found(result) and again.recorded("already_open") == 3
        rows = await rig.pool.fetch(
            "SELECT kind, transfer_id FROM reconciliation_mismatches WHERE run_id = $1", run
        )
        assert {(r["kind"], r["transfer_id"]) for r in rows} == found(result)

        # `jps reconcile`, the real command against the running worker: prints them, exits 1.
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": rig.temporal_address,
            "TEMPORAL_NAMESPACE": rig.client.namespace,
            "TEMPORAL_TASK_QUEUE": rig.task_queue,
            "JPS_LOG_LEVEL": "WARNING",
            "COLUMNS": "200",
        }
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tools.cli", "reconcile", "--full"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1, cli.stderr
        for kind, tid in found(result):
            assert kind in cli.stdout and tid in cli.stdout, cli.stdout
        assert "3 mismatch(es) (paid_not_recorded=1, recorded_not_paid=1, amount_differs=1)" in cli.stdout
        assert "new 0, already open 3, resolved before 0; open now 3" in cli.stdout
        # Not recorded again: still one open row per transfer and kind.
        assert await rig.pool.fetchval("SELECT count(*) FROM reconciliation_mismatches") == 3

        # The daily schedule starts the same workflow.
        names = await ensure_schedules(rig.client, rig.settings)
        try:
            schedule = rig.client.get_schedule_handle(RECONCILIATION)
            desc = await schedule.describe()
            assert desc.schedule.action.workflow == "ReconciliationWorkflow"  # type: ignore[attr-defined]
            assert [c.hour[0].start for c in desc.schedule.spec.calendars] == [20]  # 03:00 WIB, daily
            await schedule.trigger()

            async def started() -> Any:
                return (await schedule.describe()).info.recent_actions

            [action] = await eventually(started)
            scheduled_id = action.action.workflow_id
            scheduled = await rig.client.get_workflow_handle(
                scheduled_id, result_type=ReconcileResult
            ).result()
        finally:
            for name in names:
                await rig.client.get_schedule_handle(name).delete()
        # The schedule gives no input: an incremental run from where the command's run ended. What it
        # finds there is already open; nothing is recorded again.
        assert scheduled.run_id == scheduled_id and scheduled.mode == "incremental"
        assert scheduled.statement_from is not None and found(scheduled) <= found(result)
        assert scheduled.recorded("opened") == 0 and scheduled.open_total == 3
        assert await rig.pool.fetchval("SELECT count(*) FROM reconciliation_mismatches") == 3
        assert (
            await rig.pool.fetchval("SELECT mode FROM reconciliation_runs WHERE run_id = $1", scheduled_id)
            == "incremental"
        )


async def test_transfers_in_flight_are_not_mismatches(rig: Rig) -> None:
    """Our rows written directly (as instruct_payments writes them) against transfers the bank really has."""
    old = datetime.now(UTC) - timedelta(days=3)
    async with BankClient(rig.sims.bank_url) as bank:

        async def at_bank(tid: str, amount: int) -> None:
            await bank.create_transfer(
                TransferSpec(
                    transfer_id=tid,
                    batch_id="B",
                    beneficiary="Siti",
                    bank_code="002",
                    account_no="1234567",
                    amount=amount,
                )
            )

        await at_bank("stale-paid", 1_000_000)  # the bank paid it; we still say pending, days later
        await at_bank("failed-paid", 2_000_000)  # the bank paid it; we recorded it failed
        await at_bank("fresh-paid", 3_000_000)  # the bank paid it moments ago; we have not heard yet
        for tid in ("stale-paid", "failed-paid", "fresh-paid"):
            rig.bank.wait_settled(tid)
        rig.bank.config(settle_delay_ms=600_000)
        await at_bank("fresh-pending", 4_000_000)  # pending on both sides
        await at_bank(
            "stale-pending", 5_000_000
        )  # pending on both sides for days: the bank still works on it
        rows = [
            ("stale-paid", "pending", 1_000_000, old),
            ("failed-paid", "failed", 2_000_000, old),
            ("fresh-paid", "pending", 3_000_000, datetime.now(UTC)),
            ("fresh-pending", "pending", 4_000_000, datetime.now(UTC)),
            ("stale-pending", "pending", 5_000_000, old),
            ("never-arrived", "pending", 6_000_000, old),  # days later the bank has never heard of it
            ("recent-unsent", "pending", 7_000_000, datetime.now(UTC)),  # may still be on its way
        ]
        await rig.pool.executemany(
            """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                     bank_code, account_no, amount, status, instructed_at)
               VALUES ($1, $1, 'G-manual', 'B', 1, 'Siti', '002', '1234567', $3, $2, $4)""",
            rows,
        )
        result = await ReconciliationActivities(rig.pool, bank).reconcile_payments(
            ReconcileRequest(run_id="in-flight")
        )
        assert found(result) == {
            ("paid_not_recorded", "stale-paid"),
            ("paid_not_recorded", "failed-paid"),
            ("recorded_not_paid", "never-arrived"),
        }
        # A window: only the statement since then and our rows since then (or on that part of it).
        since = await ReconciliationActivities(rig.pool, bank).reconcile_payments(
            ReconcileRequest(run_id="window", since=datetime.now(UTC) - timedelta(hours=1))
        )
        assert found(since) == {("paid_not_recorded", "stale-paid"), ("paid_not_recorded", "failed-paid")}
