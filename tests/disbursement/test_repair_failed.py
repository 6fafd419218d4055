"""`jps repair-failed` (issue 10, scenario 13) on the disbursement rig's dev server, as the operator
runs it: the real command as a process, against PostgreSQL, Temporal's visibility and the bank
simulator over HTTP.

Three groups are broken for real in mid-payment, each left with its reservation `reserved`, its
members' NIKs active and its workflow closed (what a non-retryable bank error did before the fixes):

- A: terminated after its transfer reached the bank, which pays it afterwards;
- B: its transfer never reached the bank (the bank was down), then its workflow FAILED (a worker
  deployed with a build that cannot run the lifecycle, set to fail workflows on any error);
- W: terminated while the bank keeps its transfer pending.

The dry run changes nothing; --apply settles A's reservation as spent and releases B's, cancels both
(freeing their NIKs: a new group with B's people is accepted) with an audit row naming the operator
and the bank's word, and leaves W waiting; a second run finds nothing to do. Before this change there
was no such command: the groups stayed as they were for good."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.bank_client import BankClient
from infra.audit import verify_chain
from jps.contracts.names import BUDGET_SIGNAL, WORKFLOW_TYPE
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.disbursement.conftest import PROJECT_ROOT, Rig, eventually, worker_on
from tests.disbursement.test_reconciliation import FINANCE, POLICIES, TRAINER, VERIFIER
from tests.factories import proposal
from tests.workflows.harness import Harness, fund
from tools.repair import closed_runs


@workflow.defn(name=WORKFLOW_TYPE)
class BrokenBuild:
    """A build of the lifecycle that cannot run the groups it finds: it does nothing, so replaying a
    group's history (a local activity's marker in its first task, a patch's) is a nondeterminism
    error, and on the worker below, set to fail a workflow on any error, that fails the group's
    workflow for good (a build raising its own error as well made the SDK send two
    FailWorkflowExecution commands: the task failed, again and again, and the workflow never did)."""

    @workflow.run
    async def run(self, inp: Any) -> None:
        await workflow.wait_condition(lambda: False)


async def to_the_bank(h: Harness, p: Proposal) -> WorkflowHandle[Any, Any]:
    """Walk a group to an approved disbursement: the budget is reserved and the transfer instructed."""
    handle, state = await h.submit(p, policy=POLICIES[p.program])
    today = local_date(state.submitted_at)
    await h.act(handle, "verify", VERIFIER, decision="approve")
    await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
    await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in p.members])
    await h.act(handle, "approve-disbursement", FINANCE, amount=p.requested_amount)
    return handle


def cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": rig.temporal_address,
        "TEMPORAL_NAMESPACE": rig.client.namespace,
        "DATABASE_URL": rig.dsn,
        "JPS_BANK_URL": rig.sims.bank_url,
        "JPS_LOG_LEVEL": "WARNING",
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", "repair-failed", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def run_cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, rig, *args)


async def ledger(rig: Rig, *groups: str) -> dict[str, Any]:
    """Per group: its reservation's status, stage, active members, payment statuses; and the allocation."""
    out: dict[str, Any] = {}
    for g in groups:
        out[g] = (
            await rig.pool.fetchval("SELECT status FROM budget_reservations WHERE group_id = $1", g),
            await rig.pool.fetchval("SELECT stage FROM groups WHERE group_id = $1", g),
            await rig.pool.fetchval("SELECT count(*) FROM members WHERE group_id = $1 AND active", g),
            [r["status"] for r in await rig.pool.fetch("SELECT status FROM payments WHERE group_id = $1", g)],
        )
    row = await rig.pool.fetchrow(
        "SELECT reserved, spent FROM budget_allocations WHERE program = 'tkm' AND region_code = '31'"
    )
    out["allocation"] = (row["reserved"], row["spent"])
    return out


async def test_groups_broken_in_mid_payment_are_repaired_once_with_the_banks_word(rig: Rig) -> None:
    await fund(rig.pool)
    amount = 10_000_000
    props = {name: proposal(Program.TKM, size=10, amount=amount, name=f"Kelompok {name}") for name in "ABW"}
    async with worker_on(rig) as h:
        # A: the bank has the transfer and pays it five seconds later; the workflow is gone by then.
        rig.bank.config(settle_delay_ms=5_000)
        a = await to_the_bank(h, props["A"])
        await eventually(lambda: asyncio.to_thread(rig.bank.transfer, f"{a.id}-A1-00"))
        await a.terminate("closed in mid-payment (issue 10, scenario 1)")
        # W: the bank keeps the transfer pending for ten minutes.
        rig.bank.faults(long_pending_rate=1.0, long_pending_s=600)
        w = await to_the_bank(h, props["W"])
        await eventually(lambda: asyncio.to_thread(rig.bank.transfer, f"{w.id}-A1-00"))
        await w.terminate("closed in mid-payment (issue 10, scenario 1)")
        # B: the bank answers nothing; our row says pending, the bank never heard of the transfer.
        rig.bank.faults(error_rate=1.0)
        b = await to_the_bank(h, props["B"])

        async def b_instructed() -> Any:
            return await rig.pool.fetchval(
                "SELECT count(*) FROM payments WHERE group_id = $1 AND status = 'pending'", b.id
            )

        await eventually(b_instructed)
    rig.bank.faults()
    async with Worker(
        rig.client,
        task_queue=rig.task_queue,
        workflows=[BrokenBuild],
        workflow_failure_exception_types=[Exception],
        workflow_runner=UnsandboxedWorkflowRunner(),  # this test module is no workflow's to import
    ):
        await b.signal(BUDGET_SIGNAL)  # a workflow task for the broken build

        async def b_failed() -> bool:
            return (await b.describe()).status == WorkflowExecutionStatus.FAILED

        await eventually(b_failed, within=60)
    assert rig.bank.wait_settled(f"{a.id}-A1-00", timeout=15)["status"] == "paid"
    assert rig.bank.transfer(f"{b.id}-A1-00") is None
    assert (rig.bank.transfer(f"{w.id}-A1-00") or {}).get("status") == "pending"

    broken = (a.id, b.id, w.id)
    before = await ledger(rig, *broken)
    for g in broken:
        assert before[g][:3] == ("reserved", "disbursement", 10), before
    assert before["allocation"] == (3 * amount, 0)

    async def listed() -> bool:  # visibility is eventually consistent
        return {a.id, b.id, w.id} <= {r.group_id for r in await closed_runs(rig.client)}

    await eventually(listed, within=30)

    # The dry run: found through visibility (no --group), the bank's word on each transfer, no change.
    dry = await run_cli(rig)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    out = dry.stdout
    assert f"group {a.id}: workflow Terminated" in out and f"group {b.id}: workflow Failed" in out
    assert f"transfer {a.id}-A1-00 attempt 1 Rp 10,000,000: ours pending, bank paid Rp 10,000,000" in out
    assert f"transfer {b.id}-A1-00 attempt 1 Rp 10,000,000: ours pending, bank absent" in out
    assert f"reservation {a.id}:1 Rp 10,000,000: would settle Rp 10,000,000 spent, Rp 0 released" in out
    assert f"reservation {b.id}:1 Rp 10,000,000: would settle Rp 0 spent, Rp 10,000,000 released" in out
    assert f"waits: the bank has not given its final word on {w.id}-A1-00" in out
    assert "stage disbursement -> cancelled: repaired after a failed workflow" in out
    assert "would repair (dry run)" in out and "(dry run: nothing changed; --apply to repair)" in out
    assert await ledger(rig, *broken) == before

    refused = await run_cli(rig, "--apply")
    assert refused.returncode == 2 and "--operator" in refused.stderr
    assert await ledger(rig, *broken) == before

    applied = await run_cli(
        rig, "--apply", "--operator", "ops-budi", "--group", a.id, "--group", b.id, "--group", w.id
    )
    assert applied.returncode == 1, applied.stdout + applied.stderr  # W still waits
    assert "repair-failed: groups=3 repaired=2 to_repair=0 waiting=1" in applied.stdout
    after = await ledger(rig, *broken)
    assert after[a.id] == ("settled", "cancelled", 0, ["paid"])
    assert after[b.id] == ("released", "cancelled", 0, ["failed"])
    assert after[w.id] == before[w.id]
    assert after["allocation"] == (amount, amount)  # W's still reserved; A's paid spent; B's released

    rows = {
        r["group_id"]: r
        for r in await rig.pool.fetch(
            "SELECT * FROM audit_log WHERE event = 'repaired_after_failed_workflow' ORDER BY id"
        )
    }
    assert set(rows) == {a.id, b.id}
    assert rows[b.id]["actor"] == "ops-budi" and rows[b.id]["reason"] == "repaired after a failed workflow"
    assert rows[b.id]["details"]["workflow_status"] == "Failed"
    assert [t["bank"] for t in rows[b.id]["details"]["transfers"]] == ["absent"]
    assert rows[a.id]["details"]["workflow_status"] == "Terminated"
    assert [(t["bank"], t["bank_amount"]) for t in rows[a.id]["details"]["transfers"]] == [("paid", amount)]
    assert rows[a.id]["details"]["reservations"] == [
        {"reservation_id": f"{a.id}:1", "amount": amount, "paid": amount, "released": 0}
    ]
    assert "the bank paid Rp 10,000,000, which stays spent" in rows[a.id]["reason"]
    async with rig.pool.acquire() as conn:
        assert (await verify_chain(conn))["valid"] is True
    transitions = await rig.pool.fetch(
        "SELECT group_id, from_stage, to_stage, officer FROM stage_transitions WHERE to_stage = 'cancelled'"
    )
    assert {(t["group_id"], t["from_stage"], t["officer"]) for t in transitions} == {
        (a.id, "disbursement", "ops-budi"),
        (b.id, "disbursement", "ops-budi"),
    }
    # The read model as officers see it: cancelled, why, no open task, the payment as the bank paid it.
    seen = await rig.http.get(f"/groups/{a.id}", headers=rig.auth(Role.AUDITOR, regions=["*"]))
    group = seen.json()
    assert (group["stage"], group["open_tasks"], group["paid_amount"]) == ("cancelled", [], amount)
    assert group["outcome_reason"].startswith("repaired after a failed workflow")
    assert (
        await rig.pool.fetchval("SELECT count(*) FROM group_tasks WHERE group_id = ANY($1)", [a.id, b.id])
        == 0
    )

    # Idempotent: nothing left to do for A and B.
    again = await run_cli(rig, "--apply", "--operator", "ops-budi", "--group", a.id, "--group", b.id)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "repaired=0 to_repair=0 waiting=0 nothing_to_do=2" in again.stdout
    assert await ledger(rig, *broken) == after
    assert (
        await rig.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE event = 'repaired_after_failed_workflow'"
        )
        == 2
    )

    # B's people are free to join another group; W's are not.
    async with worker_on(rig) as h:
        _, state = await h.submit(props["B"].model_copy(update={"name": "Kelompok Baru"}))
        assert state.stage == "verification"
        with pytest.raises(WorkflowUpdateFailedError):
            await h.submit(props["W"].model_copy(update={"name": "Kelompok Lain"}))

    # The bank's client the command uses answers the same for W: still pending.
    async with BankClient(rig.sims.bank_url) as bank:
        answer = await bank.get_transfer(f"{w.id}-A1-00")
    assert answer is not None and answer.status == "pending"
