"""tools/replay_reset.py: a workflow whose history no worker can replay is found, reset to the first
task that does not replay, and moves on; what the sweep must not reset, it leaves.

The reset point is checked on the two histories the chaos runs kept (each with the boundary property
itself: the history up to the point replays, one task further does not), and the whole round trip on
the real dev server with workflows whose code changes under them the way a lost task changes a
group's (a history the deployed code cannot follow)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, Worker
from typer.testing import CliRunner

import tools.cli.temporal as cli_temporal
from infra.audit import append_audit
from jps.sealing import PayloadKeys, sealed_converter
from jps.settings import get_settings
from tests.conftest import SEALING_CONVERTER
from tools.cli import app
from tools.replay_reset import (
    NON_DETERMINISM,
    RESET_EVENT,
    UNHANDLED_FAILURE,
    NoResetPoint,
    ResetPoint,
    _budget_refusal,
    find_reset_point,
    left_to_an_operator,
    locked_sweep,
    sweep,
)
from worker import WORKFLOWS

KEPT = Path(__file__).resolve().parent / "workflows" / "known_replay_failures"
REPLAYS = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))[-1]
REPLAYS_TEXT = REPLAYS.read_text()
FLAGGED_WITHIN_S = 150.0  # two failed tasks in a row, with the server's backoff between them


def _kept(name: str, keys_of: str = "") -> tuple[Replayer, WorkflowHistory, DataConverter]:
    history = WorkflowHistory.from_json(name, (KEPT / f"{name}.history.json").read_text())
    keys = PayloadKeys.parse((KEPT / f"{keys_of or name}.payload.keys").read_text())
    converter = sealed_converter(keys)
    return Replayer(workflows=WORKFLOWS, data_converter=converter), history, converter


@pytest.mark.parametrize(
    ("name", "event_id", "failure", "after_lost_task", "problem"),
    [
        # the lost task's (119-120) validator refuses the update on replay: it is taken again (its
        # earlier attempt was lost in Temporal's restart, leaving no event: flagged non-determinism)
        (
            "PK-3578-IDNTZ6OCGR",
            120,
            "Missing associated machine for LocalActivity(26)",
            False,
            NON_DETERMINISM,
        ),
        # the sticky task that timed out (124) reached a fresh worker with the update (126-127): a step
        # is handed the bank ask's answer and decoding it raises (RuntimeError, its cause sealed)
        ("PK-3671-GAXPMYLTUZ", 127, 'r#type: "RuntimeError"', True, UNHANDLED_FAILURE),
        # the same race on 2026-11-30 at dc86906 (timer 75, its task timed out 77, the fresh worker's
        # task with the update 79-80), flagged as an unhandled failure, not a non-determinism
        ("PK-6471-HINWQFB2JK", 80, 'r#type: "RuntimeError"', True, UNHANDLED_FAILURE),
    ],
)
async def test_the_reset_point_of_a_kept_history_is_the_first_task_that_does_not_replay(
    name: str, event_id: int, failure: str, after_lost_task: bool, problem: str
) -> None:
    replayer, history, converter = _kept(name)
    point = await find_reset_point(replayer, history, converter)
    assert point is not None and point.event_id == event_id and 1 < point.task < point.tasks
    assert failure in point.failure, point.failure[:300]
    assert point.after_lost_task is after_lost_task
    assert left_to_an_operator(point, ["category=WorkflowTaskFailed", problem]) is None  # the sweep resets it
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


def test_what_the_sweep_leaves_to_an_operator() -> None:
    """The rules of `left_to_an_operator`, on points of each shape."""
    race = ResetPoint(event_id=80, task=9, tasks=12, failure="RuntimeError", after_lost_task=True)
    assert left_to_an_operator(race, [NON_DETERMINISM]) is None
    assert left_to_an_operator(race, [UNHANDLED_FAILURE]) is None
    assert left_to_an_operator(race, []) is None  # named, its query failing on the workers
    first = ResetPoint(event_id=4, task=1, tasks=12, failure="x", after_lost_task=True)
    for problems in ([NON_DETERMINISM], [UNHANDLED_FAILURE], []):
        assert "start the group over" in (left_to_an_operator(first, problems) or "")
    newest = ResetPoint(event_id=110, task=12, tasks=12, failure="x", after_lost_task=True)
    assert left_to_an_operator(newest, [NON_DETERMINISM]) is None  # commands differ: the history's
    assert "newest task" in (left_to_an_operator(newest, [UNHANDLED_FAILURE]) or "")
    assert "newest task" in (left_to_an_operator(newest, []) or "")
    no_loss = ResetPoint(event_id=80, task=9, tasks=12, failure="x", after_lost_task=False)
    assert left_to_an_operator(no_loss, [NON_DETERMINISM]) is None
    assert "not after a lost task" in (left_to_an_operator(no_loss, [UNHANDLED_FAILURE]) or "")


async def test_a_history_whose_payloads_do_not_open_has_no_reset_point() -> None:
    """With another key every replay fails, so a search would end at the first task (the group from
    the start): it is refused before any replay."""
    replayer, history, converter = _kept("PK-3578-IDNTZ6OCGR", keys_of="PK-3671-GAXPMYLTUZ")
    with pytest.raises(NoResetPoint, match="do not open"):
        await find_reset_point(replayer, history, converter)


async def test_a_history_that_replays_has_no_reset_point() -> None:
    history = WorkflowHistory.from_json(REPLAYS.stem, REPLAYS_TEXT)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=SEALING_CONVERTER)
    assert await find_reset_point(replayer, history, SEALING_CONVERTER) is None


async def test_the_budget_allows_one_reset_a_day_per_workflow_and_a_few_an_hour(db: asyncpg.Pool) -> None:
    assert await _budget_refusal(db, "G-1", limit=1) is None
    async with db.acquire() as conn, conn.transaction():
        await append_audit(
            conn,
            group_id=None,
            seq=None,
            at=datetime.now(UTC) - timedelta(minutes=5),
            actor="worker-sweep",
            actor_roles=[],
            event=RESET_EVENT,
            stage=None,
            details={"workflow_id": "G-1", "new_run": "r2"},
        )
    assert "24 hours" in (await _budget_refusal(db, "G-1", limit=10) or "")
    assert "last hour" in (await _budget_refusal(db, "G-2", limit=1) or "")
    assert await _budget_refusal(db, "G-2", limit=2) is None


# ---- the round trip on the dev server ----

DEPLOYED = {"flipped": False}  # the "deployment": which code the worker of the moment runs


@workflow.defn(name="DivergesOnPurpose", sandboxed=False)
class DivergesOnPurpose:
    """Live (not flipped): after the first step it waits on a short timer, then for the second step.
    Flipped, it never starts that timer: a history written live no longer replays from the task that
    started it."""

    def __init__(self) -> None:
        self.steps = 0
        self.notes: list[str] = []

    @workflow.signal
    def step(self) -> None:
        self.steps += 1

    @workflow.update
    def note(self, text: str) -> int:
        """An officer's step: accepted, answered, kept in the state."""
        self.notes.append(text)
        return len(self.notes)

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.steps >= 1)
        if not DEPLOYED["flipped"]:
            await workflow.sleep(timedelta(milliseconds=100))
        await workflow.wait_condition(lambda: self.steps >= 2)
        return f"done after {self.steps} steps, notes {self.notes}"


@workflow.defn(name="DivergesAtOnce", sandboxed=False)
class DivergesAtOnce(DivergesOnPurpose):
    """The same, with the timer in its first task: its reset point would start it over."""

    @workflow.run
    async def run(self) -> str:
        if not DEPLOYED["flipped"]:
            await workflow.sleep(timedelta(milliseconds=100))
        await workflow.wait_condition(lambda: self.steps >= 2)
        return f"done after {self.steps} steps"


async def _events(handle: WorkflowHandle) -> list[EventType.ValueType]:
    return [e.event_type async for e in handle.fetch_history_events()]


async def _flagged(client: Client, workflow_ids: set[str]) -> None:
    deadline = time.monotonic() + FLAGGED_WITHIN_S
    replayer = Replayer(workflows=[DivergesOnPurpose, DivergesAtOnce])
    while True:
        found = await sweep(client, replayer, apply=False, operator="t")
        if workflow_ids <= {p.workflow_id for p in found.unreplayable}:
            return
        assert time.monotonic() < deadline, "Temporal never flagged the workflows' non-determinism"
        await asyncio.sleep(2)


async def test_a_workflow_that_no_longer_replays_is_reset_and_finishes(
    dev_client: Client, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_client
    queue = f"diverges-{uuid.uuid4().hex[:8]}"
    workflow_id, at_once_id = f"diverges-{uuid.uuid4().hex[:8]}", f"at-once-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(DEPLOYED, "flipped", False)
    classes = [DivergesOnPurpose, DivergesAtOnce]
    async with Worker(client, task_queue=queue, workflows=classes):
        quick = timedelta(seconds=2)  # a failing task is tried again sooner: flagged sooner
        handle = await client.start_workflow(
            DivergesOnPurpose.run, id=workflow_id, task_queue=queue, task_timeout=quick
        )
        at_once = await client.start_workflow(
            DivergesAtOnce.run, id=at_once_id, task_queue=queue, task_timeout=quick
        )
        deadline = time.monotonic() + 30
        # Its first task (no command) done before the first step arrives: the step's task starts the
        # timer, and is the point (a step in the first task would make the first task the point).
        while EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in await _events(handle):
            assert time.monotonic() < deadline, "the live run never completed its first task"
            await asyncio.sleep(0.1)
        await handle.signal(DivergesOnPurpose.step)
        for live in (handle, at_once):
            while EventType.EVENT_TYPE_TIMER_FIRED not in await _events(live):
                assert time.monotonic() < deadline, "a live run never fired its timer"
                await asyncio.sleep(0.2)
        # An officer's update, accepted and answered live after the point: the reset must carry it
        # to the new run (Temporal reapplies updates as it does signals), or the step would be lost.
        assert await handle.execute_update(DivergesOnPurpose.note, "account fixed") == 1
    first_run = (await handle.describe()).run_id
    first_events = [e async for e in handle.fetch_history_events()]
    timer = next(i for i, e in enumerate(first_events) if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED)
    expected_point = first_events[timer - 1]  # the WorkflowTaskCompleted of the task that started it
    assert expected_point.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED

    monkeypatch.setitem(DEPLOYED, "flipped", True)  # the code changes under the running workflows
    replayer = Replayer(workflows=classes)
    async with Worker(client, task_queue=queue, workflows=classes, max_cached_workflows=0):
        await handle.signal(DivergesOnPurpose.step)  # a fresh worker must replay: it cannot
        await at_once.signal(DivergesAtOnce.step)
        await at_once.signal(DivergesAtOnce.step)
        await _flagged(client, {workflow_id, at_once_id})
        [problem] = [
            p
            for p in (await sweep(client, replayer, apply=False, operator="t")).unreplayable
            if p.workflow_id == workflow_id
        ]
        assert NON_DETERMINISM in problem.problems

        # More stuck than the limit: a deployment's doing, nothing is reset.
        refused = await locked_sweep(client, db, replayer, operator="sweep", limit=1)
        assert refused is not None and refused.refused and not refused.outcomes
        assert (await handle.describe()).run_id == first_run

        # `jps reset-unreplayable` replays with the installed workflows, which do not know these:
        # it names them and leaves them (a replayer that does not know a workflow would find its
        # first task "replays" and reset it from the start), even with --apply, and exits 1.
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

        looked = await sweep(client, replayer, apply=False, operator="sweep")
        would = {o.workflow_id: o for o in looked.outcomes}
        assert would[workflow_id].action == "would_reset", would[workflow_id]
        assert would[workflow_id].run_id == first_run
        assert would[workflow_id].event_id == expected_point.event_id
        assert (await handle.describe()).run_id == first_run  # a look changes nothing

        # While another sweep holds the lock, a sweep that would reset waits its turn.
        async with db.acquire() as conn, conn.transaction():
            assert await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('replay_reset'))")
            assert await locked_sweep(client, db, replayer, operator="x") is None

        done = await locked_sweep(client, db, replayer, operator="sweep-test")
        assert done is not None
        outcomes = {o.workflow_id: o for o in done.outcomes}
        reset = outcomes[workflow_id]
        assert reset.action == "reset" and reset.event_id == expected_point.event_id and reset.new_run_id
        # Its reset would start the other over: refused, left to an operator.
        assert (
            outcomes[at_once_id].action == "refused" and "start the group over" in outcomes[at_once_id].detail
        )
        # The new run keeps the first step, takes the timer's task again without the timer, and gets
        # the second step (sent after the point) again: it finishes.
        result = await client.get_workflow_handle(workflow_id).result()
        assert result == "done after 2 steps, notes ['account fixed']"

        # Finished, it is no longer flagged: a second sweep does not touch it (the budget's own rules
        # are tested above, on rows of the audit log).
        again = await locked_sweep(client, db, replayer, operator="sweep-test")
        assert again is not None and workflow_id not in {o.workflow_id for o in again.outcomes}
        await at_once.terminate("left to an operator, as the sweep said")

    new = await client.get_workflow_handle(workflow_id).describe()
    assert new.run_id == reset.new_run_id != first_run
    rows = await db.fetch(
        "SELECT actor, run_id, details FROM audit_log WHERE event = $1 AND details->>'workflow_id' = $2",
        RESET_EVENT,
        workflow_id,
    )
    assert len(rows) == 1, rows
    [row] = rows
    assert row["actor"] == "sweep-test" and row["run_id"] == reset.new_run_id
    details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    assert details["replaced_run"] == first_run and details["reset_to_event"] == reset.event_id
