"""The checks every officer's step passes before it changes anything: role, region, registration,
stage and open task. Pure functions of the state; a failed check is a refusal the API maps to a
status (403, 409, 422), and a refused update writes nothing, not even to the history."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from jps.contracts.refusals import RefusalKind
from jps.contracts.workflow import GroupState
from jps.domain.actions import ACTIONS
from jps.domain.models import Officer
from jps.domain.roles import region_in_scope
from jps.domain.stages import TaskKind


def refuse(kind: RefusalKind, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def authorize(
    state: GroupState, action: str, officer: Officer | None, task: TaskKind | tuple[TaskKind, ...] | None
) -> Officer:
    """The acting officer, once allowed to take `action` now; with `task`, one of those task kinds
    must be open."""
    spec = ACTIONS[action]
    registration = state.runtime.registration
    if officer is None:
        raise refuse(RefusalKind.FORBIDDEN, "officer: the acting officer is missing")
    if not any(role in spec.roles for role in officer.roles):
        allowed = ", ".join(r.value for r in spec.roles)
        raise refuse(RefusalKind.FORBIDDEN, f"{action} needs one of the roles: {allowed}")
    if not region_in_scope(state.region_code, officer.regions):
        raise refuse(
            RefusalKind.FORBIDDEN, f"group region {state.region_code} is outside the officer's scope"
        )
    if registration.error is not None:
        raise refuse(RefusalKind.WRONG_STAGE, f"the group was never registered: {registration.error}")
    if state.stage not in spec.stages:
        raise refuse(RefusalKind.WRONG_STAGE, f"{action} is not allowed in stage {state.stage.value}")
    if task is not None:
        kinds = task if isinstance(task, tuple) else (task,)
        if state.task_of(*kinds) is None:
            current = ", ".join(t.kind.value for t in state.open_tasks) or "none"
            raise refuse(RefusalKind.WRONG_STAGE, f"{action} is not expected now (open task: {current})")
    return officer
