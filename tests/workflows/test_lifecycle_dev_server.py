"""The lifecycle against the real Temporal dev server and embedded PostgreSQL, in real time with
compressed policies (one day lasts 50 ms): read model, audit rows, notifications the simulator
received, search attributes, a retried activity, concurrent proposals sharing a NIK, and the daily
digest schedule (the time-skipping server has no visibility or schedules:
https://github.com/temporalio/sdk-java/issues/1903)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.db import ReadModelActivities
from activities.notify_client import NotifyClient
from infra.audit import _CHAIN_LOCK as AUDIT_CHAIN_LOCK
from infra.audit import verify_chain
from infra.schedules import DAILY_DIGEST, ensure_schedules
from jps.contracts.activities import TransitionRecord
from jps.domain.calendar import local_date
from jps.domain.nik import mask_nik
from jps.domain.programs import Program, compressed_policies
from jps.domain.roles import Role
from jps.domain.stages import Stage
from jps.search_attributes import SA_STAGE
from jps.settings import get_settings
from tests.factories import lpj_lines, officer, proposal
from tests.workflows.harness import Harness, fund, running_worker
from worker import WORKFLOWS, build_activities

POLICIES = compressed_policies(seconds_per_day=0.05)
VERIFIER, TRAINER, FINANCE, MENTOR = (
    officer(r) for r in (Role.VERIFIER, Role.TRAINER, Role.FINANCE, Role.MENTOR)
)


@pytest.fixture
async def h(
    request: pytest.FixtureRequest,
    dev_client: Client,
    db: asyncpg.Pool,
    simulators: Any,
    bank_sim: Any,
    notify_sim: Any,
) -> AsyncIterator[Harness]:
    await fund(db)
    async with running_worker(
        dev_client, db, simulators.bank_url, simulators.notify_url, record_as=request.node.name
    ) as harness:
        yield harness


async def eventually(check: Any, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within}s: {value!r}")
        await asyncio.sleep(0.1)


async def test_full_lifecycle_read_model_audit_notifications(h: Harness, notify_sim: Any) -> None:
    submitted = proposal(Program.TKM)
    handle, state = await h.submit(submitted, policy=POLICIES[Program.TKM])
    gid = state.group_id
    today = local_date(state.submitted_at)
    await h.act(handle, "verify", VERIFIER, decision="approve", notes="lengkap")
    await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
    await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in submitted.members])
    await h.act(handle, "approve-disbursement", FINANCE, amount=9_500_000)

    async def in_mentoring() -> Any:
        s = await h.state(handle)
        return s if s.stage == Stage.MENTORING else None

    state = await eventually(in_mentoring)
    lines = lpj_lines(9_500_000, local_date(state.paid_at), tag=gid)
    await h.act(handle, "submit-lpj", MENTOR, lines=lines)
    await h.act(handle, "review-lpj", VERIFIER, decision="accept")
    for visit in state.visits:
        await h.act(
            handle,
            "report-visit",
            MENTOR,
            visit_no=visit.visit_no,
            visited_on=local_date(state.paid_at),
            business_status="running",
            monthly_revenue=2_500_000,
        )
    final = await handle.result()
    assert final.stage == Stage.COMPLETED

    row = await h.pool.fetchrow("SELECT * FROM groups WHERE group_id = $1", gid)
    assert (row["stage"], row["approved_amount"], row["paid_amount"]) == ("completed", 9_500_000, 9_500_000)
    transitions = [
        r["to_stage"]
        for r in await h.pool.fetch(
            "SELECT to_stage FROM stage_transitions WHERE group_id = $1 ORDER BY seq", gid
        )
    ]
    assert transitions == ["verification", "training", "disbursement", "mentoring", "completed"]
    audit = await h.pool.fetch("SELECT * FROM audit_log WHERE group_id = $1 ORDER BY seq", gid)
    assert [r["seq"] for r in audit] == list(range(1, final.seq + 1))
    by_event = {r["event"]: r for r in audit}
    assert by_event["verification_approved"]["actor"] == "verifier-1"
    assert by_event["disbursement_approved"]["actor"] == "finance-1" and by_event["aid_paid"]["actor"] is None
    async with h.pool.acquire() as conn:
        assert (await verify_chain(conn))["valid"]
    assert await h.pool.fetchval("SELECT status FROM payments WHERE group_id = $1", gid) == "paid"

    leader = next(m for m in submitted.members if m.is_leader)

    async def leader_messages() -> Any:
        got = {m["template"] for m in notify_sim.messages(group_id=gid, recipient=leader.phone)}
        wanted = {
            "proposal_received",
            "proposal_approved",
            "training_scheduled",
            "aid_paid",
            "visit_due",
            "completed",
        }
        return got if wanted <= got else None

    await eventually(leader_messages)

    # Search attributes follow the group (visibility lags a little).
    async def listed() -> Any:
        found = [
            w.id
            async for w in h.client.list_workflows(f"{SA_STAGE.name} = 'completed' AND WorkflowId = '{gid}'")
        ]
        return found

    assert await eventually(listed) == [gid]


class FlakyReadModel(ReadModelActivities):
    """Commits, then loses its answer on the first attempt: Temporal retries a step already written."""

    @activity.defn(name="record_transition")
    async def record_transition(self, record: TransitionRecord) -> bool:
        written = await super().record_transition(record)
        if activity.info().attempt == 1:
            raise RuntimeError("connection lost after commit")
        return written


async def test_retried_activity_writes_no_duplicate_rows(
    dev_client: Client, db: asyncpg.Pool, simulators: Any, notify_sim: Any
) -> None:
    bank = BankClient(simulators.bank_url)
    notify = NotifyClient(simulators.notify_url)
    activities = [a for a in build_activities(db, bank, notify) if a.__name__ != "record_transition"]
    flaky = FlakyReadModel(db)
    queue = "flaky-read-model"
    async with Worker(
        dev_client, task_queue=queue, workflows=WORKFLOWS, activities=[flaky.record_transition, *activities]
    ):
        harness = Harness(dev_client, queue, db)
        handle, state = await harness.submit(proposal())  # default policy: no timer fires meanwhile
        state = await harness.act(handle, "verify", VERIFIER, decision="revise", notes="foto usaha kurang")
        await handle.terminate("test finished")
    await bank.aclose()
    await notify.aclose()
    gid = state.group_id
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1", gid) == state.seq == 2
    assert await db.fetchval("SELECT count(*) FROM stage_transitions WHERE group_id = $1", gid) == 2
    assert await db.fetchval("SELECT count(*) FROM members WHERE group_id = $1", gid) == 20
    outbox = await db.fetch("SELECT id FROM notification_outbox WHERE group_id = $1", gid)
    assert len(outbox) == len({r["id"] for r in outbox}) > 0
    async with db.acquire() as conn:
        assert (await verify_chain(conn))["valid"]


async def test_two_concurrent_proposals_sharing_a_nik(h: Harness) -> None:
    first, second = proposal(name="Kelompok A"), proposal(name="Kelompok B")
    second.members[7] = first.members[2].model_copy(update={"is_leader": False})
    results = await asyncio.gather(
        h.submit(first, policy=POLICIES[Program.TKM]),
        h.submit(second, policy=POLICIES[Program.TKM]),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert (
        isinstance(lost[0], WorkflowUpdateFailedError)
        and getattr(lost[0].cause, "type", None) == "NikConflict"
    )
    winner = won[0][1].group_id
    assert winner in str(lost[0].cause)
    assert [r["group_id"] for r in await h.pool.fetch("SELECT group_id FROM groups")] == [winner]
    shared = first.members[2].nik
    assert await h.pool.fetchval("SELECT count(*) FROM members WHERE nik = $1 AND active", shared) == 1


@asynccontextmanager
async def registration_held(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Every audit append waits while this is open (it holds the chain's lock): a group's
    registration stays in flight, as it does for a moment under load. Query through the connection
    it gives: the pool's others may all be waiting for the lock."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", AUDIT_CHAIN_LOCK)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", AUDIT_CHAIN_LOCK)


async def test_a_step_arriving_during_registration_waits_for_it(h: Harness) -> None:
    """The officer's inbox can show a group a moment before its workflow knows it is registered: a
    step sent then is not refused, it runs once the registration is written; and if the
    registration fails, the step is refused with the registration's reason. (Default policies: no
    reminder fires meanwhile.)"""
    first = proposal(name="Kelompok Pertama")
    await h.submit(first)
    clash = proposal(name="Kelompok Bentrok")
    clash.members[3] = first.members[5].model_copy(update={"is_leader": False})
    async with registration_held(h.pool) as conn:
        handle = await h.start(proposal())
        clashing = await h.start(clash)
        steps = [
            asyncio.create_task(h.act(hd, "verify", VERIFIER, decision="approve"))
            for hd in (handle, clashing)
        ]
        await asyncio.sleep(1.5)
        assert not steps[0].done()  # waiting, not refused (the clash fails its registration meanwhile)
        assert await conn.fetchval("SELECT count(*) FROM groups") == 1
    state = await steps[0]
    assert (state.stage, state.seq) == (Stage.TRAINING, 2)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await steps[1]
    assert getattr(refused.value.cause, "type", None) == "WrongStage"
    reason = str(refused.value.cause)
    assert "never registered" in reason and mask_nik(first.members[5].nik) in reason  # masked, never in clear
    assert first.members[5].nik not in reason


async def test_daily_digest_schedule_reaches_the_supervisors(h: Harness, notify_sim: Any) -> None:
    _, state = await h.submit(proposal(region="3171"), policy=POLICIES[Program.TKM])

    async def overdue() -> Any:
        return await h.pool.fetchval(
            "SELECT escalation_level FROM groups WHERE group_id = $1", state.group_id
        )

    await eventually(overdue)  # the compressed SLA passed: the verification task is overdue

    async def escalation_out() -> Any:
        unsent = await h.pool.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE recipient = 'supervisor@3171' AND sent_at IS NULL"
        )
        sent = notify_sim.messages(recipient="supervisor@3171")
        return unsent == 0 and [m for m in sent if m["template"] == "escalated_regional"]

    # The supervisor's escalation first: a message to the same recipient still out in a background
    # round holds the digest back until the next round (each recipient's messages go in order), and
    # the next may be the sweep's, a minute later: the test's wait, not the product's promise.
    await eventually(escalation_out)
    settings = get_settings().model_copy(update={"temporal_task_queue": h.task_queue})
    names = await ensure_schedules(h.client, settings)
    assert DAILY_DIGEST in names
    assert await ensure_schedules(h.client, settings) == names  # idempotent: updates in place
    await h.client.get_schedule_handle(DAILY_DIGEST).trigger()

    async def digest() -> Any:
        return [
            m for m in notify_sim.messages(recipient="supervisor@3171") if m["template"] == "daily_digest"
        ]

    [message] = await eventually(digest)
    assert "3171" in message["body"] and "1 tugas" in message["body"]
    for schedule_id in names:
        await h.client.get_schedule_handle(schedule_id).delete()


async def test_gateway_outage_delays_messages_but_never_blocks_a_group(h: Harness, notify_sim: Any) -> None:
    notify_sim.faults(down=True)
    handle, state = await h.submit(proposal())
    state = await h.act(handle, "verify", VERIFIER, decision="approve")
    assert state.stage == Stage.TRAINING  # the lifecycle went on
    gid = state.group_id

    async def attempted() -> Any:
        return await h.pool.fetchval(
            "SELECT count(*) FROM notification_outbox"
            " WHERE group_id = $1 AND last_error IS NOT NULL AND sent_at IS NULL",
            gid,
        )

    await eventually(attempted)
    assert notify_sim.messages(group_id=gid) == []
    notify_sim.faults()  # the gateway is back: the sweep (the schedule's activity) delivers the rest
    settings = get_settings().model_copy(update={"temporal_task_queue": h.task_queue})
    await h.client.execute_workflow(
        "OutboxSweepWorkflow", id=f"sweep-{gid}", task_queue=settings.temporal_task_queue
    )
    pending = await h.pool.fetchval(
        "SELECT count(*) FROM notification_outbox WHERE group_id = $1 AND sent_at IS NULL", gid
    )
    assert pending == 0
    templates = {m["template"] for m in notify_sim.messages(group_id=gid)}
    assert {"proposal_received", "proposal_approved"} <= templates
    await handle.terminate("test finished")
