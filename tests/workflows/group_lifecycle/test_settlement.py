"""The settlement of an attempt (`_settle_payments` in payments.py) when its record is refused
(issue 10, promise 5): the bank's final word is kept, nothing of the settlement stays unrecorded, the
group waits visibly (finance's `investigate_payment`, the attempt in flight, its budget reserved)
and the record is tried again, backing off, until it is written, once.

Before patch settlement-recorded-first-v1 the settlement changed the state before its record ran: a
refused `aid_paid` left the workflow in mentoring with nothing recorded (the reservation reserved, the
read model at disbursement, no task), a refused `payment_retry` or `payment_failed` went on to the
next attempt or waited for bank details nobody was asked for."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    BudgetSettlement,
    FakeActivities,
    Flow,
    GroupState,
    PaymentBatch,
    PaymentResult,
    failed,
    paid,
)

POLICY = DEFAULT_POLICIES[Program.TKM]
AMOUNT = 10_000_000
SETTLEMENTS = ["aid_paid", "payment_retry", "payment_failed"]


def _refused() -> ApplicationError:
    return ApplicationError("data refused by the database", type="InvalidData", non_retryable=True)


def _bank_for(event: str) -> Any:
    """The bank's answer to each batch that makes the attempt settle with `event`."""

    def bank(batch: PaymentBatch) -> list[PaymentResult]:
        if event == "payment_retry" and batch.attempt == 1:
            return [
                failed(t.transfer_id, "beneficiary_bank_unavailable", permanent=False)
                for t in batch.transfers
            ]
        if event == "payment_failed":
            return [failed(t.transfer_id, "account_closed") for t in batch.transfers]
        return [paid(t.transfer_id) for t in batch.transfers]

    return bank


def _kinds(state: GroupState) -> set[TaskKind]:
    return {t.kind for t in state.open_tasks}


def _settled(fakes: FakeActivities) -> list[tuple[str, BudgetSettlement]]:
    return [(r.event, r.settle) for r in fakes.records if r.settle is not None]


async def _approved(
    flow: Flow, fakes: FakeActivities, event: str
) -> tuple[WorkflowHandle[Any, Any], GroupState]:
    fakes.instruct = _bank_for(event)
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=AMOUNT)
    return handle, await flow.idle(handle)


async def _waits_visibly(handle: WorkflowHandle[Any, Any], fakes: FakeActivities, state: GroupState) -> None:
    """Nothing of the refused settlement stays; the group waits in disbursement, and says so."""
    gid = state.group_id
    engine = state.runtime.payments
    assert state.stage == Stage.DISBURSEMENT
    assert engine.in_flight and engine.attempt == 1 and engine.reservation_id == f"{gid}:1"
    assert [p.status for p in state.payments] == ["pending"]  # the bank's word waits to be recorded
    assert engine.bank_results[f"{gid}-A1-00"].status in ("paid", "failed")  # ... and is kept
    assert _kinds(state) == {TaskKind.AWAIT_BANK, TaskKind.INVESTIGATE_PAYMENT}
    assert _settled(fakes) == [] and len(fakes.batches) == 1
    # The read model says so: the last record is the investigation, at disbursement.
    last = fakes.records[-1]
    assert last.event == "payment_investigation_opened" and last.state is not None
    assert last.state.stage == Stage.DISBURSEMENT
    assert TaskKind.INVESTIGATE_PAYMENT in {t.kind for t in last.state.open_tasks}
    assert fakes.events.count("payment_investigation_opened") == 1
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def _settles_once(
    flow: Flow, handle: WorkflowHandle[Any, Any], fakes: FakeActivities, event: str
) -> GroupState:
    """Once the record is written: the settlement happened exactly once, and the group went on."""
    state = await flow.idle(handle)
    gid = state.group_id
    first = BudgetSettlement(reservation_id=f"{gid}:1", paid_amount=AMOUNT if event == "aid_paid" else 0)
    assert fakes.events.count(event) == 1
    assert TaskKind.INVESTIGATE_PAYMENT not in _kinds(state)  # closed by the settlement
    if event == "aid_paid":
        assert state.stage == Stage.MENTORING and _settled(fakes) == [("aid_paid", first)]
        assert [p.status for p in state.payments] == ["paid"] and len(fakes.batches) == 1
    elif event == "payment_failed":
        assert state.stage == Stage.DISBURSEMENT and _settled(fakes) == [("payment_failed", first)]
        assert TaskKind.UPDATE_BANK_ACCOUNT in _kinds(state) and not state.runtime.payments.in_flight
        assert [p.status for p in state.payments] == ["failed"] and len(fakes.batches) == 1
    else:  # a new transfer after its backoff, paid: each attempt's reservation settled once
        state = await flow.sleep(handle, POLICY.bank_poll_after * 2)
        second = BudgetSettlement(reservation_id=f"{gid}:2", paid_amount=AMOUNT)
        assert state.stage == Stage.MENTORING
        assert _settled(fakes) == [("payment_retry", first), ("aid_paid", second)]
        assert [p.status for p in state.payments] == ["failed", "paid"] and len(fakes.batches) == 2
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    return state


@pytest.mark.parametrize("event", SETTLEMENTS)
async def test_a_settlement_refused_once_waits_visibly_then_settles_once(
    flow: Flow, fakes: FakeActivities, event: str
) -> None:
    fakes.refuse[event] = _refused()
    handle, state = await _approved(flow, fakes, event)
    assert fakes.refused == [event]
    await _waits_visibly(handle, fakes, state)
    # Tried again after bank_poll_after; the bank is not asked again, nothing is sent again.
    polls = len(fakes.polls)
    await flow.sleep(handle, POLICY.bank_poll_after)
    assert len(fakes.polls) == polls
    await _settles_once(flow, handle, fakes, event)


@pytest.mark.parametrize("event", SETTLEMENTS)
async def test_a_settlement_refused_for_good_keeps_waiting_backing_off(
    flow: Flow, fakes: FakeActivities, event: str
) -> None:
    fakes.refuse_always[event] = _refused()
    handle, state = await _approved(flow, fakes, event)
    await _waits_visibly(handle, fakes, state)
    # The record is tried again after bank_poll_after, then twice as long each time.
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert fakes.refused == [event] * 2
    state = await flow.sleep(handle, POLICY.bank_poll_after * 2 - POLICY.bank_poll_after / 10)
    assert fakes.refused == [event] * 2
    state = await flow.sleep(handle, POLICY.bank_poll_after / 5)
    assert fakes.refused == [event] * 3
    await _waits_visibly(handle, fakes, state)  # one investigation, still open
    # Whatever made the database refuse it is fixed: the next try records it, once.
    del fakes.refuse_always[event]
    await flow.sleep(handle, POLICY.bank_poll_after * 4)
    assert fakes.refused == [event] * 3
    await _settles_once(flow, handle, fakes, event)
