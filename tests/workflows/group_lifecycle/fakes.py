"""The fast tier of workflow tests (this folder mirrors workflows/group_lifecycle/): the real
workflows on the real time-skipping test server, every activity faked by name (samples-python,
tests/hello/hello_activity_test.py). No PostgreSQL, no
simulators: each fake records its input and answers what the test set, so a test checks the
workflow's own decisions (stages, open tasks, recorded events, amounts, refusals) in a fraction of a
second. The integration tier (tests/workflows/test_lifecycle_*.py) runs the same lifecycle against
the real systems.

The Temporal boundary's models and names (jps/contracts/) are imported in one block below and
nowhere else in this folder; the tests import them from here, so a further move of a model is a
change to that block alone. The workflow is reached by its names (type, updates, query, signals),
never by its class, and registered through `worker.WORKFLOWS`: the tier does not care how the
lifecycle is split into modules.
"""

# Over 400 lines on purpose: the fast tier's one harness (every faked activity, the flow helpers, the
# history check), which every test of this folder imports; the fakes mirror the activities' classes.

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# ---- the Temporal boundary's models and names: the one place this folder imports them from ----
from infra.workflow_runner import workflow_runner
from jps.contracts.activities import (
    BudgetRequest,
    BudgetResult,
    BudgetSettlement,
    FreezeStatus,
    PaymentBatch,
    PaymentResult,
    RecordedStep,
    SendResult,
    StatusRequest,
    TransferStatus,
    TransitionRecord,
)
from jps.contracts.names import (
    BUDGET_SIGNAL,
    PAYMENT_SIGNAL,
    REGISTERED_UPDATE,
    STATE_QUERY,
    WORKFLOW_TYPE,
)
from jps.contracts.wages import MusterRequest, MusterResult
from jps.contracts.workflow import GroupInput, GroupState
from jps.domain.actions import ACTIONS
from jps.domain.calendar import local_date
from jps.domain.models import GroupSummary, Officer, Proposal, StepResult
from jps.domain.programs import DEFAULT_POLICIES, ProgramPolicy
from jps.domain.roles import Role
from jps.domain.stages import TaskKind
from jps.search_attributes import starting_search_attributes
from tests.factories import officer
from tests.workflows.snapshots import assert_snapshot_restores
from worker import WORKFLOWS

__all__ = [
    "BUDGET_SIGNAL",
    "FINANCE",
    "MENTOR",
    "PAYMENT_SIGNAL",
    "REGISTRAR",
    "SUPERVISOR",
    "TRAINER",
    "VERIFIER",
    "BudgetRequest",
    "BudgetResult",
    "BudgetSettlement",
    "FakeActivities",
    "Flow",
    "FreezeStatus",
    "GroupInput",
    "GroupState",
    "GroupSummary",
    "MusterRequest",
    "MusterResult",
    "Officer",
    "PaymentBatch",
    "PaymentResult",
    "TransferStatus",
    "TransitionRecord",
    "failed",
    "paid",
    "task_kind",
]

VERIFIER = officer(Role.VERIFIER)
TRAINER = officer(Role.TRAINER)
FINANCE = officer(Role.FINANCE)
SUPERVISOR = officer(Role.SUPERVISOR, officer_id="supervisor-1")
MENTOR = officer(Role.MENTOR)
REGISTRAR = officer(Role.REGISTRAR)


def paid(transfer_id: str) -> PaymentResult:
    return PaymentResult(transfer_id=transfer_id, status="paid")


def failed(transfer_id: str, reason: str = "account_closed", *, permanent: bool = True) -> PaymentResult:
    return PaymentResult(transfer_id=transfer_id, status="failed", reason=reason, permanent=permanent)


def task_kind(state: GroupSummary) -> TaskKind | None:
    return state.open_task.kind if state.open_task else None


BudgetState = Literal["available", "missing", "frozen"]


@dataclass
class FakeActivities:
    """The six activities the lifecycle calls, by name. Set the answers (`budget`, `instruct`,
    `poll`, `refuse`, `hold`) before or during a test; read back what the workflow sent."""

    budget: BudgetState = "available"
    budget_reason: str = "no budget allocation for tkm in region 3171 or its province"
    # The bank's immediate answers to a batch (default: every transfer paid) and to a status poll.
    instruct: Callable[[PaymentBatch], list[PaymentResult]] = field(
        default=lambda batch: [paid(t.transfer_id) for t in batch.transfers]
    )
    poll: Callable[[list[str]], list[PaymentResult]] = field(default=lambda ids: [paid(i) for i in ids])
    # Bank-status path (send_transfers / transfer_statuses): a transfer the answers above leave out
    # is `pending` unless listed here (e.g. "held" while frozen, "absent", "unknown").
    status_of: dict[str, str] = field(default_factory=dict)
    # send_transfers fails (once) with this error, e.g. a non-retryable one.
    send_error: ApplicationError | None = None
    # send_transfers waits for this event before it answers (the bank is slow); `sending` is set
    # once it was called.
    send_gate: asyncio.Event | None = None
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    # record_transition raises this error (once) for a record of that event; nothing is recorded.
    refuse: dict[str, ApplicationError] = field(default_factory=dict)
    # ... and this one for every record of that event while it is listed (refused for good).
    refuse_always: dict[str, ApplicationError] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # the events whose record was refused, in order
    holds: dict[str, asyncio.Event] = field(default_factory=dict)

    # record_muster: the group's uploaded files by id (rows as in `files`: content_type, purpose, lat,
    # lon, captured_at, sha256); the (nik, day)s rolls hold so far, and the requests it was sent.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    days_held: dict[tuple[str, date], str] = field(default_factory=dict)
    musters: list[MusterRequest] = field(default_factory=list)

    records: list[TransitionRecord] = field(default_factory=list)
    budget_requests: list[BudgetRequest] = field(default_factory=list)
    freeze_checks: list[BudgetRequest] = field(default_factory=list)
    settlements: list[BudgetSettlement] = field(default_factory=list)
    batches: list[PaymentBatch] = field(default_factory=list)
    polls: list[list[str]] = field(default_factory=list)

    @property
    def events(self) -> list[str]:
        return [r.event for r in self.records]

    def hold(self, event: str) -> asyncio.Event:
        """record_transition waits for the returned event before it records (or refuses) `event`."""
        gate = self.holds[event] = asyncio.Event()
        return gate

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.record_transition,
            self.record_step,
            self.reserve_budget,
            self.check_freeze,
            self.settle_budget,
            self.instruct_payments,
            self.poll_payments,
            self.send_transfers,
            self.transfer_statuses,
            self.record_muster,
        ]

    @activity.defn(name="record_muster")
    async def record_muster(self, req: MusterRequest) -> MusterResult:
        """The roll's checks of activities/muster.py (its pure `judge`) over `files`; a worker's day
        held by another roll is refused, as the unique index does."""
        from activities.muster import IMAGES, judge

        self.musters.append(req)
        for i, ev in enumerate(req.evidence):
            for j, fid in enumerate(ev.file_ids):
                f = self.files.get(fid)
                if f is None:
                    return MusterResult(refusal=f"evidence.{i}.file_ids.{j}: {fid} is not this group's")
                if f["content_type"] not in IMAGES:
                    return MusterResult(refusal=f"evidence.{i}.file_ids.{j}: {fid} is not an image")
        for i, e in enumerate(req.entries):
            other = self.days_held.get((e.nik, e.date))
            if other is not None and e.nik in req.members:
                return MusterResult(refusal=f"entries.{i}: on the roll of group {other}", conflict=True)
        result, _ = judge(req, self.files)
        for e in req.entries:
            if e.nik in req.members:
                self.days_held[(e.nik, e.date)] = req.group_id
        return result

    @activity.defn(name="record_transition")
    async def record_transition(self, record: TransitionRecord) -> bool:
        gate = self.holds.get(record.event)
        if gate is not None:
            await gate.wait()
        error = self.refuse.pop(record.event, None) or self.refuse_always.get(record.event)
        if error is not None:
            self.refused.append(record.event)
            raise error
        self.records.append(record)
        return True

    @activity.defn(name="record_step")
    async def record_step(self, record: TransitionRecord) -> RecordedStep:
        """The local activity that records a step since the local-record patch: the same fake."""
        await self.record_transition(record)
        return record.line()

    @activity.defn(name="reserve_budget")
    async def reserve_budget(self, req: BudgetRequest) -> BudgetResult:
        self.budget_requests.append(req)
        if self.budget == "frozen":
            return BudgetResult(
                reserved=False, frozen=True, reservation_id=req.reservation_id, reason="Pilkada"
            )
        if self.budget == "missing":
            return BudgetResult(reserved=False, reservation_id=req.reservation_id, reason=self.budget_reason)
        return BudgetResult(reserved=True, reservation_id=req.reservation_id, allocation_region="31")

    @activity.defn(name="check_freeze")
    async def check_freeze(self, req: BudgetRequest) -> FreezeStatus:
        """Only workflows started before the ledger-steps patch call it."""
        self.freeze_checks.append(req)
        return FreezeStatus(
            frozen=self.budget == "frozen", reason="Pilkada" if self.budget == "frozen" else ""
        )

    @activity.defn(name="settle_budget")
    async def settle_budget(self, req: BudgetSettlement) -> None:
        self.settlements.append(req)

    @activity.defn(name="instruct_payments")
    async def instruct_payments(self, batch: PaymentBatch) -> list[PaymentResult]:
        self.batches.append(batch)
        return self.instruct(batch)

    @activity.defn(name="poll_payments")
    async def poll_payments(self, transfer_ids: list[str]) -> list[PaymentResult]:
        self.polls.append(transfer_ids)
        return self.poll(transfer_ids)

    def _statuses(self, ids: list[str], results: list[PaymentResult]) -> list[TransferStatus]:
        by_id = {r.transfer_id: r for r in results}
        out = []
        for tid in ids:
            r = by_id.get(tid)
            if r is not None:
                out.append(
                    TransferStatus(transfer_id=tid, status=r.status, reason=r.reason, permanent=r.permanent)
                )
            else:
                out.append(TransferStatus(transfer_id=tid, status=self.status_of.get(tid, "pending")))
        return out

    @activity.defn(name="send_transfers")
    async def send_transfers(self, batch: PaymentBatch) -> SendResult:
        """The bank-status path's instruction: answers from `instruct`, in the batch's order."""
        self.batches.append(batch)
        self.sending.set()
        if self.send_gate is not None:
            await self.send_gate.wait()
        if self.send_error is not None:
            error, self.send_error = self.send_error, None
            raise error
        ids = [t.transfer_id for t in batch.transfers]
        return SendResult(statuses=self._statuses(ids, self.instruct(batch)))

    @activity.defn(name="transfer_statuses")
    async def transfer_statuses(self, req: StatusRequest) -> list[TransferStatus]:
        """The bank-status path's poll: answers from `poll`."""
        self.polls.append(req.transfer_ids)
        return self._statuses(req.transfer_ids, self.poll(req.transfer_ids))


# History events that close an activity, and the attribute that names the one they close.
_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def _is_idle(events: list[HistoryEvent]) -> bool:
    """No workflow task and no activity in progress: the workflow waits for a timer, a person or a
    signal (or has closed). A failed workflow task is a bug in the workflow: say so at once."""
    activities: set[int] = set()
    task_open = False
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(event.event_id)
        elif kind in _ACTIVITY_CLOSED:
            activities.discard(getattr(event, _ACTIVITY_CLOSED[kind]).scheduled_event_id)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_open = True
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task_open = False
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            raise AssertionError(
                f"workflow task failed: {event.workflow_task_failed_event_attributes.failure}"
            )
    return not activities and not task_open


@dataclass
class Flow:
    """A worker with the fake activities on its own task queue, and an officer's view of a group."""

    env: WorkflowEnvironment
    task_queue: str
    fakes: FakeActivities
    started: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def start(
        self,
        proposal: Proposal,
        *,
        policy: ProgramPolicy | None = None,
        task_timeout: timedelta | None = None,
    ) -> WorkflowHandle[Any, Any]:
        """`task_timeout`: a workflow task holding a local activity heartbeats (and so answers an
        update's acceptance) at 80 % of it; the server's default is 10 s."""
        gid = f"F-{uuid.uuid4().hex[:10]}"
        handle = await self.env.client.start_workflow(
            WORKFLOW_TYPE,
            GroupInput(
                group_id=gid,
                proposal=proposal,
                policy=policy or DEFAULT_POLICIES[proposal.program],
                submitted_by="registrar-1",
                request_hash="test",
            ),
            id=gid,
            task_queue=self.task_queue,
            result_type=GroupSummary,
            # As the API starts a group (infra/lifecycle.py).
            search_attributes=starting_search_attributes(proposal.program.value, proposal.region_code),
            task_timeout=task_timeout,
        )
        self.started.append(handle)
        return handle

    async def submit(
        self, proposal: Proposal, *, policy: ProgramPolicy | None = None
    ) -> tuple[WorkflowHandle[Any, Any], GroupSummary]:
        handle = await self.start(proposal, policy=policy)
        state: GroupSummary = await handle.execute_update(REGISTERED_UPDATE, result_type=GroupSummary)
        return handle, state

    @staticmethod
    def args(action: str, who: Officer, **args: Any) -> Any:
        return ACTIONS[action].args.model_validate({**args, "officer": who})

    async def act(
        self, handle: WorkflowHandle[Any, Any], action: str, who: Officer, **args: Any
    ) -> GroupSummary:
        """An officer's step, as the API sends it; the state it recorded. The update answers only the
        step (seq, stage): the state is what its record wrote, as the API reads it from the read model
        (here the fake's records: the one of this step is exactly the state the update answered with
        before it answered only the step)."""
        step: StepResult = await handle.execute_update(
            ACTIONS[action].update_name, self.args(action, who, **args), result_type=StepResult
        )
        recorded = [r for r in self.fakes.records if r.group_id == step.group_id and r.seq == step.seq]
        assert recorded, f"{action}: no record of step {step.seq}"
        state = recorded[-1].state
        assert (state.group_id, state.seq, state.stage) == (step.group_id, step.seq, step.stage)
        return state

    async def refused(self, handle: WorkflowHandle[Any, Any], action: str, who: Officer, **args: Any) -> str:
        """The refusal type of a step that must be refused; checks that the refusal changed nothing."""
        before, recorded = await self.state(handle), len(self.fakes.records)
        try:
            await self.act(handle, action, who, **args)
        except WorkflowUpdateFailedError as err:
            assert isinstance(err.cause, ApplicationError), err.cause
            assert err.cause.type is not None
            kind = err.cause.type
        else:
            raise AssertionError(f"{action} by {who.id} was accepted")
        assert await self.state(handle) == before and len(self.fakes.records) == recorded
        return kind

    async def state(self, handle: WorkflowHandle[Any, Any]) -> GroupState:
        state: GroupState = await handle.query(STATE_QUERY, result_type=GroupState)
        assert_snapshot_restores(state)
        return state

    async def idle(self, handle: WorkflowHandle[Any, Any], *, within: float = 10.0) -> GroupState:
        """Wait (real time) until the workflow has nothing in progress, then its state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            history = await handle.fetch_history()
            if _is_idle(list(history.events)):
                return await self.state(handle)
            if loop.time() > deadline:
                raise AssertionError(f"still busy after {within} s: {history.events[-1]}")
            await asyncio.sleep(0.02)

    async def sleep(self, handle: WorkflowHandle[Any, Any], duration: timedelta) -> GroupState:
        """Skip `duration` of the server's time once the workflow has set its timers, then its state."""
        await self.idle(handle)
        await self.env.sleep(duration)
        return await self.idle(handle)

    async def today(self, days: int = 0) -> date:
        return local_date(await self.env.get_current_time() + timedelta(days=days))

    async def through_training(self, handle: WorkflowHandle[Any, Any]) -> GroupSummary:
        """Verify, schedule a training starting today and record that everyone came."""
        await self.act(handle, "verify", VERIFIER, decision="approve", notes="dokumen lengkap")
        await self.act(
            handle,
            "schedule-training",
            TRAINER,
            starts_on=await self.today(),
            ends_on=await self.today(2),
            venue="BLK Jakarta Timur",
        )
        members = (await self.state(handle)).proposal.members
        return await self.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in members])

    async def at_disbursement(
        self, proposal: Proposal, *, policy: ProgramPolicy | None = None
    ) -> WorkflowHandle[Any, Any]:
        handle, _ = await self.submit(proposal, policy=policy)
        await self.through_training(handle)
        return handle


@pytest.fixture
def fakes() -> FakeActivities:
    return FakeActivities()


RECORD_ENV = "JPS_RECORD_HISTORIES"
# With JPS_HISTORY_PROFILE=1 (and -s), each test prints its workflows' history size: events and bytes,
# by event type (issue 15's cost targets; bench/temporal_figures.py's history_profile in the bench).
PROFILE_ENV = "JPS_HISTORY_PROFILE"


async def print_history_profile(test: str, handles: list[WorkflowHandle[Any, Any]]) -> None:
    for handle in handles:
        history = await handle.fetch_history()
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for e in history.events:
            kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
            counts[kind] += 1
            sizes[kind] += e.ByteSize()
        total = sum(sizes.values())
        size = f"{len(history.events)} events, {total} bytes ({total / 1024:.1f} KB)"
        print(f"\nhistory {test} {handle.id}: {size}")
        for kind, n in counts.most_common():
            print(f"  {kind:<40} {n:>4} {sizes[kind]:>7} B")


@pytest.fixture
async def flow(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, fakes: FakeActivities
) -> AsyncIterator[Flow]:
    """A worker on a unique task queue with the real workflows and the fake activities. With
    JPS_RECORD_HISTORIES=<dir>, each test's workflows are written there as JSON histories (the
    latest run of each), for tests/workflows/test_replay.py."""
    queue = f"fast-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=fakes.activities(),
        workflow_runner=workflow_runner(time_env.client.data_converter),
    ):
        flow = Flow(time_env, queue, fakes)
        try:
            yield flow
            if os.environ.get(PROFILE_ENV):
                await print_history_profile(request.node.name, flow.started)
            if os.environ.get(RECORD_ENV):
                directory = Path(os.environ[RECORD_ENV])
                directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 — test tooling
                for i, handle in enumerate(flow.started):
                    history = await handle.fetch_history()
                    suffix = f"-{i}" if len(flow.started) > 1 else ""
                    (directory / f"{request.node.name}{suffix}.json").write_text(history.to_json())
        finally:
            for gate in fakes.holds.values():
                gate.set()
            if fakes.send_gate is not None:
                fakes.send_gate.set()
            # A workflow left running must not keep its timers firing on the shared server.
            for handle in flow.started:
                try:
                    await handle.terminate("test finished")
                except RPCError:
                    pass  # already closed
