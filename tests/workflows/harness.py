"""A worker for workflow tests: the real workflows and activities, a unique task queue, the real
PostgreSQL pool and the simulators over real HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notify_client import NotifyClient
from infra.ledger import set_allocation
from infra.workflow_runner import workflow_runner
from jps.contracts.workflow import GroupInput, GroupState
from jps.domain.actions import ACTIONS
from jps.domain.calendar import local_date
from jps.domain.models import GroupSummary, Officer, Proposal, StepResult
from jps.domain.programs import DEFAULT_POLICIES, ProgramPolicy
from jps.search_attributes import starting_search_attributes
from tests.workflows.snapshots import assert_snapshot_restores
from worker import WORKFLOWS, build_activities
from workflows.group_lifecycle import GroupLifecycleWorkflow


@dataclass
class Harness:
    client: Client
    task_queue: str
    pool: asyncpg.Pool
    started: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def submit(
        self, proposal: Proposal, *, policy: ProgramPolicy | None = None, group_id: str | None = None
    ) -> tuple[WorkflowHandle[Any, Any], GroupSummary]:
        handle = await self.start(proposal, policy=policy, group_id=group_id)
        state = await handle.execute_update(GroupLifecycleWorkflow.registered)
        return handle, state

    async def start(
        self, proposal: Proposal, *, policy: ProgramPolicy | None = None, group_id: str | None = None
    ) -> WorkflowHandle[Any, Any]:
        """Start the group's workflow without waiting for its registration."""
        gid = group_id or f"G-{uuid.uuid4().hex[:10]}"
        handle = await self.client.start_workflow(
            GroupLifecycleWorkflow.run,
            GroupInput(
                group_id=gid,
                proposal=proposal,
                policy=policy or DEFAULT_POLICIES[proposal.program],
                submitted_by="registrar-1",
                request_hash="test",
            ),
            id=gid,
            task_queue=self.task_queue,
            search_attributes=starting_search_attributes(proposal.program.value, proposal.region_code),
        )
        self.started.append(handle)
        return handle

    @staticmethod
    async def act(
        handle: WorkflowHandle[Any, Any], action: str, officer: Officer, **args: Any
    ) -> GroupSummary:
        """An officer's step; the state after it, without the member list (see `state`). The update
        answers only the step (seq, stage); the state is the `state` query's, at that step or later."""
        spec = ACTIONS[action]
        payload = spec.args.model_validate({**args, "officer": officer})
        step: StepResult = await handle.execute_update(spec.update_name, payload, result_type=StepResult)
        state: GroupState = await handle.query("state", result_type=GroupState)
        assert_snapshot_restores(state)
        assert state.group_id == step.group_id and state.seq >= step.seq
        return state.summary()

    @staticmethod
    async def state(handle: WorkflowHandle[Any, Any]) -> GroupState:
        state: GroupState = await handle.query("state", result_type=GroupState)
        return state


async def fund(pool: asyncpg.Pool, region: str = "31", amount: int = 10_000_000_000) -> None:
    for program in ("tkm", "padat_karya"):
        await set_allocation(pool, program, region, amount)


@asynccontextmanager
async def running_worker(
    client: Client,
    pool: asyncpg.Pool,
    bank_url: str,
    notify_url: str,
    callback_url: str | None = None,
    record_as: str | None = None,
) -> AsyncIterator[Harness]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    bank = BankClient(bank_url, callback_url=callback_url)
    notify = NotifyClient(notify_url)
    try:
        async with Worker(
            client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=build_activities(pool, bank, notify),
            workflow_runner=workflow_runner(client.data_converter),  # as worker.py runs them
        ):
            harness = Harness(client, queue, pool)
            try:
                yield harness
                if record_as and os.environ.get(RECORD_ENV):
                    await _record_histories(harness, Path(os.environ[RECORD_ENV]), record_as)
            finally:
                # Workflows a test left running must not keep timers firing on the shared server.
                for handle in harness.started:
                    try:
                        await handle.terminate("test finished")
                    except RPCError:
                        pass  # already closed
    finally:
        await bank.aclose()
        await notify.aclose()


RECORD_ENV = "JPS_RECORD_HISTORIES"


async def _record_histories(harness: Harness, directory: Path, name: str) -> None:
    """With JPS_RECORD_HISTORIES=<dir>, a test's closed workflows are written there as JSON
    histories, which tests/workflows/test_replay.py replays against the current code forever after."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 — test tooling, not a hot path
    for i, handle in enumerate(harness.started):
        history = await handle.fetch_history()
        suffix = f"-{i}" if len(harness.started) > 1 else ""
        (directory / f"{name}{suffix}.json").write_text(history.to_json())


def today_at(now: datetime, days: int = 0) -> Any:
    return local_date(now + timedelta(days=days))
