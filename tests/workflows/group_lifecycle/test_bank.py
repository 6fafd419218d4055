"""Only the bank's own status decides (issue 10): an activity that fails never fails the group, a
callback's "failed" is confirmed before any new transfer, polls back off, an overdue answer opens a
finance investigation closed only when the bank agrees, a freeze holds unsent transfers, and a
long-lived group continues as new carrying its whole state. Each of these failed before the
bank-status-decides-v1 patch (the workflow FAILED, paid twice, or polled unbounded)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import (
    BUDGET_SIGNAL,
    FINANCE,
    PAYMENT_SIGNAL,
    FakeActivities,
    Flow,
    GroupState,
    failed,
    paid,
    task_kind,
)

POLICY = DEFAULT_POLICIES[Program.TKM]


async def _approved(
    flow: Flow, fakes: FakeActivities, **policy: Any
) -> tuple[WorkflowHandle[Any, Any], GroupState]:
    handle = await flow.at_disbursement(proposal(), policy=POLICY.model_copy(update=policy))
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    return handle, await flow.idle(handle)


def _kinds(state: GroupState) -> set[TaskKind]:
    return {t.kind for t in state.open_tasks}


async def test_a_final_bank_error_opens_an_investigation_and_never_fails_the_group(
    flow: Flow, fakes: FakeActivities
) -> None:
    # Scenario 1: a 409 (IdempotencyConflictError) used to fail the workflow in mid-payment.
    fakes.send_error = ApplicationError("409 key in use", type="IdempotencyConflictError", non_retryable=True)
    fakes.poll = lambda ids: []  # the bank says nothing final yet
    handle, state = await _approved(flow, fakes)
    assert state.stage == Stage.DISBURSEMENT
    assert _kinds(state) == {TaskKind.AWAIT_BANK, TaskKind.INVESTIGATE_PAYMENT}
    assert "payment_investigation_opened" in fakes.events
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert state.runtime.payments.reservation_id is not None  # the budget stays reserved
    # Nothing is sent again under a new key: the bank's status is asked until it is final.
    fakes.poll = lambda ids: [paid(i) for i in ids]
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert state.stage == Stage.MENTORING
    assert len(fakes.batches) == 1 and [p.status for p in state.payments] == ["paid"]
    assert TaskKind.INVESTIGATE_PAYMENT not in _kinds(state)


async def test_a_failed_callback_is_confirmed_by_the_bank_before_any_new_transfer(
    flow: Flow, fakes: FakeActivities
) -> None:
    # Scenario 3: "failed, not permanent" for a transfer the bank then paid made a second transfer.
    fakes.instruct = lambda batch: []  # pending at the bank
    fakes.poll = lambda ids: [paid(i) for i in ids]  # the bank's own word: paid
    handle, state = await _approved(flow, fakes)
    tid = f"{state.group_id}-A1-00"
    await handle.signal(PAYMENT_SIGNAL, failed(tid, "timeout", permanent=False))
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    assert fakes.polls == [[tid]]  # asked once, at once
    assert len(fakes.batches) == 1 and [p.status for p in state.payments] == ["paid"]


async def test_a_confirmed_failure_is_retried_and_an_unconfirmed_one_waits(
    flow: Flow, fakes: FakeActivities
) -> None:
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []  # the bank still has it pending: the callback's failure does not count
    handle, state = await _approved(flow, fakes)
    tid = f"{state.group_id}-A1-00"
    await handle.signal(PAYMENT_SIGNAL, failed(tid, "timeout", permanent=False))
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_BANK and [p.status for p in state.payments] == ["pending"]
    fakes.poll = lambda ids: [failed(i, "timeout", permanent=False) for i in ids]
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert [p.status for p in state.payments] == ["failed"]
    assert "payment_retry" in fakes.events


async def test_polls_back_off_and_an_overdue_answer_goes_to_finance(
    flow: Flow, fakes: FakeActivities
) -> None:
    # Scenario 4: a transfer kept pending used to be polled every 10 minutes forever.
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []
    handle, state = await _approved(flow, fakes)
    tid = f"{state.group_id}-A1-00"
    state = await flow.sleep(handle, POLICY.payment_investigation_after - timedelta(hours=12))
    assert TaskKind.INVESTIGATE_PAYMENT not in _kinds(state)
    state = await flow.sleep(handle, timedelta(hours=12) + POLICY.bank_poll_max)
    # 10, 20, 40, 80, 160 min, then every 6 h: about 13 polls in two and a half days, not 360; the
    # investigation opens at the first poll past the period, counted in the polls' own intervals.
    assert 10 <= len(fakes.polls) <= 15
    assert TaskKind.INVESTIGATE_PAYMENT in _kinds(state)
    assert state.runtime.payments.reservation_id is not None
    # Finance may close it only when the bank agrees.
    refusal = await flow.refused(
        handle, "resolve-payment", FINANCE, transfer_id=tid, outcome="failed", reason="x" * 5
    )
    assert refusal == "WrongStage"
    fakes.poll = lambda ids: [paid(i) for i in ids]
    await flow.act(handle, "resolve-payment", FINANCE, transfer_id=tid, outcome="paid", reason="statement")
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and "payment_resolved" in fakes.events


async def test_months_of_polling_stay_small_and_continue_as_new_carries_the_state(
    flow: Flow, fakes: FakeActivities
) -> None:
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []
    handle, state = await _approved(flow, fakes, history_events_before_continue=200)
    first_run = (await handle.describe()).run_id
    for _ in range(9):  # three months
        state = await flow.sleep(handle, timedelta(days=10))
    described = await handle.describe()
    assert described.run_id != first_run  # continued as new at least once
    events = len((await handle.fetch_history()).events)
    assert events < 10_000
    # The whole state crossed over: the attempt, its reservation and the investigation task.
    assert state.runtime.payments.attempt == 1 and state.runtime.payments.in_flight
    assert state.runtime.payments.reservation_id is not None
    assert TaskKind.INVESTIGATE_PAYMENT in _kinds(state)
    fakes.poll = lambda ids: [paid(i) for i in ids]
    state = await flow.sleep(handle, POLICY.bank_poll_max)
    assert state.stage == Stage.MENTORING and len(fakes.batches) == 1


async def test_half_a_year_pending_under_the_built_in_policy_stays_under_10000_events(
    flow: Flow, fakes: FakeActivities
) -> None:
    """Scenario 4 under the policy as it ships (the test above lowers the continue-as-new threshold to
    see it happen): a transfer the bank keeps pending for six months is polled less and less often
    (doubling up to `bank_poll_max`), so the group's history stays small, and it still waits, visibly."""
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []
    handle, state = await _approved(flow, fakes)
    for _ in range(18):  # six months
        state = await flow.sleep(handle, timedelta(days=10))
    events = len((await handle.fetch_history()).events)
    assert events < 10_000, events
    # Backed off: no more polls than one every bank_poll_max would make, and a few while doubling.
    most = timedelta(days=180) / POLICY.bank_poll_max + 20
    assert 0 < len(fakes.polls) <= most, len(fakes.polls)
    assert state.runtime.payments.in_flight and state.runtime.payments.reservation_id is not None
    assert TaskKind.INVESTIGATE_PAYMENT in _kinds(state)


async def test_transfers_held_by_a_freeze_wait_visibly_and_go_out_when_it_is_lifted(
    flow: Flow, fakes: FakeActivities
) -> None:
    # Scenario 6: the freeze was checked only when the budget was reserved.
    fakes.instruct = lambda batch: []
    handle = await flow.at_disbursement(proposal())
    fakes.status_of = {}
    gid = (await flow.state(handle)).group_id
    fakes.status_of[f"{gid}-A1-00"] = "held"
    fakes.poll = lambda ids: []
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_UNFREEZE and "disbursement_frozen" in fakes.events
    fakes.status_of.clear()
    fakes.poll = lambda ids: [paid(i) for i in ids]
    await handle.signal(BUDGET_SIGNAL)
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and len(fakes.batches) == 1
    assert "held_transfers_sent" in fakes.events


async def test_a_callback_that_overtakes_the_sending_answer_is_kept(
    flow: Flow, fakes: FakeActivities
) -> None:
    """The bank answers the POST `pending`, settles at once and calls back before that answer reaches
    the workflow: the callback makes the workflow ask the bank at once, and its `paid` stands (an
    early version dropped it on the stale `pending`, leaving the group waiting for its first poll)."""
    fakes.send_gate = asyncio.Event()
    fakes.instruct = lambda batch: []  # the POST's answer: pending
    fakes.poll = lambda ids: [paid(i) for i in ids]  # by now the bank has paid
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    await fakes.sending.wait()
    gid = (await flow.state(handle)).group_id
    await handle.signal(PAYMENT_SIGNAL, paid(f"{gid}-A1-00"))
    fakes.send_gate.set()
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and fakes.polls == [[f"{gid}-A1-00"]]


async def test_a_paid_callback_counts_only_when_the_bank_confirms_it(
    flow: Flow, fakes: FakeActivities
) -> None:
    """A signal claiming `paid` (anyone who reaches Temporal could send one) settles nothing until
    the bank's own status says so: otherwise the budget would be spent and the group moved on for
    money that never reached the beneficiary."""
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []  # the bank: still pending
    handle, state = await _approved(flow, fakes)
    tid = f"{state.group_id}-A1-00"
    await handle.signal(PAYMENT_SIGNAL, paid(tid))
    state = await flow.idle(handle)
    assert state.stage == Stage.DISBURSEMENT and [p.status for p in state.payments] == ["pending"]
    assert fakes.polls == [[tid]]
    fakes.poll = lambda ids: [paid(i) for i in ids]
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert state.stage == Stage.MENTORING


async def test_a_payment_whose_instruction_could_not_be_recorded_is_still_sent_once(
    flow: Flow, fakes: FakeActivities
) -> None:
    """The record of `payment_instructed` fails for good (found in review: the attempt stayed in
    flight, never sent, its budget reserved, polled forever)."""
    fakes.refuse["payment_instructed"] = ApplicationError("refused", type="InvalidData", non_retryable=True)
    handle, state = await _approved(flow, fakes)
    assert state.runtime.payments.in_flight and not fakes.batches
    state = await flow.sleep(handle, POLICY.bank_poll_after)
    assert state.stage == Stage.MENTORING and len(fakes.batches) == 1
    assert TaskKind.INVESTIGATE_PAYMENT not in _kinds(state)  # closed when the payment settled
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_resolve_payment_never_calls_a_held_transfer_failed(flow: Flow, fakes: FakeActivities) -> None:
    """A transfer held back by a freeze was never sent: it waits for the freeze, it is not failed
    (resolving it failed could let it go out beside its replacement)."""
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []
    handle = await flow.at_disbursement(proposal())
    gid = (await flow.state(handle)).group_id
    tid = f"{gid}-A1-00"
    fakes.status_of[tid] = "held"
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.sleep(handle, POLICY.payment_investigation_after + POLICY.budget_retry_every)
    assert task_kind(state) == TaskKind.AWAIT_UNFREEZE
    refusal = await flow.refused(
        handle, "resolve-payment", FINANCE, transfer_id=tid, outcome="failed", reason="frozen"
    )
    assert refusal in ("WrongStage", "Invalid")
