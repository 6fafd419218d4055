"""The case's durable waits: the one open task (tugas) and the timers that escalate it, in the style of
`workflows/group_lifecycle/tasks.py` (which is bound to a group's state and task kinds): at the due
date a reminder to the handler (level 1), after `escalate_regional_after` the region's supervisor
(2), after `escalate_national_after` the national directorate (3). One timer at a time, for the next
level; any step (a change of `task_token`) ends the wait. And the wait with no task: for the
complainant's answer, or through the reopening window to the archiving (`wait_for_step`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.grievances import GrievanceState, GrievanceTask
    from jps.domain.grievances import GrievancePolicy
    from jps.domain.stages import EscalationLevel

LEVEL_EVENTS = {
    EscalationLevel.REMINDED: ("reminder", None),
    EscalationLevel.REGIONAL_SUPERVISOR: ("escalated_regional", "supervisor"),
    EscalationLevel.NATIONAL_DIRECTORATE: ("escalated_national", "directorate"),
}


def next_escalation(task: GrievanceTask, policy: GrievancePolicy) -> tuple[int, datetime] | None:
    plan = [
        (EscalationLevel.REMINDED, task.due_at),
        (EscalationLevel.REGIONAL_SUPERVISOR, task.due_at + policy.escalate_regional_after),
        (EscalationLevel.NATIONAL_DIRECTORATE, task.due_at + policy.escalate_national_after),
    ]
    return next(((level, at) for level, at in plan if level > task.escalation_level), None)


async def wait_on_task(
    state: GrievanceState, policy: GrievancePolicy, escalate: Callable[[GrievanceTask, int], Awaitable[None]]
) -> None:
    """Until the next step (any change of `task_token`), escalating the open task at its offsets."""
    token = state.task_token

    def moved() -> bool:
        return state.task_token != token

    while not moved():
        task = state.task
        upcoming = next_escalation(task, policy) if task is not None else None
        if upcoming is None:
            await workflow.wait_condition(moved)
            return
        level, at = upcoming
        timeout = (at - workflow.now()).total_seconds()
        if timeout > 0:
            try:
                await workflow.wait_condition(moved, timeout=timeout)
                return
            except TimeoutError:
                pass
        if task is not None and not moved() and state.task is task:
            await escalate(task, level)


async def wait_for_step(state: GrievanceState, until: Any) -> bool:
    """True when a step came before `until` (a durable timer), False when it passed."""
    token = state.task_token
    timeout = (until - workflow.now()).total_seconds() if until is not None else None
    if timeout is not None and timeout <= 0:
        return False  # already past: no zero-length timer
    try:
        await workflow.wait_condition(lambda: state.task_token != token, timeout=timeout)
    except TimeoutError:
        return state.task_token != token
    return True
