"""Cancellation (a supervisor, in any stage before the money moves; refused once it moves) and claims."""

from __future__ import annotations

import asyncio

from jps.domain.stages import Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    PAYMENT_SIGNAL,
    SUPERVISOR,
    FakeActivities,
    Flow,
    failed,
    paid,
    task_kind,
)


async def test_cancel_before_the_money_moves(flow: Flow, fakes: FakeActivities) -> None:
    handle = await flow.at_disbursement(proposal())
    assert await flow.refused(handle, "cancel", FINANCE, reason="tidak berhak") == "Forbidden"
    state = await flow.act(handle, "cancel", SUPERVISOR, reason="kelompok bubar")
    assert (
        state.stage == Stage.CANCELLED
        and state.open_task is None
        and state.outcome_reason == "kelompok bubar"
    )
    result = await handle.result()
    assert result.stage == Stage.CANCELLED
    assert fakes.events[-1] == "cancelled" and fakes.records[-1].from_stage == Stage.DISBURSEMENT
    assert fakes.budget_requests == [] and fakes.settlements == []


async def test_cancel_while_waiting_for_the_budget_stops_the_rechecks(
    flow: Flow, fakes: FakeActivities
) -> None:
    fakes.budget = "missing"
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_BUDGET
    answer = await flow.act(handle, "cancel", SUPERVISOR, reason="anggaran dialihkan")
    assert answer.stage == Stage.CANCELLED
    assert (await handle.result()).stage == Stage.CANCELLED
    assert len(fakes.budget_requests) == 1 and fakes.batches == [] and fakes.settlements == []


async def test_cancel_after_a_refused_transfer(flow: Flow, fakes: FakeActivities) -> None:
    """A transfer the bank refused moved no money: the group may still be cancelled, and its
    reservation was already released when the refusal was recorded."""
    fakes.instruct = lambda batch: [failed(t.transfer_id) for t in batch.transfers]
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT
    answer = await flow.act(handle, "cancel", SUPERVISOR, reason="rekening tidak bisa diperbaiki")
    assert answer.stage == Stage.CANCELLED and fakes.settlements == []
    assert [r.settle.paid_amount for r in fakes.records if r.settle] == [0]


async def test_cancel_refused_once_the_money_moved(flow: Flow, fakes: FakeActivities) -> None:
    fakes.instruct = lambda batch: []  # the bank has not answered yet
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_BANK
    assert await flow.refused(handle, "cancel", SUPERVISOR, reason="kelompok bubar") == "WrongStage"

    await handle.signal(PAYMENT_SIGNAL, paid(f"{state.group_id}-A1-00"))
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    assert await flow.refused(handle, "cancel", SUPERVISOR, reason="kelompok bubar") == "WrongStage"
    assert "cancelled" not in fakes.events


async def test_a_claim_arriving_while_the_bank_is_instructed_is_taken_at_once(
    flow: Flow, fakes: FakeActivities
) -> None:
    """Issue 10, scenario 9: the bank is instructed outside the workflow's lock, so an officer's step
    is not held up by a slow bank. Its history is recorded (tests/histories) so that the next change
    to this ordering is caught by the replay."""
    fakes.send_gate = asyncio.Event()
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    await fakes.sending.wait()  # the send is in flight
    state = await flow.act(handle, "claim", FINANCE, task="await_bank")
    assert state.open_task is not None and state.open_task.claimed_by == FINANCE.id
    assert fakes.events[-2:] == ["payment_instructed", "task_claimed"]
    fakes.send_gate.set()
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and fakes.events[-1] == "aid_paid"
