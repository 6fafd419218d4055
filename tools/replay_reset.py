"""`jps reset-unreplayable` and the worker's sweep: a group whose history no worker can replay is reset
to the last workflow task that replays, so it moves on instead of waiting for an operator.

Such a group is stuck although no code changed: a live worker wrote a history that replay cannot
follow (tests/workflows/known_replay_failures: a task lost in a Temporal restart, or a killed
worker's sticky task reaching a fresh worker together with an officer's update). The group went on
live, and its next task on any worker without it in cache fails with a non-determinism error, again
and again: Temporal flags it (`TemporalReportedProblems`, `cause=...NonDeterministicError`).

The remedy is the reset of docs/disbursement.md ("Resetting a group safely"), to the
`WorkflowTaskCompleted` of the first task that does not replay: the new run keeps the history before
that task, takes it again with the code deployed now, and receives again the signals and updates
sent after it. Finding that task is a search over the history with the deployed workflows' own
`Replayer`: a prefix of the history that ends at task k's `WorkflowTaskStarted` replays exactly when
tasks 1 .. k-1 gave the commands their events record, so the last such k is the first task that
does not replay (a binary search: about seven replays for a Padat Karya group's 90 tasks).

What makes a reset safe is already in place: a step the new run takes again is recorded as a new
step of the new run (`claim_step`, `re_executed_after_reset` in its audit row), and a transfer the
new run sends again carries the same id and idempotency key, so the bank answers the transfer it
has instead of paying again.

What the sweep refuses to do on its own:
- a workflow stuck for another cause (a bug, a task timing out): a reset would run into it again;
- a history that replays in full now (nothing to reset; it says so);
- more than `limit` stuck by non-determinism at once: that is a deployment that changed workflow
  code without `workflow.patched`, for an operator to roll back, not thousands of resets.

Each reset carries a request id made of the run and the event, so two sweeps (two workers) asking
for the same reset make one; and it is written to the audit chain (`workflow_reset_unreplayable`)
with the run it replaced, the event and the failure replay gave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from infra.audit import append_audit
from infra.temporal import TaskProblem, task_problems

log = structlog.get_logger()

NON_DETERMINISM = "cause=WorkflowTaskFailedCauseNonDeterministicError"
RESET_EVENT = "workflow_reset_unreplayable"
RESET_IDENTITY = "jps reset-unreplayable"
DEFAULT_LIMIT = 10  # more at once is a deployment's doing: an operator's decision, not the sweep's
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def workflow_names(classes: Iterable[type]) -> list[str]:
    """The workflow type names of these `@workflow.defn` classes (what a replayer of them knows)."""
    names = [workflow._Definition.must_from_class(c).name for c in classes]
    return [n for n in names if n]  # a dynamic workflow has no name: never one to reset


@dataclass(frozen=True)
class ResetPoint:
    """Where a history stops replaying: the `WorkflowTaskCompleted` event to reset to, which task that
    is (1-based, of the history's completed tasks), and what replay said about the next prefix."""

    event_id: int
    task: int
    tasks: int
    failure: str


async def _replays(replayer: Replayer, workflow_id: str, events: Sequence[HistoryEvent]) -> str | None:
    """None when `events` replay; else the replay's failure."""
    result = await replayer.replay_workflow(
        WorkflowHistory(workflow_id, events), raise_on_replay_failure=False
    )
    return None if result.replay_failure is None else str(result.replay_failure)


async def find_reset_point(replayer: Replayer, history: WorkflowHistory) -> ResetPoint | None:
    """The last task boundary the history replays to, or None when all of it replays. The replayer
    must know the workflow's type: to one that does not, a prefix that ends at the first task
    "replays" (a task's failure is reported only once a later event checks it), so the search would
    end at the first task. `sweep` resets only the types it is given."""
    events = list(history.events)
    failure = await _replays(replayer, history.workflow_id, events)
    if failure is None:
        return None
    completed = [i for i, e in enumerate(events) if e.event_type == _COMPLETED]
    if not completed:
        return None  # not one task completed: nothing before it to keep
    # prefix(k) = events before task k's WorkflowTaskCompleted (it ends at that task's Started): it
    # replays when tasks before k gave their recorded commands. prefix(0) checks no command.
    good, bad = 0, len(completed)  # prefix(good) replays; prefix(bad), the whole history, does not
    while bad - good > 1:
        middle = (good + bad) // 2
        found = await _replays(replayer, history.workflow_id, events[: completed[middle]])
        if found is None:
            good = middle
        else:
            bad, failure = middle, found
    return ResetPoint(
        event_id=events[completed[good]].event_id, task=good + 1, tasks=len(completed), failure=failure
    )


@dataclass(frozen=True)
class ResetOutcome:
    workflow_id: str
    run_id: str
    action: str  # reset | would_reset | replays | not_running | skipped
    event_id: int | None = None
    new_run_id: str = ""
    detail: str = ""


async def reset_unreplayable(
    client: Client,
    replayer: Replayer,
    workflow_id: str,
    *,
    apply: bool,
    operator: str,
    pool: asyncpg.Pool | None = None,
) -> ResetOutcome:
    """Find the running workflow's reset point and, when `apply`, reset it there."""
    description = await client.get_workflow_handle(workflow_id).describe()
    run_id = description.run_id
    if description.status != WorkflowExecutionStatus.RUNNING:
        return ResetOutcome(workflow_id, run_id, "not_running")
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    point = await find_reset_point(replayer, history)
    if point is None:
        return ResetOutcome(workflow_id, run_id, "replays", detail="the whole history replays now")
    detail = f"task {point.task} of {point.tasks} does not replay: {point.failure[:300]}"
    if not apply:
        return ResetOutcome(workflow_id, run_id, "would_reset", point.event_id, detail=detail)
    reason = (
        f"automatic: the history does not replay from task {point.task} of {point.tasks}; "
        f"reset to event {point.event_id} ({operator})"
    )
    try:
        answer = await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                reason=reason,
                workflow_task_finish_event_id=point.event_id,
                request_id=f"replay-reset:{run_id}:{point.event_id}",  # one reset, however many ask
                identity=RESET_IDENTITY,
                # no exclusions: the signals (bank callbacks) and updates (officers' steps) sent after
                # the point reach the new run, as docs/disbursement.md asks of a reset
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return ResetOutcome(workflow_id, run_id, "not_running", detail=str(err))
        raise
    log.warning(
        "workflow_reset_unreplayable",
        group_id=workflow_id,
        workflow_id=workflow_id,
        run_id=run_id,
        new_run_id=answer.run_id,
        event_id=point.event_id,
        task=point.task,
        tasks=point.tasks,
        officer=operator,
    )
    if pool is not None:
        await _audit(pool, workflow_id, run_id, answer.run_id, point, operator)
    return ResetOutcome(workflow_id, run_id, "reset", point.event_id, answer.run_id, detail)


async def _audit(
    pool: asyncpg.Pool, group_id: str, run_id: str, new_run_id: str, point: ResetPoint, operator: str
) -> None:
    details: dict[str, Any] = {
        "replaced_run": run_id,
        "new_run": new_run_id,
        "reset_to_event": point.event_id,
        "task": point.task,
        "tasks": point.tasks,
        "replay_failure": point.failure[:500],
    }
    async with pool.acquire() as conn, conn.transaction():
        group = await conn.fetchval("SELECT 1 FROM groups WHERE group_id = $1", group_id)
        await append_audit(
            conn,
            group_id=group_id if group else None,  # a workflow that is not a group's (a schedule's)
            seq=None,
            at=datetime.now(UTC),
            actor=operator,
            actor_roles=[],
            event=RESET_EVENT,
            stage=None,
            reason="reset to the last workflow task its history replays to",
            details=details,
            run_id=new_run_id,
        )


@dataclass(frozen=True)
class Sweep:
    stuck: list[TaskProblem]
    unreplayable: list[TaskProblem]
    outcomes: list[ResetOutcome]
    refused: str = ""


async def sweep(
    client: Client,
    replayer: Replayer,
    *,
    apply: bool,
    operator: str,
    pool: asyncpg.Pool | None = None,
    workflow_types: Sequence[str],
    limit: int = DEFAULT_LIMIT,
) -> Sweep:
    """Every running workflow of `workflow_types` (those `replayer` knows) Temporal flags for
    non-determinism, each reset to its last replaying task; none when more than `limit` are."""
    stuck = await task_problems(client)
    unreplayable = [p for p in stuck if NON_DETERMINISM in p.problems and p.workflow_type in workflow_types]
    if len(unreplayable) > limit:
        refused = (
            f"{len(unreplayable)} workflows do not replay, more than {limit}: a deployment that changed "
            "workflow code without workflow.patched? Roll it back; nothing was reset"
        )
        log.error("replay_reset_refused", unreplayable=len(unreplayable), limit=limit, officer=operator)
        return Sweep(stuck, unreplayable, [], refused)
    outcomes = []
    for problem in unreplayable:
        try:
            outcomes.append(
                await reset_unreplayable(
                    client, replayer, problem.workflow_id, apply=apply, operator=operator, pool=pool
                )
            )
        except Exception as exc:  # one group's failure never stops the others' resets
            log.error(
                "replay_reset_failed",
                group_id=problem.workflow_id,
                workflow_id=problem.workflow_id,
                error=f"{type(exc).__name__}: {exc}"[:300],
                officer=operator,
            )
            outcomes.append(ResetOutcome(problem.workflow_id, "", "skipped", detail=str(exc)[:300]))
    return Sweep(stuck, unreplayable, outcomes)


async def sweep_every(
    client: Client,
    pool: asyncpg.Pool,
    replayer: Replayer,
    *,
    every_s: float,
    limit: int,
    workflow_types: Sequence[str],
    stop: asyncio.Event,
    operator: str = "worker-sweep",
) -> None:
    """The worker's sweep: every `every_s`, until `stop`. Workers take turns: a sweep runs inside a
    transaction holding an advisory lock, and a worker that finds it taken skips its turn."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
            return
        except TimeoutError:
            pass
        try:
            async with pool.acquire() as conn, conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('replay_reset'))"):
                    continue  # another worker's sweep is running
                found = await sweep(
                    client,
                    replayer,
                    apply=True,
                    operator=operator,
                    pool=pool,
                    limit=limit,
                    workflow_types=workflow_types,
                )
            if found.unreplayable:
                log.info(
                    "replay_reset_swept",
                    unreplayable=len(found.unreplayable),
                    reset=sum(o.action == "reset" for o in found.outcomes),
                    refused=bool(found.refused),
                    officer=operator,
                )
        except Exception as exc:  # a sweep that failed (Temporal away) tries again next time
            log.warning(
                "replay_reset_sweep_failed", error=f"{type(exc).__name__}: {exc}"[:300], officer=operator
            )
