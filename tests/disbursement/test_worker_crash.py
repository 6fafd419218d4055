"""The worker process killed with SIGKILL while payments are in flight, then restarted: every group of
both programmes is paid exactly once. The worker is the real `python worker.py` (its settings from the
environment, as in production); the bank adds latency so that transfers are on the wire when it dies.
Nothing is handed over between the two processes but what Temporal and PostgreSQL keep: the
restarted worker retries the interrupted batch (detected by the missed heartbeat) with the same
idempotency keys, and the bank answers the transfers it already has instead of paying them again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import WorkflowHandle

from activities.payments import _CONCURRENCY as BATCH_CONCURRENCY
from infra import lifecycle
from infra.schedules import RECONCILIATION
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program, compressed_policies
from jps.domain.roles import Role
from tests.disbursement.conftest import PROJECT_ROOT, Rig, bank_paid, eventually, free_port, paid_transfers
from tests.factories import equal_split, officer, proposal
from tests.workflows.harness import Harness, fund
from tools.chaos import check_exactly_once

POLICIES = {
    p: policy.model_copy(update={"bank_poll_after": timedelta(seconds=2)})
    for p, policy in compressed_policies(seconds_per_day=30).items()
}
# The lump sum's batches (one wage bill in equal shares, groups submitted before the weekly wage rule);
# a kill inside a weekly wage run: tests/disbursement/test_wage_run_crash.py.
POLICIES[Program.PADAT_KARYA] = equal_split(POLICIES[Program.PADAT_KARYA])
VERIFIER, TRAINER, FINANCE = officer(Role.VERIFIER), officer(Role.TRAINER), officer(Role.FINANCE)


@contextmanager
def worker_process(rig: Rig, queue: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": rig.temporal_address,
        "TEMPORAL_NAMESPACE": rig.client.namespace,
        "TEMPORAL_TASK_QUEUE": queue,
        "DATABASE_URL": rig.dsn,
        "JPS_BANK_URL": rig.sims.bank_url,
        "JPS_NOTIFY_URL": rig.sims.notify_url,
        "JPS_API_BASE_URL": rig.api_url,  # the bank's callbacks reach the test's API
        "JPS_WORKER_METRICS_PORT": str(free_port()),
        "JPS_BANK_TIMEOUT_S": "5",
        "JPS_LOG_LEVEL": "WARNING",
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "worker.py"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def polled(rig: Rig, queue: str) -> bool:
    answer = await rig.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=rig.client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return bool(answer.pollers)


async def to_approval(h: Harness, p: Proposal) -> WorkflowHandle[Any, Any]:
    handle, state = await h.submit(p, policy=POLICIES[p.program])
    today = local_date(state.submitted_at)
    await h.act(handle, "verify", VERIFIER, decision="approve")
    await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
    await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in p.members])
    return handle


async def instruct_attempts(handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The attempt that completed each bank-sending activity of the workflow (`send_transfers`; before
    the bank-status-decides patch, `instruct_payments`)."""
    history = await handle.fetch_history()
    kinds = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and kinds.get(e.activity_task_started_event_attributes.scheduled_event_id)
        in ("send_transfers", "instruct_payments")
    ]


async def test_worker_killed_mid_payment_then_restarted_pays_everyone_once(rig: Rig, tmp_path: Path) -> None:
    await fund(rig.pool)
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    h = rig.harness(queue)
    proposals = [
        proposal(Program.TKM, size=10, amount=10_000_000),
        proposal(Program.TKM, size=10, amount=12_000_000, account_no="2234567890"),
        proposal(Program.PADAT_KARYA, size=10, amount=10_000_000),
        proposal(Program.PADAT_KARYA, size=12, amount=12_000_006),
    ]
    transfers = 1 + 1 + 10 + 12
    log_path = tmp_path / "worker.log"
    with worker_process(rig, queue, log_path) as first:
        await eventually(lambda: polled(rig, queue), within=30)
        # The worker deployment brings the Schedules up at start-up, the daily reconciliation among them.
        schedule = await rig.client.get_schedule_handle(RECONCILIATION).describe()
        assert schedule.schedule.action.task_queue == queue  # type: ignore[attr-defined]
        handles = await asyncio.gather(*(to_approval(h, p) for p in proposals))
        # Every bank call takes 0.8 s, and the bank takes no batches: the transfers go one a request, a
        # few at once, so that a batch can be half sent. (A kill inside one batch request, which the bank
        # records whole: tests/disbursement/test_wage_run_crash.py.)
        rig.bank.faults(latency_ms=800, no_batches=True)
        await asyncio.gather(
            *(
                h.act(hd, "approve-disbursement", FINANCE, amount=p.requested_amount)
                for hd, p in zip(handles, proposals, strict=True)
            )
        )

        # Kill while the 12-worker wage batch is half sent: its first wave (8 at a time) is at the bank,
        # the second is still on the wire for another 0.8 s. The retry must re-send the first wave.
        assert BATCH_CONCURRENCY < len(proposals[3].members)
        wage_bill = handles[3].id

        async def wage_batch_half_sent() -> bool:
            return rig.bank.transfer(f"{wage_bill}-A1-00") is not None

        await eventually(wage_batch_half_sent, within=20, every=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    at_kill = rig.bank.ledger()["transfers"]
    pending = await rig.pool.fetchval("SELECT count(*) FROM payments WHERE status = 'pending'")
    assert at_kill < transfers and pending > 0  # killed with payments in flight

    rig.bank.faults(latency_ms=100)
    with worker_process(rig, queue, log_path):

        async def all_in_mentoring() -> bool:
            stages = await rig.pool.fetch("SELECT stage FROM groups")
            return len(stages) == len(proposals) and all(r["stage"] == "mentoring" for r in stages)

        try:
            await eventually(all_in_mentoring, within=90, every=0.25)
        except AssertionError:
            raise AssertionError(f"not all paid; worker log:\n{log_path.read_text()[-3000:]}") from None
        states = [await lifecycle.query_state(rig.client, hd.id) for hd in handles]
        figures = await check_exactly_once(
            rig.pool,
            rig.bank.statement(),
            [(s.group_id, p) for s, p in zip(states, proposals, strict=True)],
            states,
        )
        assert figures.problems == [] and (figures.duplicates, figures.lost, figures.stuck) == (0, 0, 0)
        # Some batch was cut off by the kill and completed by the restarted worker's retry.
        attempts = [a for hd in handles for a in await instruct_attempts(hd)]
        assert max(attempts) >= 2, attempts

    ours = await paid_transfers(rig)
    assert ours == bank_paid(rig) and len(ours) == transfers
    assert sum(ours.values()) == sum(p.requested_amount for p in proposals)
    assert rig.bank.ledger()["duplicates_suppressed"] > 0  # the retry re-sent transfers the bank already had
    budget = await rig.pool.fetchrow(
        "SELECT sum(reserved) AS reserved, sum(spent) AS spent FROM budget_allocations"
    )
    assert (budget["reserved"], budget["spent"]) == (0, sum(ours.values()))
