"""The group lifecycle on the real time-skipping test server: a whole TKM lifecycle, escalations at
their offsets, the revise loop, training reschedule and its limit, cancellation and every kind of
refused update. Activities are real (PostgreSQL, bank and notification simulators). The
disbursement's paths (shares, refusals by the bank, retries, new details, freeze and budget waits)
are in test_lifecycle_time_skipping_disbursement.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.audit import verify_chain
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.stages import EscalationLevel, Stage, TaskKind
from tests.factories import officer, proposal
from tests.workflows.harness import Harness, today_at
from tests.workflows.lifecycle_steps import (
    FINANCE,
    MENTOR,
    REGISTRAR,
    SUPERVISOR,
    TRAINER,
    VERIFIER,
    budget_once_recorded,
    mentor_to_completion,
    refusal,
    task_kind,
    through_training,
    time_skipping_harness,
    wait_stage,
)


@pytest.fixture
async def h(
    request: pytest.FixtureRequest,
    time_env: WorkflowEnvironment,
    db: asyncpg.Pool,
    simulators: Any,
    bank_sim: Any,
    notify_sim: Any,
) -> AsyncIterator[Harness]:
    async with time_skipping_harness(request, time_env, db, simulators) as harness:
        yield harness


async def test_tkm_group_from_proposal_to_completed(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, state = await h.submit(proposal(Program.TKM))
    assert state.stage == Stage.VERIFICATION and state.open_task and task_kind(state) == TaskKind.VERIFY

    state = await through_training(h, time_env, handle)
    assert state.stage == Stage.DISBURSEMENT and task_kind(state) == TaskKind.APPROVE_DISBURSEMENT
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000, notes="sesuai RAB")

    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [p.status for p in state.payments] == ["paid"] and state.payments[0].amount == 10_000_000
    assert len(state.visits) == 3 and state.visits[1].due_on > state.visits[0].due_on

    final = await mentor_to_completion(time_env, h, handle)
    assert final.stage == Stage.COMPLETED and final.open_task is None
    result = await handle.result()
    assert result.stage == Stage.COMPLETED

    row = await h.pool.fetchrow("SELECT * FROM groups WHERE group_id = $1", state.group_id)
    assert row["stage"] == "completed" and row["paid_amount"] == 10_000_000 and row["task_kind"] is None
    assert row["state"]["proposal"]["members"][0]["nik"].count("*") == 8  # masked in the read model
    audit = await h.pool.fetch("SELECT event FROM audit_log WHERE group_id = $1 ORDER BY seq", state.group_id)
    events = [r["event"] for r in audit]
    assert events[0] == "proposal_submitted" and "aid_paid" in events and events[-1] == "visit_reported"
    assert len(events) == result.seq
    async with h.pool.acquire() as conn:
        assert (await verify_chain(conn))["valid"]
    assert await budget_once_recorded(h, "tkm", (0, 10_000_000)) == (0, 10_000_000)
    assert (
        await h.pool.fetchval("SELECT count(*) FROM members WHERE group_id = $1 AND active", state.group_id)
        == 0
    )


async def test_escalations_fire_at_their_offsets_and_stop_when_done(
    time_env: WorkflowEnvironment, h: Harness
) -> None:
    policy = DEFAULT_POLICIES[Program.TKM]
    handle, state = await h.submit(proposal())
    assert state.open_task is not None
    due = state.open_task.due_at
    assert due - state.submitted_at == policy.sla_for(TaskKind.VERIFY)

    await time_env.sleep(policy.sla_for(TaskKind.VERIFY) - timedelta(hours=1))
    assert (await h.state(handle)).escalation_level == EscalationLevel.NONE
    await time_env.sleep(timedelta(hours=2))
    assert (await h.state(handle)).escalation_level == EscalationLevel.REMINDED
    await time_env.sleep(policy.escalate_regional_after)
    assert (await h.state(handle)).escalation_level == EscalationLevel.REGIONAL_SUPERVISOR
    await time_env.sleep(policy.escalate_national_after - policy.escalate_regional_after)
    state = await h.state(handle)
    assert state.escalation_level == EscalationLevel.NATIONAL_DIRECTORATE
    row = await h.pool.fetchrow("SELECT escalation_level FROM groups WHERE group_id = $1", state.group_id)
    assert row["escalation_level"] == EscalationLevel.NATIONAL_DIRECTORATE
    events = [
        r["event"]
        for r in await h.pool.fetch(
            "SELECT event FROM audit_log WHERE group_id = $1 ORDER BY seq", state.group_id
        )
    ]
    assert events == ["proposal_submitted", "reminder", "escalated_regional", "escalated_national"]

    state = await h.act(handle, "verify", VERIFIER, decision="approve")
    assert state.escalation_level == EscalationLevel.NONE and task_kind(state) == TaskKind.SCHEDULE_TRAINING
    # The next task escalates on its own clock; nothing more for the verification task.
    await time_env.sleep(policy.sla_for(TaskKind.SCHEDULE_TRAINING) - timedelta(hours=1))
    state = await h.state(handle)
    assert state.escalation_level == EscalationLevel.NONE and state.seq == 5


async def test_revise_loop(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, _ = await h.submit(proposal())
    state = await h.act(handle, "verify", VERIFIER, decision="revise", notes="KTP ketua tidak terbaca")
    assert state.stage == Stage.PROPOSAL and task_kind(state) == TaskKind.RESUBMIT_PROPOSAL
    revised = proposal(name="Kelompok Maju Jaya Revisi")
    state = await h.act(handle, "resubmit", REGISTRAR, proposal=revised, notes="KTP diganti")
    assert state.stage == Stage.VERIFICATION and state.name == "Kelompok Maju Jaya Revisi"
    row = await h.pool.fetchrow("SELECT name, stage FROM groups WHERE group_id = $1", state.group_id)
    assert (row["name"], row["stage"]) == ("Kelompok Maju Jaya Revisi", "verification")
    niks = {r["nik"] for r in await h.pool.fetch("SELECT nik FROM members WHERE group_id=$1", state.group_id)}
    assert niks == {m.nik for m in revised.members}
    state = await h.act(handle, "verify", VERIFIER, decision="reject", notes="usaha fiktif")
    assert state.stage == Stage.REJECTED
    assert (await handle.result()).stage == Stage.REJECTED


async def test_training_reschedule_and_attempt_limit(time_env: WorkflowEnvironment, h: Harness) -> None:
    submitted = proposal(size=20)
    handle, state = await h.submit(submitted)
    niks = [m.nik for m in submitted.members]
    await h.act(handle, "verify", VERIFIER, decision="approve")
    limit = DEFAULT_POLICIES[Program.TKM].max_training_attempts
    for attempt in range(1, limit + 1):
        now = await time_env.get_current_time()
        await h.act(
            handle,
            "schedule-training",
            TRAINER,
            starts_on=today_at(now),
            ends_on=today_at(now),
            venue="Balai Desa",
        )
        state = await h.act(handle, "record-attendance", TRAINER, attended_niks=niks[:10])  # 50% < 80%
        assert state.stage == Stage.TRAINING and state.training[-1].attempt == attempt
    assert task_kind(state) == TaskKind.DECIDE_TRAINING
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(handle, "decide-training", TRAINER, decision="proceed", notes="x")
    assert isinstance(refused.value.cause, ApplicationError) and refusal(refused.value) == "Forbidden"
    state = await h.act(handle, "decide-training", SUPERVISOR, decision="reschedule", notes="satu kali lagi")
    now = await time_env.get_current_time()
    await h.act(
        handle, "schedule-training", TRAINER, starts_on=today_at(now), ends_on=today_at(now), venue="BLK"
    )
    state = await h.act(handle, "record-attendance", TRAINER, attended_niks=niks[:16])  # exactly 80%
    assert state.stage == Stage.DISBURSEMENT and len(state.training) == limit + 1


async def test_cancellation_before_money_moves(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, _ = await h.submit(proposal())
    await through_training(h, time_env, handle)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.act(handle, "cancel", FINANCE, reason="tidak berhak")
    state = await h.act(handle, "cancel", SUPERVISOR, reason="kelompok bubar")
    assert state.stage == Stage.CANCELLED and state.outcome_reason == "kelompok bubar"
    assert (await handle.result()).stage == Stage.CANCELLED
    assert (
        await h.pool.fetchval("SELECT count(*) FROM members WHERE group_id=$1 AND active", state.group_id)
        == 0
    )


@pytest.mark.parametrize(
    ("action", "who", "args", "kind"),
    [
        ("verify", TRAINER, {"decision": "approve"}, "Forbidden"),  # role not allowed
        ("verify", officer(Role.VERIFIER, regions=["32"]), {"decision": "approve"}, "Forbidden"),  # region
        ("verify", VERIFIER, {"decision": "reject", "notes": ""}, "Invalid"),  # reject needs a reason
        (
            "schedule-training",
            TRAINER,
            {"starts_on": "2030-01-01", "ends_on": "2030-01-02", "venue": "BLK"},
            "WrongStage",
        ),
        (
            "report-visit",
            MENTOR,
            {"visit_no": 1, "visited_on": "2020-01-01", "business_status": "running"},
            "WrongStage",
        ),
        ("claim", officer(Role.MENTOR), {}, "Forbidden"),  # the verify task is not the mentor's
    ],
)
async def test_refused_updates_change_nothing(
    time_env: WorkflowEnvironment,
    h: Harness,
    action: str,
    who,
    args: dict,
    kind: str,
) -> None:
    handle, before = await h.submit(proposal())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(handle, action, who, **args)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, cause
    after = await h.state(handle)
    assert after.summary() == before
    assert await h.pool.fetchval("SELECT count(*) FROM audit_log WHERE group_id=$1", before.group_id) == 1


async def test_refused_data_in_later_stages(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, state = await h.submit(proposal(amount=20_000_000))
    await through_training(h, time_env, handle)
    before = await h.state(handle)
    for args, kind in [
        ({"amount": 20_000_001}, "Invalid"),  # above the requested amount
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.act(handle, "approve-disbursement", FINANCE, **args)
        assert refusal(refused.value) == kind
    assert await h.state(handle) == before
    # Above the maker-checker threshold: the approver cannot authorize, another supervisor can.
    both = officer(Role.FINANCE, officer_id="finance-boss")
    both.roles.append(Role.SUPERVISOR)
    state = await h.act(handle, "approve-disbursement", both, amount=20_000_000)
    assert task_kind(state) == TaskKind.AUTHORIZE_DISBURSEMENT
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(handle, "authorize-disbursement", both)
    assert refusal(refused.value) == "Forbidden"
    await h.act(handle, "authorize-disbursement", SUPERVISOR, notes="dicek")
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
    assert state.authorized_by == "supervisor-1" and state.approved_by == "finance-boss"
    # Visits in order, never in the future.
    now = await time_env.get_current_time()
    for args in (
        {"visit_no": 2, "visited_on": today_at(now)},
        {"visit_no": 1, "visited_on": today_at(now, 1)},
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.act(handle, "report-visit", MENTOR, business_status="running", **args)
        assert refusal(refused.value) == "Invalid"


async def test_second_group_with_same_nik_is_refused(time_env: WorkflowEnvironment, h: Harness) -> None:
    first = proposal()
    _, state = await h.submit(first)
    second = proposal(name="Kelompok Lain")
    second.members[3] = first.members[5].model_copy(update={"is_leader": False})
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.submit(second)
    assert refusal(refused.value) == "NikConflict"
    assert state.group_id in str(refused.value.cause)
    assert await h.pool.fetchval("SELECT count(*) FROM groups") == 1
