"""GrievanceWorkflow on the time-skipping server, every activity faked by name (no PostgreSQL, no
bank): filing, the officers' steps and their refusals, the SLA's escalations when a case is left
alone, the complainant's answer and reopening, and the officer a misconduct case is about.

Update-with-start is not supported by the time-skipping server (samples-python's README, and
tests/workflows' own note), so filing here is a start and then the `grievance_filed` update; the
API tests file through `infra.grievances.file_grievance` on the dev server."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from jps.contracts.grievances import (
    AcknowledgeArgs,
    BankCheck,
    ComplainantArgs,
    GrievanceInput,
    GrievanceRef,
    GrievanceState,
    GrievanceStep,
    Registration,
    RequestInfoArgs,
    ResolveArgs,
)
from jps.contracts.names import (
    GRIEVANCE_COMPLAINANT_REOPEN_UPDATE,
    GRIEVANCE_FILED_UPDATE,
    GRIEVANCE_PROVIDE_INFO_UPDATE,
    GRIEVANCE_STATE_QUERY,
    GRIEVANCE_WORKFLOW_TYPE,
)
from jps.domain.grievances import DEFAULT_GRIEVANCE_POLICY, Decision, GrievanceCategory, GrievanceStatus
from jps.domain.roles import Role
from tests.factories import officer
from tests.workflows.snapshots import assert_grievance_snapshot_restores
from workflows.grievance import GrievanceWorkflow

RECORD_ENV = "JPS_RECORD_HISTORIES"
NIK = "3171014507900001"
PHONE = "+6281234567890"
FINANCE = officer(Role.FINANCE, regions=["31"])


@dataclass
class Fakes:
    steps: list[GrievanceStep] = field(default_factory=list)

    @activity.defn(name="register_grievance")
    async def register(self, inp: GrievanceInput) -> Registration:
        return Registration(region_code="3171", group_known=True, member_in_group=True, transfer_id="T-1")

    @activity.defn(name="check_grievance_transfer")
    async def check(self, transfer_id: str) -> BankCheck:
        return BankCheck(
            transfer_id=transfer_id,
            amount=10_000_000,
            our_status="paid",
            bank_status="failed",
            checked_at=activity.info().scheduled_time,
        )

    @activity.defn(name="record_grievance_step")
    async def record(self, step: GrievanceStep) -> bool:
        self.steps.append(step)
        return True

    def events(self) -> list[str]:
        return [s.event for s in self.steps]


@dataclass
class Env:
    client: Client
    fakes: Fakes
    queue: str
    handles: list[WorkflowHandle] = field(default_factory=list)

    async def file(
        self, category: GrievanceCategory = GrievanceCategory.PAYMENT_NOT_RECEIVED, **kw: object
    ) -> WorkflowHandle:
        gid = f"GRV-{uuid.uuid4().hex[:10].upper()}"
        inp = GrievanceInput(
            grievance_id=gid,
            nik=NIK,
            phone=PHONE,
            group_id="TKM-3171-ABCDEFGHIJ",
            category=category,
            text="Bantuan belum masuk",
            channel="web",
            policy=DEFAULT_GRIEVANCE_POLICY,
            **kw,
        )
        handle = await self.client.start_workflow(
            GRIEVANCE_WORKFLOW_TYPE, inp, id=gid, task_queue=self.queue, result_type=GrievanceState
        )
        self.handles.append(handle)
        ref = await handle.execute_update(GRIEVANCE_FILED_UPDATE, result_type=GrievanceRef)
        assert ref.status == GrievanceStatus.FILED
        return handle


@pytest.fixture
async def env(time_env: WorkflowEnvironment, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    fakes = Fakes()
    queue = f"grievance-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[GrievanceWorkflow],
        activities=[fakes.register, fakes.check, fakes.record],
    ):
        env = Env(time_env.client, fakes, queue)
        yield env
        # With JPS_RECORD_HISTORIES=<dir>, each case's history so far is written there for
        # tests/workflows/grievance/test_replay.py (their own folder: tests/histories/grievance).
        record_dir = os.environ.get(RECORD_ENV)
        for n, handle in enumerate(env.handles):
            if record_dir:
                history = await handle.fetch_history()
                target = Path(record_dir) / f"{request.node.name}-{n}.json"
                target.write_text(history.to_json())
            # A case left running would hold the shared server's clock: its timers fire on a queue no
            # worker polls any more, and the next test's time skipping waits for them.
            with contextlib.suppress(RPCError):  # one that ended on its own (archived) needs none
                await handle.terminate("test over")


async def state(handle: WorkflowHandle) -> GrievanceState:
    result: GrievanceState = await handle.query(GRIEVANCE_STATE_QUERY, result_type=GrievanceState)
    assert_grievance_snapshot_restores(result)  # the state a failed step's rollback would put back
    return result


async def test_acknowledged_asked_answered_and_resolved_with_the_bank_status(env: Env) -> None:
    h = await env.file()
    s = await state(h)
    assert s.bank is not None and s.bank.bank_status == "failed"  # the bank's own word, for finance
    assert s.task is not None and s.task.roles == [Role.FINANCE]
    await h.execute_update(
        "grievance_acknowledge", AcknowledgeArgs(officer=FINANCE), result_type=GrievanceRef
    )
    await h.execute_update(
        "grievance_request_info",
        RequestInfoArgs(officer=FINANCE, question="Rekening apa?"),
        result_type=GrievanceRef,
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # not the complainant's NIK: no such case
        await h.execute_update(
            GRIEVANCE_PROVIDE_INFO_UPDATE,
            ComplainantArgs(nik="3171014507900002", text="x"),
            result_type=GrievanceRef,
        )
    assert "no such grievance" in str(refused.value.cause)
    ref = await h.execute_update(
        GRIEVANCE_PROVIDE_INFO_UPDATE,
        ComplainantArgs(via="sms", phone=PHONE, text="BRI 1234"),
        result_type=GrievanceRef,
    )
    assert ref.status == GrievanceStatus.ACKNOWLEDGED
    await h.execute_update(
        "grievance_resolve",
        ResolveArgs(officer=FINANCE, decision=Decision.UPHELD, reason="Dana dikirim ulang"),
        result_type=GrievanceRef,
    )
    ref = await h.execute_update(
        GRIEVANCE_COMPLAINANT_REOPEN_UPDATE,
        ComplainantArgs(nik=NIK, text="Belum juga"),
        result_type=GrievanceRef,
    )
    assert ref.status == GrievanceStatus.ACKNOWLEDGED
    assert env.fakes.events() == [
        "filed",
        "acknowledged",
        "info_requested",
        "info_provided",
        "resolved",
        "reopened_by_complainant",
    ]
    assert [s.sms for s in env.fakes.steps] == [
        "grievance_filed",
        "grievance_acknowledged",
        "grievance_info_requested",
        "grievance_info_received",
        "grievance_resolved",
        "grievance_reopened",
    ]


async def test_a_case_left_alone_escalates_at_its_offsets(env: Env, time_env: WorkflowEnvironment) -> None:
    h = await env.file(GrievanceCategory.EXCLUDED)
    await time_env.sleep(timedelta(days=3, hours=1))  # the acknowledgement is due after 3 days
    assert "reminder" in env.fakes.events()
    await time_env.sleep(timedelta(days=7))
    s = await state(h)
    assert s.escalation_level == 3
    assert env.fakes.events() == ["filed", "reminder", "escalated_regional", "escalated_national"]
    assert env.fakes.steps[2].notify_roles == ["supervisor"]


async def test_refusals_role_region_status_and_the_officer_complained_about(env: Env) -> None:
    h = await env.file(GrievanceCategory.MISCONDUCT, about_officer="supervisor-bad")
    cases = [
        (officer(Role.FINANCE), "roles"),  # misconduct goes to the region's supervisor
        (officer(Role.SUPERVISOR, regions=["32"]), "outside"),
        (officer(Role.SUPERVISOR, officer_id="supervisor-bad"), "no such grievance"),
    ]
    for who, words in cases:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(
                "grievance_acknowledge", AcknowledgeArgs(officer=who), result_type=GrievanceRef
            )
        assert words in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(
            "grievance_resolve",
            ResolveArgs(officer=officer(Role.SUPERVISOR), decision=Decision.REJECTED, reason="x"),
            result_type=GrievanceRef,
        )
    assert "not allowed while the grievance is filed" in str(refused.value.cause)
    assert env.fakes.events() == ["filed"]


async def test_the_complainant_may_not_reopen_after_fourteen_days(
    env: Env, time_env: WorkflowEnvironment
) -> None:
    h = await env.file(GrievanceCategory.OTHER)
    reg = officer(Role.REGISTRAR)
    await h.execute_update("grievance_acknowledge", AcknowledgeArgs(officer=reg), result_type=GrievanceRef)
    await h.execute_update(
        "grievance_resolve",
        ResolveArgs(officer=reg, decision=Decision.REFERRED, reason="Dinsos"),
        result_type=GrievanceRef,
    )
    await time_env.sleep(timedelta(days=15))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(
            GRIEVANCE_COMPLAINANT_REOPEN_UPDATE,
            ComplainantArgs(nik=NIK, text="Tidak setuju"),
            result_type=GrievanceRef,
        )
    assert "older than 14 days" in str(refused.value.cause)
    ref = await h.execute_update(
        "grievance_reopen",
        {"officer": officer(Role.SUPERVISOR).model_dump(), "reason": "Tinjau"},
        result_type=GrievanceRef,
    )
    assert ref.status == GrievanceStatus.ACKNOWLEDGED


async def test_no_answer_goes_back_to_the_handler_and_a_decided_case_is_archived(
    env: Env, time_env: WorkflowEnvironment
) -> None:
    h = await env.file()
    await h.execute_update(
        "grievance_acknowledge", AcknowledgeArgs(officer=FINANCE), result_type=GrievanceRef
    )
    due_before = (await state(h)).resolve_due_at
    await h.execute_update(
        "grievance_request_info",
        RequestInfoArgs(officer=FINANCE, question="Nomor rekening?"),
        result_type=GrievanceRef,
    )
    await time_env.sleep(timedelta(days=14, hours=1))  # the complainant's answer_within passes
    s = await state(h)
    assert (
        s.status == GrievanceStatus.ACKNOWLEDGED and s.task is not None and s.task.kind == "grievance_resolve"
    )
    assert due_before is not None and s.resolve_due_at is not None
    stopped = s.resolve_due_at - due_before  # the SLA's clock stopped while the complainant was asked
    assert timedelta(days=14) <= stopped < timedelta(days=14, minutes=1)
    await h.execute_update(
        "grievance_resolve",
        ResolveArgs(officer=FINANCE, decision=Decision.REJECTED, reason="Tidak ada keterangan"),
        result_type=GrievanceRef,
    )
    await time_env.sleep(timedelta(days=366))
    final = await h.result()
    assert final.status == GrievanceStatus.ARCHIVED
    assert env.fakes.events()[-3:] == ["no_answer", "resolved", "archived"]
