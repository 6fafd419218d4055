"""Whole lifecycles with every activity answering well: TKM from proposal to completed, and the
Padat Karya wage bill in equal shares."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import EQUAL_SPLIT, lpj_lines, proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    MENTOR,
    VERIFIER,
    BudgetSettlement,
    FakeActivities,
    Flow,
    GroupSummary,
    task_kind,
)


async def account_for_the_aid(flow: Flow, handle: WorkflowHandle[Any, Any]) -> GroupSummary:
    """A TKM group's LPJ for the whole aid (70/30), submitted by the mentor and accepted."""
    state: GroupSummary = await flow.state(handle)
    assert state.lpj is not None and state.task_of(TaskKind.SUBMIT_LPJ) is not None
    lines = lpj_lines(state.lpj.paid, await flow.today(), tag=state.group_id)
    state = await flow.act(handle, "submit-lpj", MENTOR, lines=lines, notes="nota lengkap")
    assert state.lpj is not None and state.lpj.status == "under_review"
    return await flow.act(handle, "review-lpj", VERIFIER, decision="accept")


async def mentor_to_completion(flow: Flow, handle: WorkflowHandle[Any, Any]) -> GroupSummary:
    """Each visit reported on its due date (skipping the time to it), in order; a TKM group accounts
    for its aid (LPJ) before the last visit."""
    state: GroupSummary = await flow.idle(handle)
    for visit in state.visits:
        due = state.lpj is not None and state.lpj.status in ("due", "revise")
        if due and visit.visit_no == len(state.visits):
            await account_for_the_aid(flow, handle)
        task = state.task_of(TaskKind.REPORT_VISIT)
        assert task is not None and task.note.startswith(f"visit {visit.visit_no}")
        wait = (visit.due_on - await flow.today()).days
        if wait > 0:
            await flow.sleep(handle, timedelta(days=wait))
        visit_task = (await flow.state(handle)).task_of(TaskKind.REPORT_VISIT)
        assert visit_task is not None and visit_task.escalation_level == 0  # on its due date: on time
        state = await flow.act(
            handle,
            "report-visit",
            MENTOR,
            visit_no=visit.visit_no,
            visited_on=await flow.today(),
            business_status="running",
            monthly_revenue=3_000_000,
        )
    return state


async def test_tkm_from_proposal_to_completed(flow: Flow, fakes: FakeActivities) -> None:
    handle, state = await flow.submit(proposal(Program.TKM, amount=12_000_000))
    gid = state.group_id
    assert state.stage == Stage.VERIFICATION and task_kind(state) == TaskKind.VERIFY

    state = await flow.through_training(handle)
    assert state.stage == Stage.DISBURSEMENT and task_kind(state) == TaskKind.APPROVE_DISBURSEMENT
    assert [t.attended for t in state.training] == [20]

    # Below the threshold (Rp 15,000,000): the maker's approval is enough, the money moves at once.
    state = await flow.act(handle, "approve-disbursement", FINANCE, amount=11_000_000, notes="sesuai RAB")
    assert state.approved_amount == 11_000_000 and state.open_task is None
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and task_kind(state) == TaskKind.REPORT_VISIT

    assert [(r.group_id, r.amount, r.attempt) for r in fakes.budget_requests] == [(gid, 11_000_000, 1)]
    assert fakes.freeze_checks == []  # the freeze check is inside reserve_budget since the patch
    [batch] = fakes.batches
    assert batch.batch_id == f"{gid}-A1"
    assert [(t.transfer_id, t.idempotency_key, t.account_no, t.amount) for t in batch.transfers] == [
        (f"{gid}-A1-00", f"{gid}-A1-00", "1234567890", 11_000_000)
    ]
    assert [p.status for p in state.payments] == ["paid"] and state.paid_at is not None
    interval = DEFAULT_POLICIES[Program.TKM].mentoring.interval
    assert [v.due_on for v in state.visits] == [
        (await flow.today(0)) + interval * i for i in (1, 2, 3)
    ] and not any(v.handover for v in state.visits)

    final = await mentor_to_completion(flow, handle)
    assert final.stage == Stage.COMPLETED and final.open_task is None
    result = await handle.result()
    assert result.stage == Stage.COMPLETED and all(v.reported_on for v in result.visits)

    assert fakes.events == [
        "proposal_submitted",
        "verification_approved",
        "training_scheduled",
        "training_completed",
        "disbursement_approved",
        "payment_instructed",
        "aid_paid",
        "visit_reported",
        "visit_reported",
        "lpj_submitted",
        "lpj_accepted",
        "visit_reported",
    ]
    assert [r.seq for r in fakes.records] == list(range(1, 13)) and result.seq == 12
    assert [r.stage for r in fakes.records if r.from_stage is not None] == [
        Stage.TRAINING,
        Stage.DISBURSEMENT,
        Stage.MENTORING,
        Stage.COMPLETED,
    ]
    # Only the registration writes the members; the budget settles in the same record as the payment.
    assert [r.event for r in fakes.records if r.proposal is not None] == ["proposal_submitted"]
    assert [(r.event, r.settle) for r in fakes.records if r.settle is not None] == [
        ("aid_paid", BudgetSettlement(reservation_id=f"{gid}:1", paid_amount=11_000_000))
    ]
    assert fakes.settlements == []


async def test_padat_karya_pays_equal_shares_summing_to_the_approved_amount(
    flow: Flow, fakes: FakeActivities
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_003)
    handle = await flow.at_disbursement(p, policy=EQUAL_SPLIT)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_003)
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING

    [batch] = fakes.batches
    amounts = [t.amount for t in batch.transfers]
    assert amounts == [1_000_001] * 3 + [1_000_000] * 7 and sum(amounts) == 10_000_003
    assert [t.account_no for t in batch.transfers] == [
        m.bank_account.account_no for m in p.members if m.bank_account
    ]
    assert [t.transfer_id for t in batch.transfers] == [f"{state.group_id}-A1-{i:02d}" for i in range(10)]
    assert [pay.member_nik for pay in state.payments] == [m.nik for m in p.members]
    assert fakes.records[-1].settle == BudgetSettlement(
        reservation_id=f"{state.group_id}:1", paid_amount=10_000_003
    )

    assert len(state.visits) == 5 and [v.handover for v in state.visits] == [False] * 4 + [True]
    final = await mentor_to_completion(flow, handle)
    assert final.stage == Stage.COMPLETED and fakes.events[-5:] == ["visit_reported"] * 5
