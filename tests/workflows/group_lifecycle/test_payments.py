"""A missing budget or a disbursement freeze is a durable wait (a task), re-checked every
`budget_retry_every`, or at once when the `budget_changed` signal says something changed."""

from __future__ import annotations

from datetime import timedelta

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import BUDGET_SIGNAL, FINANCE, FakeActivities, Flow, task_kind

RETRY_EVERY = DEFAULT_POLICIES[Program.TKM].budget_retry_every


async def test_missing_budget_is_rechecked_until_it_is_there(flow: Flow, fakes: FakeActivities) -> None:
    fakes.budget = "missing"
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_BUDGET and state.open_task is not None
    assert state.open_task.note == fakes.budget_reason and state.payments == []
    assert fakes.events[-2:] == ["disbursement_approved", "budget_unavailable"]
    waiting_since = state.open_task.opened_at

    state = await flow.sleep(handle, RETRY_EVERY)
    assert len(fakes.budget_requests) == 2 and fakes.batches == []
    # Still the same wait: no second task, no second event.
    assert state.open_task is not None and state.open_task.opened_at == waiting_since
    assert fakes.events.count("budget_unavailable") == 1

    fakes.budget = "available"  # funded; the workflow finds out at its next re-check
    state = await flow.sleep(handle, RETRY_EVERY - timedelta(hours=1))
    assert len(fakes.budget_requests) == 2 and task_kind(state) == TaskKind.AWAIT_BUDGET
    state = await flow.sleep(handle, timedelta(hours=2))
    assert state.stage == Stage.MENTORING and len(fakes.budget_requests) == 3
    # Every re-check asks for the same reservation (attempt 1): only a reserved budget starts an attempt.
    assert {(r.attempt, r.amount) for r in fakes.budget_requests} == {(1, 10_000_000)}
    assert [t.transfer_id for b in fakes.batches for t in b.transfers] == [f"{state.group_id}-A1-00"]


async def test_freeze_then_missing_budget_rechecked_when_signalled(flow: Flow, fakes: FakeActivities) -> None:
    fakes.budget = "frozen"
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_UNFREEZE and state.open_task is not None
    assert state.open_task.note == "Pilkada" and fakes.events[-1] == "disbursement_frozen"

    # The freeze is lifted but the allocation is gone: the signal re-checks now, no time passes.
    before = await flow.env.get_current_time()
    fakes.budget = "missing"
    await handle.signal(BUDGET_SIGNAL)
    state = await flow.idle(handle)
    assert len(fakes.budget_requests) == 2 and task_kind(state) == TaskKind.AWAIT_BUDGET
    assert fakes.events[-2:] == ["disbursement_frozen", "budget_unavailable"]

    fakes.budget = "available"
    await handle.signal(BUDGET_SIGNAL)
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and len(fakes.budget_requests) == 3
    assert await flow.env.get_current_time() - before < timedelta(minutes=1)
    assert fakes.freeze_checks == []


async def test_budget_signal_at_another_time_changes_nothing(flow: Flow, fakes: FakeActivities) -> None:
    handle, _ = await flow.submit(proposal())
    before = await flow.state(handle)
    await handle.signal(BUDGET_SIGNAL)
    after = await flow.idle(handle)
    assert after.summary() == before.summary() and fakes.budget_requests == []
    assert fakes.events == ["proposal_submitted"]
