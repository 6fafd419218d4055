"""Registration and verification: the revise loop, rejection, a registration the database refuses,
and a step that reaches the workflow while its registration is still being written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError

from jps.domain.models import StepResult
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests.factories import officer, proposal
from tests.workflows.group_lifecycle.fakes import (
    REGISTRAR,
    TRAINER,
    VERIFIER,
    FakeActivities,
    Flow,
    GroupSummary,
    task_kind,
)


async def test_revise_then_resubmit_then_approve(flow: Flow, fakes: FakeActivities) -> None:
    handle, _ = await flow.submit(proposal())
    assert await flow.refused(handle, "verify", VERIFIER, decision="revise", notes="  ") == "Invalid"
    assert await flow.refused(handle, "verify", TRAINER, decision="approve") == "Forbidden"
    west_java = officer(Role.VERIFIER, regions=["32"])
    assert await flow.refused(handle, "verify", west_java, decision="approve") == "Forbidden"

    state = await flow.act(handle, "verify", VERIFIER, decision="revise", notes="KTP ketua tidak terbaca")
    assert state.stage == Stage.PROPOSAL and task_kind(state) == TaskKind.RESUBMIT_PROPOSAL
    assert await flow.refused(handle, "verify", VERIFIER, decision="approve") == "WrongStage"
    assert await flow.refused(handle, "resubmit", VERIFIER) == "Forbidden"
    assert await flow.refused(handle, "resubmit", REGISTRAR, proposal=proposal(region="3273")) == "Invalid"

    revised = proposal(name="Kelompok Maju Jaya Revisi")
    state = await flow.act(handle, "resubmit", REGISTRAR, proposal=revised, notes="KTP diganti")
    assert state.stage == Stage.VERIFICATION and task_kind(state) == TaskKind.VERIFY
    assert state.name == "Kelompok Maju Jaya Revisi"
    assert (await flow.state(handle)).proposal == revised

    state = await flow.act(handle, "verify", VERIFIER, decision="approve")
    assert state.stage == Stage.TRAINING and task_kind(state) == TaskKind.SCHEDULE_TRAINING
    assert fakes.events == [
        "proposal_submitted",
        "verification_revise",
        "proposal_resubmitted",
        "verification_approved",
    ]
    # The revised members are written with the resubmission (the read model's NIK claims move).
    resubmitted = fakes.records[2]
    assert resubmitted.proposal == revised and resubmitted.from_stage == Stage.PROPOSAL
    assert [r.stage for r in fakes.records] == [
        Stage.VERIFICATION,
        Stage.PROPOSAL,
        Stage.VERIFICATION,
        Stage.TRAINING,
    ]


async def test_resubmission_with_a_conflicting_nik_is_refused_and_rolled_back(
    flow: Flow, fakes: FakeActivities
) -> None:
    original = proposal()
    handle, _ = await flow.submit(original)
    await flow.act(handle, "verify", VERIFIER, decision="revise", notes="anggota ganda")
    fakes.refuse["proposal_resubmitted"] = ApplicationError(
        "NIK already in active group G-x", type="NikConflict", non_retryable=True
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.act(handle, "resubmit", REGISTRAR, proposal=proposal(name="Kelompok Baru"))
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "NikConflict"

    state = await flow.state(handle)
    assert state.stage == Stage.PROPOSAL and task_kind(state) == TaskKind.RESUBMIT_PROPOSAL
    assert state.proposal == original and state.name == original.name and state.seq == 2
    # Nothing was written for the refused step: the next one takes its sequence number.
    answer = await flow.act(handle, "resubmit", REGISTRAR, notes="tanpa perubahan")
    assert answer.stage == Stage.VERIFICATION and answer.seq == 3
    assert fakes.events == ["proposal_submitted", "verification_revise", "proposal_resubmitted"]
    assert fakes.records[-1].seq == 3 and fakes.records[-1].proposal is None


async def test_reject_ends_the_group(flow: Flow, fakes: FakeActivities) -> None:
    handle, _ = await flow.submit(proposal())
    state = await flow.act(handle, "verify", VERIFIER, decision="reject", notes="usaha fiktif")
    assert (
        state.stage == Stage.REJECTED and state.open_task is None and state.outcome_reason == "usaha fiktif"
    )
    result = await handle.result()
    assert result.stage == Stage.REJECTED
    assert fakes.events == ["proposal_submitted", "verification_rejected"]
    assert fakes.records[-1].from_stage == Stage.VERIFICATION


@pytest.mark.parametrize(
    ("error_type", "refusal"), [("NikConflict", "NikConflict"), ("InvalidData", "Invalid")]
)
async def test_registration_refused_by_the_database(
    flow: Flow, fakes: FakeActivities, error_type: str, refusal: str
) -> None:
    fakes.refuse["proposal_submitted"] = ApplicationError(
        "NIK 3171********0001 is in active group G-1", type=error_type, non_retryable=True
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.submit(proposal())
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == refusal
    assert "G-1" in cause.message
    result: GroupSummary = await flow.started[0].result()
    assert result.stage == Stage.REJECTED and result.open_task is None and "G-1" in result.outcome_reason
    assert result.seq == 0 and fakes.records == []


@pytest.mark.parametrize("registration", ["written", "refused"])
async def test_a_step_arriving_during_the_registration_waits_for_it(
    flow: Flow, fakes: FakeActivities, registration: str
) -> None:
    gate = fakes.hold("proposal_submitted")
    if registration == "refused":
        fakes.refuse["proposal_submitted"] = ApplicationError(
            "NIK conflict", type="NikConflict", non_retryable=True
        )
    # The registration is held inside its workflow task: the update's acceptance answers when that
    # task heartbeats, at 80 % of its timeout. At the default 10 s, each of the two waits is 8 s.
    handle = await flow.start(proposal(), task_timeout=timedelta(seconds=3))
    step = await handle.start_update(
        "verify",
        flow.args("verify", VERIFIER, decision="approve"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        result_type=StepResult,
    )
    assert fakes.records == []  # accepted by its validator, waiting for the registration
    gate.set()
    if registration == "written":
        state = await step.result()
        assert state.stage == Stage.TRAINING and state.seq == 2
        assert fakes.events == ["proposal_submitted", "verification_approved"]
    else:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await step.result()
        assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "WrongStage"
        assert (await handle.result()).stage == Stage.REJECTED and fakes.records == []
