"""The officer-step guard (base.py `_officer_step`): a bug in a handler fails that update and leaves
the state as it was, in place, so the main loop's view stays right (found in review: the state used
to be swapped for a copy, the main loop kept the old payment engine, settled the attempt twice and
the workflow FAILED after the aid was paid)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import workflows.group_lifecycle.base as base
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.stages import Stage
from tests.factories import officer, proposal
from tests.workflows.group_lifecycle.fakes import FINANCE, FakeActivities, Flow, paid
from worker import WORKFLOWS

POLICY = DEFAULT_POLICIES[Program.TKM]
BUGGY = officer(Role.FINANCE, officer_id="buggy")


@pytest.fixture
async def buggy_flow(
    time_env: WorkflowEnvironment, fakes: FakeActivities, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Flow]:
    """The workflow outside the sandbox (so that a test can plant a bug in it): any step taken by
    the officer `buggy` raises inside its handler, after its validator passed."""
    real = base.LifecycleBase._officer

    def planted(args: Any) -> Any:
        if args.officer.id == BUGGY.id:
            raise RuntimeError("a bug in a handler")
        return real(args)

    monkeypatch.setattr(base.LifecycleBase, "_officer", staticmethod(planted))
    queue = f"bug-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=fakes.activities(),
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        flow = Flow(time_env, queue, fakes)
        try:
            yield flow
        finally:
            for handle in flow.started:
                try:
                    await handle.terminate("test finished")
                except Exception:
                    pass


async def test_a_bug_in_a_step_while_the_bank_holds_the_money_changes_nothing(
    buggy_flow: Flow, fakes: FakeActivities
) -> None:
    flow = buggy_flow
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: []
    handle = await flow.at_disbursement(proposal())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert state.runtime.payments.in_flight
    assert await flow.refused(handle, "claim", BUGGY) == "Invalid"  # the update fails, nothing changed
    fakes.poll = lambda ids: [paid(i) for i in ids]
    state = await flow.sleep(handle, POLICY.bank_poll_after * 2)
    assert state.stage == Stage.MENTORING
    assert fakes.events.count("aid_paid") == 1 and len(fakes.settlements) == 0
    assert [r.event for r in fakes.records if r.settle is not None] == ["aid_paid"]
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
