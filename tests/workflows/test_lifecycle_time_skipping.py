"""The group lifecycle on the real time-skipping test server: whole lifecycles of both programmes,
escalations at their offsets, the revise loop, training reschedule and its limit, cancellation and
every kind of refused update. Activities are real (PostgreSQL, bank and notification simulators)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.audit import verify_chain
from jps.contracts.workflow import GroupState
from jps.domain.models import GroupSummary
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.stages import EscalationLevel, Stage, TaskKind
from tests.factories import officer, proposal
from tests.workflows.harness import Harness, fund, running_worker, today_at


def refusal(err: WorkflowUpdateFailedError) -> str | None:
    """The refusal type the workflow gave (Forbidden, WrongStage, Invalid, NikConflict)."""
    return err.cause.type if isinstance(err.cause, ApplicationError) else None


def task_kind(state: GroupSummary) -> TaskKind | None:
    return state.open_task.kind if state.open_task else None


VERIFIER = officer(Role.VERIFIER)
TRAINER = officer(Role.TRAINER)
FINANCE = officer(Role.FINANCE)
SUPERVISOR = officer(Role.SUPERVISOR, officer_id="supervisor-1")
MENTOR = officer(Role.MENTOR)
REGISTRAR = officer(Role.REGISTRAR)


@pytest.fixture
async def h(
    request: pytest.FixtureRequest,
    time_env: WorkflowEnvironment,
    db: asyncpg.Pool,
    simulators,
    bank_sim,
    notify_sim,
) -> AsyncIterator[Harness]:
    await fund(db)
    async with running_worker(
        time_env.client, db, simulators.bank_url, simulators.notify_url, record_as=request.node.name
    ) as harness:
        yield harness


async def _through_training(h: Harness, env: WorkflowEnvironment, handle: WorkflowHandle) -> GroupSummary:
    await h.act(handle, "verify", VERIFIER, decision="approve", notes="dokumen lengkap")
    now = await env.get_current_time()
    await h.act(
        handle,
        "schedule-training",
        TRAINER,
        starts_on=today_at(now),
        ends_on=today_at(now, 2),
        venue="BLK Jakarta Timur",
    )
    state = await h.state(handle)
    return await h.act(
        handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in state.proposal.members]
    )


async def _wait_stage(
    env: WorkflowEnvironment, h: Harness, handle: WorkflowHandle, stage: Stage
) -> GroupState:
    for _ in range(60):
        state = await h.state(handle)
        if state.stage == stage:
            return state
        await env.sleep(timedelta(minutes=5))
    raise AssertionError(f"stuck in {state.stage}, task {state.open_task}")


async def _mentor_to_completion(env: WorkflowEnvironment, h: Harness, handle: WorkflowHandle) -> GroupSummary:
    state: GroupSummary = await h.state(handle)
    for visit in state.visits:
        now = await env.get_current_time()
        wait = (visit.due_on - today_at(now)).days
        if wait > 0:
            await env.sleep(timedelta(days=wait))
        now = await env.get_current_time()
        state = await h.act(
            handle,
            "report-visit",
            MENTOR,
            visit_no=visit.visit_no,
            visited_on=today_at(now),
            business_status="running",
            monthly_revenue=3_000_000,
        )
    return state


async def test_tkm_group_from_proposal_to_completed(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, state = await h.submit(proposal(Program.TKM))
    assert state.stage == Stage.VERIFICATION and state.open_task and task_kind(state) == TaskKind.VERIFY

    state = await _through_training(h, time_env, handle)
    assert state.stage == Stage.DISBURSEMENT and task_kind(state) == TaskKind.APPROVE_DISBURSEMENT
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000, notes="sesuai RAB")

    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [p.status for p in state.payments] == ["paid"] and state.payments[0].amount == 10_000_000
    assert len(state.visits) == 3 and state.visits[1].due_on > state.visits[0].due_on

    final = await _mentor_to_completion(time_env, h, handle)
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
    budget = await h.pool.fetchrow("SELECT reserved, spent FROM budget_allocations WHERE program='tkm'")
    assert (budget["reserved"], budget["spent"]) == (0, 10_000_000)
    assert (
        await h.pool.fetchval("SELECT count(*) FROM members WHERE group_id = $1 AND active", state.group_id)
        == 0
    )


async def test_padat_karya_pays_each_worker_exact_shares(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, _ = await h.submit(proposal(Program.PADAT_KARYA, size=20, amount=20_000_003))
    await _through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=20_000_003)
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    amounts = [p.amount for p in state.payments]
    assert len(amounts) == 20 and sum(amounts) == 20_000_003 and max(amounts) - min(amounts) == 1
    assert {p.account_no for p in state.payments} == {
        m.bank_account.account_no for m in state.proposal.members if m.bank_account
    }
    assert len(state.visits) == 5 and state.visits[-1].handover and not state.visits[0].handover
    final = await _mentor_to_completion(time_env, h, handle)
    assert final.stage == Stage.COMPLETED


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
    await _through_training(h, time_env, handle)
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
    await _through_training(h, time_env, handle)
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
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
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


async def test_closed_account_releases_budget_and_waits_for_new_details(
    time_env: WorkflowEnvironment, h: Harness, bank_sim
) -> None:
    handle, _ = await h.submit(proposal(account_no="9990001111"))  # the bank treats 999… as closed
    await _through_training(h, time_env, handle)
    state = await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(30):
        state = await h.state(handle)
        if task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT:
            break
        await time_env.sleep(timedelta(minutes=5))
    assert state.open_task is not None and state.open_task.kind == TaskKind.UPDATE_BANK_ACCOUNT
    assert "account_closed" in state.open_task.note
    assert [p.status for p in state.payments] == ["failed"]
    budget = await h.pool.fetchrow("SELECT reserved, spent FROM budget_allocations WHERE program='tkm'")
    assert (budget["reserved"], budget["spent"]) == (0, 0)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(
            handle,
            "update-bank-account",
            MENTOR,
            bank_account={"bank_code": "002", "account_no": "1234500000", "holder_name": "Kelompok"},
        )
    assert refusal(refused.value) == "Forbidden"
    await h.act(
        handle,
        "update-bank-account",
        REGISTRAR,
        bank_account={"bank_code": "002", "account_no": "1234500000", "holder_name": "Kelompok"},
    )
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [(p.status, p.account_no) for p in state.payments] == [
        ("failed", "9990001111"),
        ("paid", "1234500000"),
    ]
    assert len({p.idempotency_key for p in state.payments}) == 2
    budget = await h.pool.fetchrow("SELECT reserved, spent FROM budget_allocations WHERE program='tkm'")
    assert (budget["reserved"], budget["spent"]) == (0, 10_000_000)
    paid = [t for t in bank_sim.statement() if t["transfer_id"].startswith(state.group_id)]
    assert [t["amount"] for t in paid] == [10_000_000]


async def test_padat_karya_partial_failure_repays_only_the_refused_worker(
    time_env: WorkflowEnvironment, h: Harness, bank_sim
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    closed = p.members[4]
    assert closed.bank_account is not None
    bank_sim.close_account(closed.bank_account.account_no)
    handle, _ = await h.submit(p)
    await _through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(30):
        state: GroupSummary = await h.state(handle)
        if task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT:
            break
        await time_env.sleep(timedelta(minutes=5))
    assert sorted(p.status for p in state.payments).count("paid") == 9
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(
            handle,
            "update-bank-account",
            REGISTRAR,
            bank_account={"bank_code": "002", "account_no": "5550001", "holder_name": "x"},
        )
    assert refusal(refused.value) == "Invalid"  # Padat Karya: say whose account
    await h.act(
        handle,
        "update-bank-account",
        REGISTRAR,
        member_nik=closed.nik,
        bank_account={"bank_code": "009", "account_no": "5550001", "holder_name": closed.name},
    )
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    paid = [p for p in state.payments if p.status == "paid"]
    assert len(paid) == 10 and sum(p.amount for p in paid) == 10_000_000
    assert [p.account_no for p in state.payments if p.attempt == 2] == ["5550001"]
    statement = [t for t in bank_sim.statement() if t["transfer_id"].startswith(state.group_id)]
    assert sum(t["amount"] for t in statement) == 10_000_000 and len(statement) == 10


async def test_passing_bank_failure_is_retried_without_an_officer(
    time_env: WorkflowEnvironment, h: Harness, bank_sim
) -> None:
    bank_sim.faults(accepted_then_failed_rate=1.0, seed=7)
    handle, _ = await h.submit(proposal())
    await _through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(30):
        state = await h.state(handle)
        if len(state.payments) >= 2:
            break
        await time_env.sleep(timedelta(minutes=5))
    bank_sim.faults()  # the bank recovers
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [p.status for p in state.payments][-1] == "paid"
    assert all(
        p.status == "failed" and p.reason == "beneficiary_bank_unavailable" for p in state.payments[:-1]
    )
    assert (
        state.payments[-1].attempt
        == len(state.payments)
        <= 1 + DEFAULT_POLICIES[Program.TKM].payment_auto_retries
    )


async def test_new_bank_details_above_the_threshold_need_a_fresh_authorization(
    time_env: WorkflowEnvironment, h: Harness
) -> None:
    handle, _ = await h.submit(proposal(amount=20_000_000, account_no="9990002222"))
    await _through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=20_000_000)
    await h.act(handle, "authorize-disbursement", SUPERVISOR)
    for _ in range(30):
        state: GroupSummary = await h.state(handle)
        if task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT:
            break
        await time_env.sleep(timedelta(minutes=5))
    changer = officer(Role.FINANCE, officer_id="finance-2")
    changer.roles.append(Role.SUPERVISOR)
    state = await h.act(
        handle,
        "update-bank-account",
        changer,
        bank_account={"bank_code": "002", "account_no": "3330004444", "holder_name": "Kelompok"},
    )
    assert task_kind(state) == TaskKind.AUTHORIZE_DISBURSEMENT and state.authorized_by is None
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.act(handle, "authorize-disbursement", changer)
    assert refusal(refused.value) == "Forbidden"
    await time_env.sleep(timedelta(hours=1))
    assert len((await h.state(handle)).payments) == 1  # nothing sent to the new account yet
    await h.act(handle, "authorize-disbursement", SUPERVISOR, notes="rekening baru dicek")
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [(p.status, p.account_no) for p in state.payments] == [
        ("failed", "9990002222"),
        ("paid", "3330004444"),
    ]


async def test_freeze_and_missing_budget_wait_durably_until_released(
    time_env: WorkflowEnvironment, h: Harness
) -> None:
    await h.pool.execute(
        "INSERT INTO disbursement_freezes (program, region_code, reason, frozen_by)"
        " VALUES ('tkm', '31', 'Pilkada', 'x')"
    )
    await h.pool.execute("DELETE FROM budget_allocations WHERE program = 'tkm'")
    handle, _ = await h.submit(proposal())
    await _through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(20):
        state = await h.state(handle)
        if task_kind(state) == TaskKind.AWAIT_UNFREEZE:
            break
        await asyncio.sleep(0.1)
    assert (
        task_kind(state) == TaskKind.AWAIT_UNFREEZE and state.open_task and "Pilkada" in state.open_task.note
    )
    await h.pool.execute("UPDATE disbursement_freezes SET lifted_at = now(), lifted_by = 'x'")
    await handle.signal("budget_changed")
    for _ in range(20):
        state = await h.state(handle)
        if task_kind(state) == TaskKind.AWAIT_BUDGET:
            break
        await asyncio.sleep(0.1)
    assert state.open_task and "no budget allocation" in state.open_task.note and state.payments == []
    await fund(h.pool)
    await time_env.sleep(DEFAULT_POLICIES[Program.TKM].budget_retry_every)  # the periodic re-check finds it
    state = await _wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [p.status for p in state.payments] == ["paid"]
