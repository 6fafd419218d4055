"""Training: too few attended means another session, up to the policy's attempts; then a supervisor
decides (one more attempt, proceed, or cancel)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import proposal
from tests.workflows.group_lifecycle.fakes import (
    SUPERVISOR,
    TRAINER,
    VERIFIER,
    FakeActivities,
    Flow,
    GroupSummary,
    task_kind,
)

MAX_ATTEMPTS = DEFAULT_POLICIES[Program.TKM].max_training_attempts


async def session(flow: Flow, handle: WorkflowHandle[Any, Any], attended: list[str]) -> GroupSummary:
    await flow.act(
        handle,
        "schedule-training",
        TRAINER,
        starts_on=await flow.today(),
        ends_on=await flow.today(),
        venue="Balai Desa",
    )
    return await flow.act(handle, "record-attendance", TRAINER, attended_niks=attended)


async def test_below_minimum_attendance_reschedules(flow: Flow, fakes: FakeActivities) -> None:
    p = proposal(size=20)
    niks = [m.nik for m in p.members]
    handle, _ = await flow.submit(p)
    await flow.act(handle, "verify", VERIFIER, decision="approve")

    # A training that has not started yet cannot have an attendance list.
    await flow.act(
        handle,
        "schedule-training",
        TRAINER,
        starts_on=await flow.today(1),
        ends_on=await flow.today(2),
        venue="Balai Desa",
    )
    assert await flow.refused(handle, "record-attendance", TRAINER, attended_niks=niks) == "WrongStage"
    assert (
        await flow.refused(
            handle,
            "schedule-training",
            TRAINER,
            starts_on=await flow.today(),
            ends_on=await flow.today(),
            venue="BLK",
        )
        == "WrongStage"
    )
    outsider = proposal(size=10).members[0].nik
    await flow.sleep(handle, timedelta(days=1))  # the training has begun
    assert await flow.refused(handle, "record-attendance", TRAINER, attended_niks=[outsider]) == "Invalid"

    state = await flow.act(handle, "record-attendance", TRAINER, attended_niks=niks[:15] + niks[:15])  # 75 %
    assert state.stage == Stage.TRAINING and task_kind(state) == TaskKind.SCHEDULE_TRAINING
    assert state.training[-1].attended == 15  # duplicates count once

    state = await session(flow, handle, niks[:16])  # exactly 80 %
    assert state.stage == Stage.DISBURSEMENT and task_kind(state) == TaskKind.APPROVE_DISBURSEMENT
    assert [t.attempt for t in state.training] == [1, 2]
    assert fakes.events == [
        "proposal_submitted",
        "verification_approved",
        "training_scheduled",
        "training_attendance_insufficient",
        "training_scheduled",
        "training_completed",
    ]
    assert fakes.records[3].details == {"attempt": 1, "attended": 15, "members": 20}


@pytest.mark.parametrize("decision", ["reschedule", "proceed", "cancel"])
async def test_attempt_limit_needs_a_supervisors_decision(
    flow: Flow, fakes: FakeActivities, decision: str
) -> None:
    p = proposal(size=20)
    niks = [m.nik for m in p.members]
    handle, _ = await flow.submit(p)
    await flow.act(handle, "verify", VERIFIER, decision="approve")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        state = await session(flow, handle, niks[:10])  # 50 %
        assert state.stage == Stage.TRAINING and state.training[-1].attempt == attempt
    assert task_kind(state) == TaskKind.DECIDE_TRAINING
    assert fakes.events[-1] == "training_attempts_exhausted"
    assert fakes.events.count("training_attendance_insufficient") == MAX_ATTEMPTS - 1
    assert (
        await flow.refused(
            handle,
            "schedule-training",
            TRAINER,
            starts_on=await flow.today(),
            ends_on=await flow.today(),
            venue="BLK",
        )
        == "WrongStage"
    )
    assert await flow.refused(handle, "decide-training", TRAINER, decision=decision, notes="x") == "Forbidden"

    state = await flow.act(handle, "decide-training", SUPERVISOR, decision=decision, notes="keputusan")
    assert fakes.events[-1] == f"training_decision_{decision}"
    if decision == "reschedule":
        assert state.stage == Stage.TRAINING and task_kind(state) == TaskKind.SCHEDULE_TRAINING
        # One extra attempt: too few again means another decision, enough means disbursement.
        state = await session(flow, handle, niks[:10])
        assert (
            task_kind(state) == TaskKind.DECIDE_TRAINING and fakes.events[-1] == "training_attempts_exhausted"
        )
        await flow.act(handle, "decide-training", SUPERVISOR, decision="reschedule", notes="terakhir")
        state = await session(flow, handle, niks)
        assert state.stage == Stage.DISBURSEMENT and len(state.training) == MAX_ATTEMPTS + 2
    elif decision == "proceed":
        assert state.stage == Stage.DISBURSEMENT and task_kind(state) == TaskKind.APPROVE_DISBURSEMENT
        assert fakes.records[-1].from_stage == Stage.TRAINING
    else:
        assert state.stage == Stage.CANCELLED and state.open_task is None
        assert (await handle.result()).outcome_reason == "keputusan"


async def test_training_dates_are_bounded_before_anything_changes(flow: Flow, fakes: FakeActivities) -> None:
    """Issue 10, scenario 5: `ends_on: 9999-12-31` overflowed the due date inside the handler and
    wedged the group (every later call answered 503). Now refused, the group answering as before."""
    handle, _ = await flow.submit(proposal())
    await flow.act(handle, "verify", VERIFIER, decision="approve", notes="dokumen lengkap")
    with pytest.raises(ValidationError, match="ends_on"):
        flow.args(
            "schedule-training", TRAINER, starts_on=await flow.today(), ends_on="9999-12-31", venue="BLK"
        )
    with pytest.raises(ValidationError, match="ends_on"):
        flow.args(
            "schedule-training",
            TRAINER,
            starts_on=await flow.today(),
            ends_on=await flow.today(120),
            venue="BLK",
        )
    far = await flow.today(400)
    assert (
        await flow.refused(
            handle, "schedule-training", TRAINER, starts_on=far, ends_on=far, venue="BLK Jakarta"
        )
        == "Invalid"
    )
    state = await flow.act(
        handle,
        "schedule-training",
        TRAINER,
        starts_on=await flow.today(),
        ends_on=await flow.today(2),
        venue="BLK",
    )
    assert task_kind(state) == TaskKind.RECORD_ATTENDANCE
