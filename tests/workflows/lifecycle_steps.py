"""What the time-skipping lifecycle tests share (test_lifecycle_time_skipping*.py): a worker with
real activities on the time-skipping server, the officers, and the steps that take a group through
training, to a stage, and through mentoring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from jps.contracts.workflow import GroupState
from jps.domain.models import GroupSummary
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests.factories import lpj_lines, officer
from tests.workflows.harness import Harness, fund, running_worker, today_at


def refusal(err: WorkflowUpdateFailedError) -> str | None:
    """The refusal type the workflow gave (Forbidden, WrongStage, Invalid, NikConflict)."""
    return err.cause.type if isinstance(err.cause, ApplicationError) else None


def task_kind(state: GroupSummary) -> TaskKind | None:
    return state.open_task.kind if state.open_task else None


VERIFIER = officer(Role.VERIFIER)
TRAINER = officer(Role.TRAINER)
FINANCE = officer(Role.FINANCE)
SUPERVISOR = officer(Role.SUPERVISOR, officer_id="supervisor-1")
MENTOR = officer(Role.MENTOR)
REGISTRAR = officer(Role.REGISTRAR)


@asynccontextmanager
async def time_skipping_harness(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, db: asyncpg.Pool, simulators: Any
) -> AsyncIterator[Harness]:
    """A funded budget and a worker on the time-skipping server; the test's history is recorded
    under the test's own name (JPS_RECORD_HISTORIES), whichever module it lives in."""
    await fund(db)
    async with running_worker(
        time_env.client, db, simulators.bank_url, simulators.notify_url, record_as=request.node.name
    ) as harness:
        yield harness


async def budget_once_recorded(h: Harness, program: str, expected: tuple[int, int]) -> tuple[int, int]:
    """The program's (reserved, spent), once it is `expected` or after about 10 s of real time. The
    workflow moves its stage before the activity that records the move (and settles the budget in the
    same transaction) has run, so a test that saw the stage may read the ledger a moment early."""
    found = (-1, -1)
    for _ in range(100):
        row = await h.pool.fetchrow(
            "SELECT reserved, spent FROM budget_allocations WHERE program = $1", program
        )
        found = (row["reserved"], row["spent"])
        if found == expected:
            break
        await asyncio.sleep(0.1)
    return found


async def through_training(h: Harness, env: WorkflowEnvironment, handle: WorkflowHandle) -> GroupSummary:
    await h.act(handle, "verify", VERIFIER, decision="approve", notes="dokumen lengkap")
    now = await env.get_current_time()
    await h.act(
        handle,
        "schedule-training",
        TRAINER,
        starts_on=today_at(now),
        ends_on=today_at(now, 2),
        venue="BLK Jakarta Timur",
    )
    state = await h.state(handle)
    return await h.act(
        handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in state.proposal.members]
    )


async def wait_stage(
    env: WorkflowEnvironment, h: Harness, handle: WorkflowHandle, stage: Stage
) -> GroupState:
    for _ in range(60):
        state = await h.state(handle)
        if state.stage == stage:
            return state
        await env.sleep(timedelta(minutes=5))
    raise AssertionError(f"stuck in {state.stage}, task {state.open_task}")


async def mentor_to_completion(env: WorkflowEnvironment, h: Harness, handle: WorkflowHandle) -> GroupSummary:
    """Each visit on its due date; a TKM group's LPJ (the whole aid, receipts' hashes as the API
    fills them in) submitted and accepted before the last one."""
    state: GroupSummary = await h.state(handle)
    for visit in state.visits:
        if state.lpj is not None and state.lpj.status == "due" and visit.visit_no == len(state.visits):
            spent_on = today_at(await env.get_current_time())
            lines = lpj_lines(state.lpj.paid, spent_on, tag=state.group_id)
            await h.act(handle, "submit-lpj", MENTOR, lines=lines)
            await h.act(handle, "review-lpj", VERIFIER, decision="accept")
        now = await env.get_current_time()
        wait = (visit.due_on - today_at(now)).days
        if wait > 0:
            await env.sleep(timedelta(days=wait))
        now = await env.get_current_time()
        state = await h.act(
            handle,
            "report-visit",
            MENTOR,
            visit_no=visit.visit_no,
            visited_on=today_at(now),
            business_status="running",
            monthly_revenue=3_000_000,
        )
    return state
