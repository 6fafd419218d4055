"""A task (tugas) as officers see it: on a group, and as a line of the inbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of
from jps.domain.nik import mask_niks_in
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind


class TaskOut(BaseModel):
    """The step the group waits on (tugas), its due date and how far it has escalated."""

    model_config = example_config(
        kind="verify",
        roles=["verifier"],
        opened_at="2020-09-01T02:00:00Z",
        due_at="2020-09-08T02:00:00Z",
        escalation_level=0,
        claimed_by=None,
        overdue=False,
        note="",
    )
    kind: TaskKind
    roles: list[Role]
    opened_at: datetime | None = None
    due_at: datetime
    escalation_level: int = Field(
        0, description="0 with the assignee, 1 reminded, 2 region's supervisor, 3 national directorate"
    )
    claimed_by: str | None = None
    overdue: bool = False
    note: str = ""


def task_out(t: Mapping[str, Any] | None, now: datetime | None = None) -> TaskOut | None:
    if not t:
        return None
    out = TaskOut.model_validate({k: v for k, v in t.items() if k in TaskOut.model_fields})
    out.overdue = out.due_at < (now or datetime.now(UTC))
    out.note = mask_niks_in(out.note)
    return out


def tasks_out(state: Mapping[str, Any]) -> list[TaskOut]:
    """Every open task of a stored state, the most urgent first. States written before tasks became a
    list carry one `open_task` only."""
    raw = state.get("open_tasks")
    if raw is None:
        raw = [state["open_task"]] if state.get("open_task") else []
    now = datetime.now(UTC)
    tasks = [t for t in (task_out(r, now) for r in raw) if t is not None]
    return sorted(tasks, key=lambda t: t.due_at)


class InboxItemOut(BaseModel):
    """A task in an officer's inbox (kotak tugas), with the group it belongs to."""

    model_config = example_config(
        group_id="TKM-3171-AB12CD34EF",
        program="tkm",
        name="Kelompok Usaha Maju Jaya",
        region_code="3171",
        stage="verification",
        member_count=20,
        task=example_of(TaskOut),
    )
    group_id: str
    program: Program
    name: str
    region_code: str
    stage: Stage
    member_count: int
    task: TaskOut
