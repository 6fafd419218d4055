"""The inbox (kotak tugas): each open task my roles and regions can act on, overdue and escalated first;
claiming one so colleagues see who is on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from temporalio.client import Client

from api.deps import (
    ActionContext,
    CurrentOfficer,
    Paging,
    PoolDep,
    Services,
    ServicesDep,
    TemporalDep,
    action_guard,
)
from api.errors import AUTHED, responses
from api.queries import groups, tasks
from api.schemas import GroupOut, InboxItemOut, Page
from api.service import full_args, perform_action
from jps.domain.actions import ACTIONS
from jps.domain.stages import TaskKind

router = APIRouter(prefix="/tasks", tags=["tasks"])

_CLAIM = ACTIONS["claim"]

TaskChoice = Annotated[
    TaskKind | None,
    Query(description="Which of the group's open tasks; omitted = the most urgent one open to my roles"),
]


@router.get(
    "",
    response_model=Page[InboxItemOut],
    summary="My inbox: open tasks for my roles in my regions, overdue and escalated first",
    description=(
        "Each open task is a line of its own (a group with two open tasks for my roles shows twice). "
        "A task shows when one of its roles is mine; a supervisor also sees every task of the region "
        "that escalated to the region's supervisor or further."
    ),
    responses=responses(*AUTHED, 422),
)
async def inbox(
    officer: CurrentOfficer,
    pool: PoolDep,
    paging: Paging,
    kind: TaskKind | None = None,
    overdue: Annotated[bool | None, Query(description="Only tasks past their due date")] = None,
    claimed: Annotated[
        str | None, Query(pattern="^(me|nobody|others)$", description="me, nobody or others")
    ] = None,
) -> Page[InboxItemOut]:
    return await tasks.inbox(
        pool, officer=officer, paging=paging, kind=kind, overdue=overdue, claimed=claimed
    )


async def _claim(
    ctx: ActionContext, services: Services, client: Client, release: bool, task: TaskKind | None
) -> GroupOut:
    args = full_args(_CLAIM, {"release": release, "task": task}, ctx.officer)
    step = await perform_action(services, client, ctx, _CLAIM, args)
    return await groups.group_after_step(services.pool, step=step)


@router.post(
    "/{group_id}/claim",
    response_model=GroupOut,
    summary="Claim one of the group's open tasks, so colleagues see who is on it",
    responses=responses(*AUTHED, 404, 409, 422, 503),
)
async def claim_task(
    ctx: Annotated[ActionContext, Depends(action_guard(_CLAIM))],
    services: ServicesDep,
    client: TemporalDep,
    task: TaskChoice = None,
) -> GroupOut:
    return await _claim(ctx, services, client, release=False, task=task)


@router.post(
    "/{group_id}/release",
    response_model=GroupOut,
    summary="Give a claimed task back to the pool",
    responses=responses(*AUTHED, 404, 409, 422, 503),
)
async def release_task(
    ctx: Annotated[ActionContext, Depends(action_guard(_CLAIM))],
    services: ServicesDep,
    client: TemporalDep,
    task: TaskChoice = None,
) -> GroupOut:
    return await _claim(ctx, services, client, release=True, task=task)
