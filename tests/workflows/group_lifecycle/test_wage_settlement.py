"""The settlement of a week's wage batch (`_settle_wage_batch` in wages.py: `wages_paid`,
`wages_partly_paid`) and of the end of the work period (`work_period_completed`) when its record is
refused (issue 10, docs/disbursement.md promise 5, docs/wages.md): the bank's final word is kept,
nothing of the settlement stays unrecorded, the group waits visibly (finance's `investigate_payment`;
the batch in flight and the wage bill's reservation undrawn, or the reservation not yet released) and
the record is tried again, backing off, until it is written, once: each worker's wage drawn once.

Before this was patched (settlement-recorded-first-v1, as the lump sum's in test_settlement.py) the
batch was settled in memory before its record ran: a refused `wages_paid` left the week paid in the
workflow and nothing drawn from the reservation nor shown to anyone; a refused
`work_period_completed` left the group in mentoring in memory, its reservation never released."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from jps.domain.wages import WagePolicy
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    MENTOR,
    FakeActivities,
    Flow,
    GroupState,
    failed,
    paid,
)
from tests.workflows.group_lifecycle.test_wages import entry, mondays, photo, pk_proposal

POLICY = DEFAULT_POLICIES[Program.PADAT_KARYA]
BILL = 10_000_000
WEEK_TOTAL = 2 * (150_000 + 125_000 + 100_000)  # two days of the foreman, a skilled worker, a worker
SETTLEMENTS = ["wages_paid", "wages_partly_paid", "work_period_completed"]


def _refused() -> ApplicationError:
    return ApplicationError("data refused by the database", type="InvalidData", non_retryable=True)


def _kinds(state: GroupState) -> set[TaskKind]:
    return {t.kind for t in state.open_tasks}


def _draws(fakes: FakeActivities) -> list[tuple[str, str, int]]:
    return [(r.draw.reservation_id, r.draw.draw_id, r.draw.amount) for r in fakes.records if r.draw]


def _released(fakes: FakeActivities) -> list[tuple[str, int]]:
    return [(r.settle.reservation_id, r.settle.paid_amount) for r in fakes.records if r.settle]


def _paid_amount(event: str) -> int:
    return WEEK_TOTAL - (2 * 100_000 if event == "wages_partly_paid" else 0)


async def _week_paid(flow: Flow, fakes: FakeActivities, event: str) -> tuple[WorkflowHandle[Any, Any], date]:
    """A wage bill reserved, one clean roll of two days for three workers, released by finance and
    sent; the two days are the whole work period when the test is about its end."""
    policy = POLICY.model_copy(
        update={"wages": WagePolicy(planned_workdays=2 if event == "work_period_completed" else 6)}
    )
    p = pk_proposal()
    handle = await flow.at_disbursement(p, policy=policy)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=BILL, notes="wage bill")
    week, _ = await mondays(flow)
    days = [week, week + timedelta(days=1)]
    evidence = [
        {"date": d.isoformat(), "file_ids": [photo(flow, f"F-WS{i}00000001", d)]} for i, d in enumerate(days)
    ]
    entries = [entry(m.nik, d) for m in p.members[:3] for d in days]
    await flow.act(
        handle, "submit-muster", MENTOR, week_starts_on=week.isoformat(), entries=entries, evidence=evidence
    )
    # For a partly paid week, the bank refuses the third worker's transfer for good (account closed).
    refused_tid = f"{handle.id}-W{week:%Y%m%d}-02" if event == "wages_partly_paid" else None
    fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.transfer_id == refused_tid else paid(t.transfer_id)
        for t in batch.transfers
    ]
    await flow.act(handle, "approve-wages", FINANCE, week_starts_on=week.isoformat())
    await flow.idle(handle)
    return handle, week


async def _waits_visibly(
    handle: WorkflowHandle[Any, Any], fakes: FakeActivities, state: GroupState, event: str, week: date
) -> None:
    """Nothing of the refused settlement stays; the group waits in disbursement, and says so."""
    gid = state.group_id
    engine, wages = state.runtime.payments, state.runtime.wages
    assert wages is not None and state.wages is not None
    assert state.stage == Stage.DISBURSEMENT
    assert wages.reservation_id == f"{gid}:0" and not wages.finished and wages.released == 0
    assert TaskKind.INVESTIGATE_PAYMENT in _kinds(state)
    assert len(fakes.batches) == 1  # nothing sent again
    if event == "work_period_completed":
        # The week is paid and drawn, once; the rest of the reservation is not released yet.
        assert not engine.in_flight and state.wages.drawn == WEEK_TOTAL
        assert _draws(fakes) == [(f"{gid}:0", f"{gid}-W{week:%Y%m%d}", WEEK_TOTAL)]
        assert not any(v.handover for v in state.visits) and state.paid_at is None
    else:
        # The batch is still in flight, the bank's word kept and waiting to be recorded; nothing drawn.
        ids = [f"{gid}-W{week:%Y%m%d}-{n:02d}" for n in range(3)]
        assert engine.in_flight and wages.batch == ids and wages.batch_id == f"{gid}-W{week:%Y%m%d}"
        assert [ln.status for ln in wages.weeks[0].lines] == ["pending"] * 3
        assert wages.weeks[0].status == "paying"
        assert [p.status for p in state.payments] == ["pending"] * 3
        assert all(engine.bank_results[i].status in ("paid", "failed") for i in ids)
        assert TaskKind.AWAIT_BANK in _kinds(state) and TaskKind.FIX_WAGE_ACCOUNT not in _kinds(state)
        assert _draws(fakes) == [] and state.wages.drawn == 0
    assert _released(fakes) == []
    # The read model says so: the last record is the investigation, at disbursement, reservation held.
    last = fakes.records[-1]
    assert last.event == "payment_investigation_opened" and last.state is not None
    assert last.state.stage == Stage.DISBURSEMENT
    assert TaskKind.INVESTIGATE_PAYMENT in {t.kind for t in last.state.open_tasks}
    assert last.state.wages is not None and last.state.wages.reserved and last.state.wages.released == 0
    assert fakes.events.count("payment_investigation_opened") == 1 and event not in fakes.events
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def _settles_once(
    flow: Flow, handle: WorkflowHandle[Any, Any], fakes: FakeActivities, event: str, week: date
) -> GroupState:
    """Once the record is written: settled exactly once, each worker's wage drawn once."""
    state = await flow.idle(handle)
    gid = state.group_id
    wages = state.runtime.wages
    assert wages is not None and state.wages is not None
    assert fakes.events.count(event) == 1
    assert TaskKind.INVESTIGATE_PAYMENT not in _kinds(state)  # closed by the settlement
    # One transfer per worker, sent once; what the bank paid drawn once, under the batch's id.
    assert len(fakes.batches) == 1 and len(fakes.batches[0].transfers) == 3
    paid_amount = _paid_amount(event)
    assert _draws(fakes) == [(f"{gid}:0", f"{gid}-W{week:%Y%m%d}", paid_amount)]
    assert state.wages.drawn == paid_amount
    lines = wages.weeks[0].lines
    assert [ln.tries for ln in lines] == [0, 0, 0] and wages.weeks[0].status == "settled"
    assert not state.runtime.payments.in_flight and wages.batch == []
    if event == "work_period_completed":
        assert state.stage == Stage.MENTORING and wages.finished
        assert _released(fakes) == [(f"{gid}:0", 0)]  # the rest released, once
        assert wages.released == BILL - WEEK_TOTAL and wages.reservation_id is None
        assert sum(1 for v in state.visits if v.handover) == 1
    else:
        assert state.stage == Stage.DISBURSEMENT and _released(fakes) == []
        assert wages.reservation_id == f"{gid}:0"
        assert TaskKind.AWAIT_BANK not in _kinds(state)
    if event == "wages_partly_paid":
        assert [ln.status for ln in lines] == ["paid", "paid", "failed"]
        assert TaskKind.FIX_WAGE_ACCOUNT in _kinds(state) and state.wages.owed == 200_000
    else:
        assert [ln.status for ln in lines] == ["paid"] * 3
        assert [p.status for p in state.payments] == ["paid"] * 3
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    return state


@pytest.mark.parametrize("event", SETTLEMENTS)
async def test_a_wage_settlement_refused_once_waits_visibly_then_settles_once(
    flow: Flow, fakes: FakeActivities, event: str
) -> None:
    fakes.refuse[event] = _refused()
    handle, week = await _week_paid(flow, fakes, event)
    assert fakes.refused == [event]
    await _waits_visibly(handle, fakes, await flow.idle(handle), event, week)
    # Tried again after bank_poll_after; the bank is not asked again, nothing is sent again.
    polls = len(fakes.polls)
    await flow.sleep(handle, POLICY.bank_poll_after)
    assert len(fakes.polls) == polls
    await _settles_once(flow, handle, fakes, event, week)


@pytest.mark.parametrize("event", SETTLEMENTS)
async def test_a_wage_settlement_refused_for_good_keeps_waiting_backing_off(
    flow: Flow, fakes: FakeActivities, event: str
) -> None:
    fakes.refuse_always[event] = _refused()
    handle, week = await _week_paid(flow, fakes, event)
    await _waits_visibly(handle, fakes, await flow.idle(handle), event, week)
    # The record is tried again after bank_poll_after, then twice as long each time.
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert fakes.refused == [event] * 2
    state = await flow.sleep(handle, POLICY.bank_poll_after * 2 - POLICY.bank_poll_after / 10)
    assert fakes.refused == [event] * 2
    state = await flow.sleep(handle, POLICY.bank_poll_after / 5)
    assert fakes.refused == [event] * 3
    await _waits_visibly(handle, fakes, state, event, week)  # one investigation, still open
    # Whatever made the database refuse it is fixed: the next try records it, once.
    del fakes.refuse_always[event]
    await flow.sleep(handle, POLICY.bank_poll_after * 4)
    assert fakes.refused == [event] * 3
    await _settles_once(flow, handle, fakes, event, week)
