"""The disbursement stage on the real time-skipping test server: Padat Karya's exact shares, a closed
account (budget released, new details), a worker's refused transfer repaid alone, a passing bank
failure retried without an officer, new details above the threshold authorized again, and the freeze
and missing budget waiting durably. Activities are real (PostgreSQL, bank and notification
simulators); each test's history keeps its name (tests/histories/)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from infra.embedded import temporal_test_server_path
from infra.temporal import register_search_attributes
from jps.domain.models import GroupSummary
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests.conftest import SEALING_CONVERTER
from tests.factories import EQUAL_SPLIT, officer, proposal
from tests.workflows.harness import Harness, fund
from tests.workflows.lifecycle_steps import (
    FINANCE,
    MENTOR,
    REGISTRAR,
    SUPERVISOR,
    budget_once_recorded,
    mentor_to_completion,
    refusal,
    task_kind,
    through_training,
    time_skipping_harness,
    wait_stage,
)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Each test here on a time-skipping server of its own. Shared by the module, the server stopped
    answering when the freeze test skipped a day after a group had been walked through all of its
    mentoring months ('h2 protocol error', then 'Timeout expired'), in full runs and alone; a server
    per test costs about a second each."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=SEALING_CONVERTER, test_server_existing_path=temporal_test_server_path()
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


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


async def test_padat_karya_pays_each_worker_exact_shares(time_env: WorkflowEnvironment, h: Harness) -> None:
    handle, _ = await h.submit(proposal(Program.PADAT_KARYA, size=20, amount=20_000_003), policy=EQUAL_SPLIT)
    await through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=20_000_003)
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
    amounts = [p.amount for p in state.payments]
    assert len(amounts) == 20 and sum(amounts) == 20_000_003 and max(amounts) - min(amounts) == 1
    assert {p.account_no for p in state.payments} == {
        m.bank_account.account_no for m in state.proposal.members if m.bank_account
    }
    assert len(state.visits) == 5 and state.visits[-1].handover and not state.visits[0].handover
    final = await mentor_to_completion(time_env, h, handle)
    assert final.stage == Stage.COMPLETED


async def test_closed_account_releases_budget_and_waits_for_new_details(
    time_env: WorkflowEnvironment, h: Harness, bank_sim
) -> None:
    handle, _ = await h.submit(proposal(account_no="9990001111"))  # the bank treats 999… as closed
    await through_training(h, time_env, handle)
    state = await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(30):
        state = await h.state(handle)
        if task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT:
            break
        await time_env.sleep(timedelta(minutes=5))
    assert state.open_task is not None and state.open_task.kind == TaskKind.UPDATE_BANK_ACCOUNT
    assert "account_closed" in state.open_task.note
    assert [p.status for p in state.payments] == ["failed"]
    assert await budget_once_recorded(h, "tkm", (0, 0)) == (0, 0)
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
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [(p.status, p.account_no) for p in state.payments] == [
        ("failed", "9990001111"),
        ("paid", "1234500000"),
    ]
    assert len({p.idempotency_key for p in state.payments}) == 2
    assert await budget_once_recorded(h, "tkm", (0, 10_000_000)) == (0, 10_000_000)
    paid = [t for t in bank_sim.statement() if t["transfer_id"].startswith(state.group_id)]
    assert [t["amount"] for t in paid] == [10_000_000]


async def test_padat_karya_partial_failure_repays_only_the_refused_worker(
    time_env: WorkflowEnvironment, h: Harness, bank_sim
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    closed = p.members[4]
    assert closed.bank_account is not None
    bank_sim.close_account(closed.bank_account.account_no)
    handle, _ = await h.submit(p, policy=EQUAL_SPLIT)
    await through_training(h, time_env, handle)
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
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
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
    await through_training(h, time_env, handle)
    await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    for _ in range(30):
        state = await h.state(handle)
        if len(state.payments) >= 2:
            break
        await time_env.sleep(timedelta(minutes=5))
    bank_sim.faults()  # the bank recovers
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
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
    await through_training(h, time_env, handle)
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
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
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
    await through_training(h, time_env, handle)
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
    state = await wait_stage(time_env, h, handle, Stage.MENTORING)
    assert [p.status for p in state.payments] == ["paid"]
