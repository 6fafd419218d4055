"""tools/replay_reset.py: a workflow whose history no worker can replay is found, reset to the last task
that replays, and moves on; what the sweep must not reset, it leaves.

The reset point is checked on the two histories the chaos runs kept (each with the boundary property
itself: the history up to the point replays, one task further does not), and the whole round trip on
the real dev server with a workflow whose code changes under it the way a lost task changes a group's
(a history the deployed code cannot follow)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker
from typer.testing import CliRunner

import tools.cli.temporal as cli_temporal
from jps.sealing import PayloadKeys, sealed_converter
from jps.settings import get_settings
from tests.conftest import SEALING_CONVERTER
from tools.cli import app
from tools.replay_reset import NON_DETERMINISM, RESET_EVENT, find_reset_point, sweep
from worker import WORKFLOWS

KEPT = Path(__file__).resolve().parent / "workflows" / "known_replay_failures"
REPLAYS = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))[-1]
REPLAYS_TEXT = REPLAYS.read_text()
FLAGGED_WITHIN_S = 150.0  # two failed tasks in a row, with the server's backoff between them


async def _kept(name: str) -> tuple[Replayer, WorkflowHistory]:
    history = WorkflowHistory.from_json(name, (KEPT / f"{name}.history.json").read_text())
    keys = PayloadKeys.parse((KEPT / f"{name}.payload.keys").read_text())
    return Replayer(workflows=WORKFLOWS, data_converter=sealed_converter(keys)), history


@pytest.mark.parametrize(
    ("name", "event_id", "failure"),
    [
        # the lost task's (119-120) validator refuses the update on replay: it is taken again
        ("PK-3578-IDNTZ6OCGR", 120, "Missing associated machine for LocalActivity(26)"),
        # the sticky task that reached a fresh worker with the update (126-127) is taken again
        ("PK-3671-GAXPMYLTUZ", 127, "Failed decoding arguments"),
    ],
)
async def test_the_reset_point_of_a_kept_history_is_the_first_task_that_does_not_replay(
    name: str, event_id: int, failure: str
) -> None:
    replayer, history = await _kept(name)
    point = await find_reset_point(replayer, history)
    assert point is not None and point.event_id == event_id
    assert failure in point.failure or 'r#type: "RuntimeError"' in point.failure, point.failure[:300]
    events = list(history.events)
    at = next(i for i, e in enumerate(events) if e.event_id == event_id)
    assert events[at].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    before = await replayer.replay_workflow(WorkflowHistory(name, events[:at]), raise_on_replay_failure=False)
    assert before.replay_failure is None  # what the new run keeps replays
    after = next(
        i
        for i, e in enumerate(events)
        if i > at and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    beyond = await replayer.replay_workflow(
        WorkflowHistory(name, events[:after]), raise_on_replay_failure=False
    )
    assert beyond.replay_failure is not None  # one task further does not


async def test_a_history_that_replays_has_no_reset_point() -> None:
    history = WorkflowHistory.from_json(REPLAYS.stem, REPLAYS_TEXT)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=SEALING_CONVERTER)
    assert await find_reset_point(replayer, history) is None


# ---- the round trip on the dev server ----

ONLY_OURS = ["DivergesOnPurpose"]
DEPLOYED = {"flipped": False}  # the "deployment": which code the worker of the moment runs


@workflow.defn(name="DivergesOnPurpose", sandboxed=False)
class DivergesOnPurpose:
    """Live (not flipped): after the first step it waits on a short timer, then for the second step.
    Flipped, it never starts that timer: a history written live no longer replays from the task that
    started it."""

    def __init__(self) -> None:
        self.steps = 0

    @workflow.signal
    def step(self) -> None:
        self.steps += 1

    @workflow.query
    def seen(self) -> int:
        return self.steps

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.steps >= 1)
        if not DEPLOYED["flipped"]:
            await workflow.sleep(timedelta(milliseconds=100))
        await workflow.wait_condition(lambda: self.steps >= 2)
        return f"done after {self.steps} steps"


async def _flagged(client: Client, workflow_id: str) -> None:
    deadline = time.monotonic() + FLAGGED_WITHIN_S
    while True:
        found = await sweep(
            client,
            Replayer(workflows=[DivergesOnPurpose]),
            apply=False,
            operator="t",
            workflow_types=ONLY_OURS,
        )
        if any(p.workflow_id == workflow_id for p in found.unreplayable):
            return
        assert time.monotonic() < deadline, "Temporal never flagged the workflow's non-determinism"
        await asyncio.sleep(2)


async def test_a_workflow_that_no_longer_replays_is_reset_and_finishes(
    dev_client: Client, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_client
    queue = f"diverges-{uuid.uuid4().hex[:8]}"
    workflow_id = f"diverges-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(DEPLOYED, "flipped", False)
    async with Worker(client, task_queue=queue, workflows=[DivergesOnPurpose]):
        handle = await client.start_workflow(
            DivergesOnPurpose.run, id=workflow_id, task_queue=queue, task_timeout=timedelta(seconds=2)
        )
        await handle.signal(DivergesOnPurpose.step)
        deadline = time.monotonic() + 30
        while EventType.EVENT_TYPE_TIMER_FIRED not in [
            e.event_type async for e in handle.fetch_history_events()
        ]:
            assert time.monotonic() < deadline, "the live run never fired its timer"
            await asyncio.sleep(0.2)
    first_run = (await handle.describe()).run_id

    monkeypatch.setitem(DEPLOYED, "flipped", True)  # the code changes under the running workflow
    replayer = Replayer(workflows=[DivergesOnPurpose])
    async with Worker(client, task_queue=queue, workflows=[DivergesOnPurpose], max_cached_workflows=0):
        await handle.signal(DivergesOnPurpose.step)  # a fresh worker must replay: it cannot
        await _flagged(client, workflow_id)
        [problem] = [
            p
            for p in (
                await sweep(client, replayer, apply=False, operator="t", workflow_types=ONLY_OURS)
            ).unreplayable
            if p.workflow_id == workflow_id
        ]
        assert NON_DETERMINISM in problem.problems

        # More stuck than the limit: a deployment's doing, nothing is reset.
        refused = await sweep(
            client, replayer, apply=True, operator="sweep", limit=0, workflow_types=ONLY_OURS
        )
        assert refused.refused and not refused.outcomes
        assert (await handle.describe()).run_id == first_run

        # `jps reset-unreplayable` replays with the installed workflows, which do not know this one:
        # it names the workflow and leaves it (a replayer that does not know a workflow would find
        # its first task "replays" and reset it from the start), even with --apply, and exits 1.
        settings = get_settings().model_copy(
            update={"temporal_address": client.service_client.config.target_host}
        )
        monkeypatch.setattr(cli_temporal, "get_settings", lambda: settings)
        printed = await asyncio.to_thread(
            CliRunner().invoke, app, ["reset-unreplayable", "--apply", "--operator", "ops-1"]
        )
        assert printed.exit_code == 1, printed.output
        assert f"{workflow_id}  DivergesOnPurpose  left alone" in printed.output
        assert (await handle.describe()).run_id == first_run

        looked = await sweep(client, replayer, apply=False, operator="sweep", workflow_types=ONLY_OURS)
        [would] = [o for o in looked.outcomes if o.workflow_id == workflow_id]
        assert would.action == "would_reset" and would.run_id == first_run
        assert (await handle.describe()).run_id == first_run  # a look changes nothing

        done = await sweep(
            client, replayer, apply=True, operator="sweep-test", pool=db, workflow_types=ONLY_OURS
        )
        [reset] = [o for o in done.outcomes if o.workflow_id == workflow_id]
        assert reset.action == "reset" and reset.event_id == would.event_id and reset.new_run_id
        # The new run keeps the first step, takes the timer's task again without the timer, and gets
        # the second step (sent after the point) again: it finishes.
        result = await client.get_workflow_handle(workflow_id).result()
        assert result == "done after 2 steps"

    new = await client.get_workflow_handle(workflow_id).describe()
    assert new.run_id == reset.new_run_id != first_run
    assert workflow_id not in [
        p.workflow_id
        for p in (
            await sweep(client, replayer, apply=False, operator="t", workflow_types=ONLY_OURS)
        ).unreplayable
    ]
    row = await db.fetchrow(
        "SELECT actor, run_id, details FROM audit_log WHERE event = $1 ORDER BY id DESC LIMIT 1", RESET_EVENT
    )
    assert row is not None and row["actor"] == "sweep-test" and row["run_id"] == reset.new_run_id
    details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    assert details["replaced_run"] == first_run and details["reset_to_event"] == reset.event_id
