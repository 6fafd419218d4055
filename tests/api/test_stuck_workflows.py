"""A running workflow whose workflow task keeps failing (the chaos run's non-determinism after a lost
task, or a bug in workflow code) is stuck where nothing in its group moves it on. Temporal reports
it (`TemporalReportedProblems`); `infra.temporal.task_problems` lists it, `jps stuck-workflows` names
it and exits 1, and the API's `/metrics` counts it, on the real dev server, until it is dealt with."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
import pytest
from temporalio import workflow
from temporalio.worker import Worker
from typer.testing import CliRunner

import tools.cli.temporal as cli_temporal
from infra.temporal import TaskProblem, task_problems
from tests.api.conftest import Stack
from tools.cli import app

FLAGGED_WITHIN_S = 150.0  # two failed tasks in a row, with the server's backoff between them


@workflow.defn(name="BrokenOnPurpose", sandboxed=False)
class BrokenOnPurpose:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a workflow task that fails on purpose")  # not an ApplicationError: the task fails


async def _gauge(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    found = re.search(r"^jps_workflows_task_failing ([-0-9.e+]+)$", text, re.MULTILINE)
    assert found, "the gauge is missing from /metrics"
    return float(found.group(1))


async def test_a_workflow_whose_task_keeps_failing_is_reported_named_and_counted(
    stack: Stack, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stack.client
    before = await _gauge(http)
    assert before >= 0  # Temporal answered
    queue = f"broken-{uuid.uuid4().hex[:8]}"
    workflow_id = f"broken-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[BrokenOnPurpose]):
        handle = await client.start_workflow(BrokenOnPurpose.run, id=workflow_id, task_queue=queue)
        deadline = time.monotonic() + FLAGGED_WITHIN_S
        mine: list[TaskProblem] = []
        while not mine:
            assert time.monotonic() < deadline, "Temporal never reported the failing workflow"
            await asyncio.sleep(2)
            mine = [p for p in await task_problems(client) if p.workflow_id == workflow_id]
    [problem] = mine
    assert problem.workflow_type == "BrokenOnPurpose"
    assert "category=WorkflowTaskFailed" in problem.problems
    assert await _gauge(http) == before + 1

    monkeypatch.setattr(cli_temporal, "get_settings", lambda: stack.settings)
    named = await asyncio.to_thread(CliRunner().invoke, app, ["stuck-workflows"])
    assert named.exit_code == 1, named.output
    assert workflow_id in named.output and "Resetting a group safely" in named.output

    await handle.terminate("dealt with")  # an operator's decision; a group would be reset instead
    deadline = time.monotonic() + 30
    while await _gauge(http) != before:
        assert time.monotonic() < deadline, "a terminated workflow is still counted"
        await asyncio.sleep(1)
    assert workflow_id not in [p.workflow_id for p in await task_problems(client)]
