"""`jps reset-unreplayable` and the worker's sweep: a group whose history no worker can replay is reset
to the first task that does not replay, so it moves on instead of waiting for an operator.

Such a group is stuck although no code changed: a live worker wrote a history that replay cannot
follow (tests/workflows/known_replay_failures: a task lost in a Temporal restart, or a killed
worker's sticky task reaching a fresh worker together with an officer's update). The group went on
live, and its next task on any worker without it in cache fails, again and again: Temporal flags it
(`TemporalReportedProblems`) with `cause=...NonDeterministicError` when the commands differ, or with
`cause=...WorkflowWorkerUnhandledFailure` when replay hands a step another step's answer and
decoding it raises (all three cases the chaos runs kept).

The remedy is the reset of docs/disbursement.md ("Resetting a group safely"), to the
`WorkflowTaskCompleted` of the first task that does not replay: the new run keeps the history up to
that task's `WorkflowTaskStarted`, takes the task again with the code deployed now, and receives
again the signals and updates sent after it. Finding that task is a search with the deployed
workflows' own `Replayer`: a prefix of the history that ends at task k's `WorkflowTaskStarted`
replays when tasks 1 .. k-1 gave the commands their events record (the last task of a prefix is run
but not checked), so the last such k is the first task that does not replay. A binary search: one
whole replay and about seven more for a Padat Karya group's 90 tasks, then the boundary replayed
again twice, both sides, before anything is reset (a replay that failed for another reason, a
deadlock under load, must not move the point).

What makes a reset safe is already in place: a step the new run takes again is recorded as a new
step of the new run (`claim_step`, `re_executed_after_reset` in its audit row), and a transfer the
new run sends again carries the same id and idempotency key, so the bank answers the transfer it
has instead of paying again.

What the sweep refuses to do on its own (each refusal says why; `jps stuck-workflows` still lists
the workflow, and `/metrics` still counts it):
- a workflow stuck for another cause (a task timing out); one failing unhandled (or named, not
  flagged) unless its point is a task the live run went on from that followed a lost task, the
  race's shape (new work meeting a bug fails in the newest task; a changed payload model fails
  anywhere): a reset would run into it again;
  and a workflow type the replayer does not know (to it, a prefix ending at the first task
  "replays": the search would end at the start);
- a history whose payloads do not open with this deployment's keys (every replay would fail);
- a history that replays in full now (nothing to reset);
- a reset to the first task: the whole group from the start, an operator's decision;
- a workflow it reset in the last 24 hours (a reset that did not help will not help twice), or a
  sweep past `limit` resets in the last hour, or more than `limit` flagged at once: that is a
  deployment that changed workflow code without `workflow.patched`, to be rolled back;
- a workflow that moved on while it searched (another run, or a longer history): the next sweep.

Sweeps take turns: one holds a transaction-scoped advisory lock while it resets, the workers' and
`jps reset-unreplayable --apply`'s alike. Each reset is written to the audit chain
(`workflow_reset_unreplayable`) with the workflow, the run it replaced, the new run, the event and
the failure replay gave; the budget above is read from those rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory, WorkflowQueryFailedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from infra.audit import append_audit
from infra.temporal import TaskProblem, task_problems
from infra.workflow_runner import workflow_runner

log = structlog.get_logger()

NON_DETERMINISM = "cause=WorkflowTaskFailedCauseNonDeterministicError"
# How the live/replay split usually shows: replay hands a step another step's answer, and decoding
# it raises inside the workflow ("Failed decoding arguments"), not in the SDK's command matching.
UNHANDLED_FAILURE = "cause=WorkflowTaskFailedCauseWorkflowWorkerUnhandledFailure"
RESET_EVENT = "workflow_reset_unreplayable"
RESET_IDENTITY = "jps reset-unreplayable"
DEFAULT_LIMIT = 10  # flagged at once, and resets an hour: more is a deployment's doing
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_LOST = (EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('replay_reset'))"
_AUDIT_TRIES = 3


def replayer_of(workflows: Sequence[type], converter: DataConverter) -> Replayer:
    """A replayer of these workflows as the worker runs them (its data converter and runner)."""
    return Replayer(workflows=workflows, data_converter=converter, workflow_runner=workflow_runner(converter))


def _known_types(replayer: Replayer) -> set[str]:
    """The workflow type names `replayer` knows: the only ones a sweep resets."""
    names = [workflow._Definition.must_from_class(c).name for c in replayer.config().get("workflows", ())]
    return {n for n in names if n}  # a dynamic workflow has no name: never one to reset


class NoResetPoint(Exception):
    """The search found no point it can vouch for; the message says why."""


@dataclass(frozen=True)
class ResetPoint:
    """Where a history stops replaying: the `WorkflowTaskCompleted` event to reset to, which task that
    is (1-based, of the history's completed tasks), and what replay said about the next prefix."""

    event_id: int
    task: int
    tasks: int
    failure: str
    after_lost_task: bool = False  # a task timed out or failed between the task before and this one


async def _replays(replayer: Replayer, workflow_id: str, events: Sequence[HistoryEvent]) -> str | None:
    """None when `events` replay; else the replay's failure."""
    result = await replayer.replay_workflow(
        WorkflowHistory(workflow_id, events), raise_on_replay_failure=False
    )
    return None if result.replay_failure is None else str(result.replay_failure)


async def _payloads_open(converter: DataConverter, events: Sequence[HistoryEvent]) -> None:
    """The workflow's input opens with these keys, or NoResetPoint: with a wrong or missing key every
    replay fails, and the search would end at the first task."""
    started = next((e for e in events if e.event_type == _STARTED), None)
    if started is None:
        raise NoResetPoint("the history has no start")
    try:
        await converter.decode(list(started.workflow_execution_started_event_attributes.input.payloads))
    except Exception as exc:
        raise NoResetPoint(
            f"its payloads do not open with this deployment's keys ({type(exc).__name__})"
        ) from None


async def find_reset_point(
    replayer: Replayer, history: WorkflowHistory, converter: DataConverter
) -> ResetPoint | None:
    """The first task of the history that does not replay, or None when all of it replays. The
    replayer must know the workflow's type (see the module's doc). Raises NoResetPoint when the
    payloads do not open or the boundary does not hold when replayed again."""
    events = list(history.events)
    await _payloads_open(converter, events)
    failure = await _replays(replayer, history.workflow_id, events)
    if failure is None:
        return None
    completed = [i for i, e in enumerate(events) if e.event_type == _COMPLETED]
    if not completed:
        raise NoResetPoint("not one task completed")

    def prefix(k: int) -> list[HistoryEvent]:
        """The events before task k's WorkflowTaskCompleted (0-based k; the whole history at the end)."""
        return events[: completed[k]] if k < len(completed) else events

    good, bad = 0, len(completed)  # prefix(good) replays (assumed, checked below); prefix(bad) does not
    while bad - good > 1:
        middle = (good + bad) // 2
        found = await _replays(replayer, history.workflow_id, prefix(middle))
        if found is None:
            good = middle
        else:
            bad, failure = middle, found
    for _ in range(2):  # both sides of the boundary again: a failure that was not the history's
        if await _replays(replayer, history.workflow_id, prefix(good)) is not None:
            raise NoResetPoint(f"the history up to task {good + 1} replays only sometimes")
        if await _replays(replayer, history.workflow_id, prefix(bad)) is None:
            raise NoResetPoint(f"the history up to task {bad + 1} fails to replay only sometimes")
    since = completed[good - 1] if good else 0
    return ResetPoint(
        event_id=events[completed[good]].event_id,
        task=good + 1,
        tasks=len(completed),
        failure=failure,
        after_lost_task=any(e.event_type in _LOST for e in events[since : completed[good]]),
    )


def left_to_an_operator(point: ResetPoint, problems: Sequence[str]) -> str | None:
    """Why this point is left to an operator, or None. A non-determinism Temporal reports is the
    history's; an unhandled failure, or a workflow named without any report, is reset only in the
    race's shape: a task the live run completed and went on from (not the newest: new work meeting a
    bug fails there, live and in every reset) that followed a lost task (one timed out or failed,
    its work handed again to another worker). Never to the first task: the group from the start."""
    detail = f"task {point.task} of {point.tasks} does not replay: {point.failure[:300]}"
    if point.task == 1:
        return f"it would start the group over ({detail}): an operator's decision, `temporal workflow reset`"
    if NON_DETERMINISM in problems:
        return None
    if point.task == point.tasks:
        return f"only its newest task fails ({detail}): new work meeting a bug, for an operator"
    if not point.after_lost_task:
        return f"not after a lost task ({detail}): a changed payload model? For an operator"
    return None


@dataclass(frozen=True)
class ResetOutcome:
    workflow_id: str
    run_id: str
    action: str  # reset | would_reset | replays | refused | moved_on | failed
    event_id: int | None = None
    new_run_id: str = ""
    detail: str = ""


async def _budget_refusal(pool: asyncpg.Pool, workflow_id: str, limit: int) -> str | None:
    """Why the budget refuses this reset now, or None."""
    row = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE details->>'workflow_id' = $2 AND at > now() - interval '24 hours')
                      AS this_one,
                  count(*) FILTER (WHERE at > now() - interval '1 hour') AS last_hour
           FROM audit_log WHERE event = $1 AND at > now() - interval '24 hours'""",
        RESET_EVENT,
        workflow_id,
    )
    if row["this_one"]:
        return "reset once in the last 24 hours already: an operator's turn"
    if row["last_hour"] >= limit:
        return f"{row['last_hour']} resets in the last hour, the most there may be ({limit})"
    return None


async def reset_unreplayable(
    client: Client,
    replayer: Replayer,
    workflow_id: str,
    *,
    apply: bool,
    operator: str,
    pool: asyncpg.Pool | None = None,
    limit: int = DEFAULT_LIMIT,
    problems: Sequence[str],
) -> ResetOutcome:
    """Find the running workflow's reset point and, when `apply` (with `pool`, for the budget and the
    audit row), reset it there. `problems`: what Temporal reports of it."""
    handle = client.get_workflow_handle(workflow_id)
    described = await handle.describe()
    run_id = described.run_id
    if described.status != WorkflowExecutionStatus.RUNNING:
        return ResetOutcome(workflow_id, run_id, "moved_on", detail="not running")
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    try:
        point = await find_reset_point(replayer, history, client.data_converter)
    except NoResetPoint as why:
        return ResetOutcome(workflow_id, run_id, "refused", detail=str(why))
    if point is None:
        return ResetOutcome(workflow_id, run_id, "replays", detail="the whole history replays now")
    detail = f"task {point.task} of {point.tasks} does not replay: {point.failure[:300]}"
    if operators := left_to_an_operator(point, problems):
        return ResetOutcome(workflow_id, run_id, "refused", point.event_id, detail=operators)
    if not apply:
        return ResetOutcome(workflow_id, run_id, "would_reset", point.event_id, detail=detail)
    if pool is None:
        raise ValueError("a reset needs the pool: its budget and its audit row")
    if refusal := await _budget_refusal(pool, workflow_id, limit):
        return ResetOutcome(workflow_id, run_id, "refused", point.event_id, detail=refusal)
    # Still the run searched, with no event since (describe's history length counts a failing task's
    # attempt in flight, which its history does not show: the history itself is fetched again).
    if (await handle.describe()).run_id != run_id or len(
        (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
    ) != len(history.events):
        return ResetOutcome(workflow_id, run_id, "moved_on", detail="it moved on while searched: next sweep")
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
                request_id=f"replay-reset:{run_id}:{point.event_id}",  # a retried request: one reset
                identity=RESET_IDENTITY,
                # no exclusions: the signals (bank callbacks) and updates (officers' steps) sent after
                # the point reach the new run, as docs/disbursement.md asks of a reset
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return ResetOutcome(workflow_id, run_id, "moved_on", detail=str(err))
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
    audited = await _audit(pool, workflow_id, run_id, answer.run_id, point, operator)
    if not audited:
        detail += " (its audit row could not be written: see the log)"
    return ResetOutcome(workflow_id, run_id, "reset", point.event_id, answer.run_id, detail=detail)


async def _audit(
    pool: asyncpg.Pool, workflow_id: str, run_id: str, new_run_id: str, point: ResetPoint, operator: str
) -> bool:
    """The reset's audit row, once (a reset the server answered again from its records writes none),
    tried again while PostgreSQL is away; False, logged with everything the row would hold, when
    it could not be written."""
    details: dict[str, Any] = {
        "workflow_id": workflow_id,
        "replaced_run": run_id,
        "new_run": new_run_id,
        "reset_to_event": point.event_id,
        "task": point.task,
        "tasks": point.tasks,
        "replay_failure": point.failure[:500],
    }
    for attempt in range(1, _AUDIT_TRIES + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                if await conn.fetchval(
                    "SELECT 1 FROM audit_log WHERE event = $1 AND details->>'new_run' = $2 AND"
                    " at > now() - interval '24 hours'",
                    RESET_EVENT,
                    new_run_id,
                ):
                    return True
                group = await conn.fetchval("SELECT 1 FROM groups WHERE group_id = $1", workflow_id)
                await append_audit(
                    conn,
                    group_id=workflow_id if group else None,  # a workflow that is not a group's
                    seq=None,
                    at=datetime.now(UTC),
                    actor=operator,
                    actor_roles=[],
                    event=RESET_EVENT,
                    stage=None,
                    reason="reset to the first workflow task its history does not replay",
                    details=details,
                    run_id=new_run_id,
                )
            return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if attempt == _AUDIT_TRIES:
                log.error(
                    "replay_reset_not_audited",
                    group_id=workflow_id,
                    workflow_id=workflow_id,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    officer=operator,
                    **details,
                )
                return False
            await asyncio.sleep(2.0 * attempt)
    return False


@dataclass(frozen=True)
class Sweep:
    stuck: list[TaskProblem]
    unreplayable: list[TaskProblem]
    outcomes: list[ResetOutcome]
    refused: str = ""


async def _unflagged(client: Client, workflow_id: str) -> TaskProblem | str:
    """A named workflow Temporal does not flag, as a problem of none reported, when a query to it
    fails on the workers (they replay its history to answer: the evidence is theirs, not this
    process's, whose code may differ); else why it is left alone."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return "not found"
        raise
    if described.status != WorkflowExecutionStatus.RUNNING:
        return "not running"
    try:
        await handle.query("__stack_trace", rpc_timeout=timedelta(seconds=30))
    except (WorkflowQueryFailedError, RPCError):
        return TaskProblem(workflow_id, described.workflow_type, ())
    return "the workers answer its queries: its history replays there"


async def sweep(
    client: Client,
    replayer: Replayer,
    *,
    apply: bool,
    operator: str,
    pool: asyncpg.Pool | None = None,
    limit: int = DEFAULT_LIMIT,
    stop: asyncio.Event | None = None,
    workflow_ids: Sequence[str] = (),
) -> Sweep:
    """Every running workflow of a type `replayer` knows whose task Temporal reports
    failing on non-determinism or an unhandled failure, each reset to its first task that does not
    replay; none when more than `limit` are. Stops between workflows once `stop` is set. Callers that
    reset hold the lock (`locked_sweep`).

    `workflow_ids`: these workflows instead, flagged or not: a group whose page cannot show its state
    (its query replays its history on a worker that does not hold it, and fails) before a task of its
    has failed. Such a group is reset only where a task it went on from does not replay."""
    stuck = await task_problems(client)
    workflow_types = _known_types(replayer)
    left: list[ResetOutcome] = []  # named workflows left alone, and why
    if workflow_ids:
        flagged = {p.workflow_id: p for p in stuck}
        unreplayable = []
        for w in dict.fromkeys(workflow_ids):
            found = flagged.get(w) or await _unflagged(client, w)
            if isinstance(found, str):
                left.append(ResetOutcome(w, "", "refused", detail=found))
            elif found.workflow_type not in workflow_types:
                left.append(ResetOutcome(w, "", "refused", detail=f"not one of ours ({found.workflow_type})"))
            else:
                unreplayable.append(found)
    else:
        unreplayable = [
            p
            for p in stuck
            if (NON_DETERMINISM in p.problems or UNHANDLED_FAILURE in p.problems)
            and p.workflow_type in workflow_types
        ]
    if len(unreplayable) > limit:
        refused = (
            f"{len(unreplayable)} workflows do not replay, more than {limit}: a deployment that changed "
            "workflow code without workflow.patched? Roll it back; nothing was reset"
        )
        log.error("replay_reset_refused", unreplayable=len(unreplayable), limit=limit, officer=operator)
        return Sweep(stuck, unreplayable, left, refused)
    outcomes = left
    for problem in unreplayable:
        if stop is not None and stop.is_set():
            break
        try:
            outcomes.append(
                await reset_unreplayable(
                    client,
                    replayer,
                    problem.workflow_id,
                    apply=apply,
                    operator=operator,
                    pool=pool,
                    limit=limit,
                    problems=problem.problems,
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
            outcomes.append(ResetOutcome(problem.workflow_id, "", "failed", detail=str(exc)[:300]))
    return Sweep(stuck, unreplayable, outcomes)


async def locked_sweep(
    client: Client,
    pool: asyncpg.Pool,
    replayer: Replayer,
    *,
    operator: str,
    limit: int = DEFAULT_LIMIT,
    stop: asyncio.Event | None = None,
    workflow_ids: Sequence[str] = (),
) -> Sweep | None:
    """A sweep that resets, holding the sweeps' lock for its length; None when another holds it."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(_LOCK):
            return None
        return await sweep(
            client,
            replayer,
            apply=True,
            operator=operator,
            pool=pool,
            limit=limit,
            stop=stop,
            workflow_ids=workflow_ids,
        )


async def sweep_every(
    client: Client,
    pool: asyncpg.Pool,
    replayer: Replayer,
    *,
    every_s: float,
    limit: int,
    stop: asyncio.Event,
    operator: str = "worker-sweep",
) -> None:
    """The worker's sweep: every `every_s`, until `stop` (checked between workflows too)."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
            return
        except TimeoutError:
            pass
        try:
            found = await locked_sweep(
                client,
                pool,
                replayer,
                operator=operator,
                limit=limit,
                stop=stop,
            )
            if found is not None and found.unreplayable:
                log.info(
                    "replay_reset_swept",
                    unreplayable=len(found.unreplayable),
                    outcomes={o.workflow_id: o.action for o in found.outcomes},
                    refused=bool(found.refused),
                    officer=operator,
                )
        except Exception as exc:  # a sweep that failed (Temporal or PostgreSQL away) tries again next time
            log.warning(
                "replay_reset_sweep_failed", error=f"{type(exc).__name__}: {exc}"[:300], officer=operator
            )
