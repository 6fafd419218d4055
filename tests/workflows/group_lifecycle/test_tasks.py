"""A task left undone: a reminder at its due date, the region's supervisor after
`escalate_regional_after`, the national directorate after `escalate_national_after`; doing the step
ends them, and the next task escalates on its own clock."""

from __future__ import annotations

from datetime import timedelta

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import EscalationLevel, Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import FINANCE, VERIFIER, FakeActivities, Flow, task_kind

POLICY = DEFAULT_POLICIES[Program.TKM]
HOUR = timedelta(hours=1)


async def test_escalations_fire_at_their_offsets_and_stop_when_done(
    flow: Flow, fakes: FakeActivities
) -> None:
    handle, state = await flow.submit(proposal())
    assert state.open_task is not None
    due = state.open_task.due_at
    assert due - state.submitted_at == POLICY.sla_for(TaskKind.VERIFY)

    state = await flow.sleep(handle, POLICY.sla_for(TaskKind.VERIFY) - HOUR)
    assert state.escalation_level == EscalationLevel.NONE and fakes.events == ["proposal_submitted"]
    state = await flow.sleep(handle, 2 * HOUR)
    assert state.escalation_level == EscalationLevel.REMINDED and fakes.events[-1] == "reminder"
    assert state.open_task is not None and state.open_task.escalation_level == EscalationLevel.REMINDED
    state = await flow.sleep(handle, POLICY.escalate_regional_after - 2 * HOUR)
    assert state.escalation_level == EscalationLevel.REMINDED
    state = await flow.sleep(handle, 2 * HOUR)
    assert state.escalation_level == EscalationLevel.REGIONAL_SUPERVISOR
    state = await flow.sleep(handle, POLICY.escalate_national_after - POLICY.escalate_regional_after)
    assert state.escalation_level == EscalationLevel.NATIONAL_DIRECTORATE
    assert fakes.events == ["proposal_submitted", "reminder", "escalated_regional", "escalated_national"]
    escalations = fakes.records[1:]
    assert [r.details["level"] for r in escalations] == [1, 2, 3]
    assert {r.details["task"] for r in escalations} == {"verify"}
    assert {r.details["due_at"] for r in escalations} == {due.isoformat()}
    assert [r.notify for r in escalations] == [["reminder"], ["escalated_regional"], ["escalated_national"]]
    assert [r.state.escalation_level for r in escalations] == [1, 2, 3]
    assert all(r.officer is None and r.stage == Stage.VERIFICATION for r in escalations)

    # Nothing more comes for an escalated task left longer still.
    state = await flow.sleep(handle, timedelta(days=30))
    assert len(fakes.records) == 4

    state = await flow.act(handle, "verify", VERIFIER, decision="approve")
    assert state.escalation_level == EscalationLevel.NONE and task_kind(state) == TaskKind.SCHEDULE_TRAINING
    # The next task escalates on its own clock; nothing more for the verification task.
    state = await flow.sleep(handle, POLICY.sla_for(TaskKind.SCHEDULE_TRAINING) - HOUR)
    assert state.escalation_level == EscalationLevel.NONE and len(fakes.records) == 5
    state = await flow.sleep(handle, 2 * HOUR)
    assert state.escalation_level == EscalationLevel.REMINDED
    assert fakes.events[-1] == "reminder" and fakes.records[-1].details["task"] == "schedule_training"


async def test_a_budget_wait_escalates_while_it_rechecks(flow: Flow, fakes: FakeActivities) -> None:
    """The automated waits are tasks too: re-checking every day does not reset their clock."""
    fakes.budget = "missing"
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    await flow.idle(handle)
    sla = POLICY.sla_for(TaskKind.AWAIT_BUDGET)
    state = await flow.sleep(handle, sla - HOUR)
    assert state.escalation_level == EscalationLevel.NONE
    state = await flow.sleep(handle, 2 * HOUR)
    assert state.escalation_level == EscalationLevel.REMINDED and task_kind(state) == TaskKind.AWAIT_BUDGET
    assert fakes.events[-1] == "reminder" and fakes.records[-1].details["task"] == "await_budget"
    assert len(fakes.budget_requests) == 1 + sla // POLICY.budget_retry_every

    fakes.budget = "available"
    state = await flow.sleep(handle, POLICY.budget_retry_every)
    assert state.stage == Stage.MENTORING and state.escalation_level == EscalationLevel.NONE
