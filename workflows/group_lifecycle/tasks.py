"""The group's open tasks (tugas) and the durable wait that escalates them.

In the style of samples-python's `updatable_timer_lib.py`: the board owns the deadlines and the
`workflow.wait_condition(..., timeout=...)` loop; the workflow says what to wait for and what to
record when a task escalates. Every task has its own due date and escalation: at the due date a
reminder (level 1), after `escalate_regional_after` the region's supervisor (2), after
`escalate_national_after` the national directorate (3). One timer runs at a time, for the nearest
deadline of all open tasks, so a group with one task makes exactly the timers it always made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.workflow import GroupState
    from jps.domain.models import Task
    from jps.domain.programs import ProgramPolicy
    from jps.domain.stages import PARALLEL_TASKS, TASK_ROLES, EscalationLevel, TaskKind


class Escalation(NamedTuple):
    level: int
    at: datetime
    event: str


OnEscalate = Callable[[Task, Escalation], Awaitable[None]]


class TaskBoard:
    def __init__(
        self, state: GroupState, policy: ProgramPolicy, lock: asyncio.Lock, *, lean: bool = False
    ) -> None:
        self.state = state
        self.policy = policy
        self.lock = lock
        self.deadline_reached = False  # the last `wait` ended at its `poll` deadline
        # Started under patches.LEANER_HISTORY: the timer running when the group closes is left to
        # the closing (a cancel would be one more event in a history that ends in the same task).
        self.lean = lean
        self.closed = False

    # ---- opening and closing

    def open(self, kind: TaskKind, *, due_at: datetime | None = None, note: str = "") -> Task:
        """Open a task due by `due_at` (default: the policy's SLA for its kind). A stage task
        replaces the other stage tasks; a parallel one replaces only its own kind."""
        now = workflow.now()
        task = Task(
            kind=kind,
            roles=list(TASK_ROLES[kind]),
            opened_at=now,
            due_at=due_at or now + self.policy.sla_for(kind),
            note=note,
        )
        replaced = (lambda t: t.kind == kind) if kind in PARALLEL_TASKS else _is_stage_task
        self.state.open_tasks = [t for t in self.state.open_tasks if not replaced(t)] + [task]
        self._changed()
        return task

    def close(self, kind: TaskKind | None = None) -> None:
        """Close the task of `kind`, or (None) the stage's own tasks."""
        closed = (lambda t: t.kind == kind) if kind is not None else _is_stage_task
        self.state.open_tasks = [t for t in self.state.open_tasks if not closed(t)]
        self._changed()

    def close_all(self) -> None:
        """The group is closing (a terminal stage): no task stays open."""
        self.closed = True
        self.state.open_tasks = []
        self._changed()

    def is_open(self, task: Task) -> bool:
        return any(t is task for t in self.state.open_tasks)

    def _changed(self) -> None:
        self._sync_level()
        self.state.runtime.task_token += 1

    def _sync_level(self) -> None:
        levels = [t.escalation_level for t in self.state.open_tasks]
        self.state.escalation_level = max(levels, default=EscalationLevel.NONE)

    # ---- escalation

    def plan(self, task: Task) -> list[Escalation]:
        return [
            Escalation(EscalationLevel.REMINDED, task.due_at, "reminder"),
            Escalation(
                EscalationLevel.REGIONAL_SUPERVISOR,
                task.due_at + self.policy.escalate_regional_after,
                "escalated_regional",
            ),
            Escalation(
                EscalationLevel.NATIONAL_DIRECTORATE,
                task.due_at + self.policy.escalate_national_after,
                "escalated_national",
            ),
        ]

    def next_escalation(self) -> tuple[Task, Escalation] | None:
        """The earliest escalation still ahead of any open task."""
        ahead = [
            (task, next(e for e in self.plan(task) if e.level > task.escalation_level))
            for task in self.state.open_tasks
            if task.escalation_level < EscalationLevel.NATIONAL_DIRECTORATE
        ]
        return min(ahead, key=lambda pair: pair[1].at, default=None)

    async def wait(
        self,
        done: Callable[[], bool],
        *,
        escalate: OnEscalate,
        poll: timedelta | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until `done()` (or a task opens or closes, or `stop()`), escalating the open tasks
        at their offsets (`escalate` records it, under the lock). With `poll`, returns False when
        that much time passed without `done()`."""
        poll_at = workflow.now() + poll if poll else None
        token = self.state.runtime.task_token
        self.deadline_reached = False

        def finished() -> bool:
            return done() or self.state.runtime.task_token != token or (stop is not None and stop())

        while not finished():
            upcoming = self.next_escalation()
            deadlines = ([upcoming[1].at] if upcoming else []) + ([poll_at] if poll_at else [])
            if not deadlines:
                await workflow.wait_condition(finished)
                break
            nearest = min(deadlines)
            timeout = (nearest - workflow.now()).total_seconds()
            if timeout > 0 and await self._until(finished, timeout):
                break
            # The nearest deadline is reached (its timer fired, or it was past already). What comes
            # next is decided from the deadlines, never from workflow.now() again: a worker's first
            # task after another worker died can read an earlier time than the replay will, and a
            # time comparison here once re-armed a timer live that the replay did not (a group's
            # non-determinism error in the chaos run).
            if poll_at is not None and poll_at <= nearest and not finished():
                self.deadline_reached = True
                return False
            if upcoming and upcoming[1].at <= nearest:
                task, escalation = upcoming
                async with self.lock:
                    if finished() or not self.is_open(task):
                        continue
                    task.escalation_level = escalation.level
                    self._sync_level()
                    await escalate(task, escalation)
        return done() or self.state.runtime.task_token != token or (stop is not None and stop())

    async def _until(self, finished: Callable[[], bool], seconds: float) -> bool:
        """Wait until `finished()` (True) or `seconds` passed (False). Its timer is cancelled
        when `finished()` comes first, unless (lean) the group is closing: the workflow completes once
        its handlers finish (as a rule in this very task), and a closed workflow's timer never fires;
        should it fire first, nothing waits for it."""
        if not self.lean:
            try:
                await workflow.wait_condition(finished, timeout=seconds)
                return True
            except TimeoutError:
                return False
        timer = asyncio.create_task(workflow.sleep(seconds))
        await workflow.wait_condition(lambda: finished() or timer.done())
        if timer.done():
            return False
        if not self.closed:
            timer.cancel()
        return True


def _is_stage_task(task: Task) -> bool:
    return task.kind not in PARALLEL_TASKS
