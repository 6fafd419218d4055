"""Several open tasks at once, through HTTP: a group waiting on two people shows two inbox lines and
both tasks in `open_tasks` (`open_task` the most urgent); a step that closes one leaves one. The read
model is written as the workflow writes it, through the `record_transition` activity's own class
(the workflow opening two tasks at once is the workflow's tests' business). And the claim action
names which task it claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from activities.db import ReadModelActivities
from jps.contracts.activities import TransitionRecord
from jps.domain.models import GroupSummary, Proposal, Task
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests import factories
from tests.api.conftest import Stack, submit

GROUP = "TKM-3171-TWOTASKS01"


def two_tasks(now: datetime) -> list[Task]:
    """A mentoring visit due in three days, and fixing a refused bank account, overdue since yesterday
    and escalated to the region's supervisor."""
    return [
        Task(
            kind=TaskKind.REPORT_VISIT,
            roles=[Role.MENTOR],
            opened_at=now - timedelta(days=4),
            due_at=now + timedelta(days=3),
        ),
        Task(
            kind=TaskKind.UPDATE_BANK_ACCOUNT,
            roles=[Role.REGISTRAR, Role.FINANCE],
            opened_at=now - timedelta(days=8),
            due_at=now - timedelta(days=1),
            escalation_level=2,
            claimed_by="finance-7",
            note="rekening ditolak bank",
        ),
    ]


async def record(
    pool: asyncpg.Pool,
    seq: int,
    tasks: list[Task],
    *,
    proposal: Proposal | None = None,
    group_id: str = GROUP,
) -> bool:
    """One recorded step of a mentoring-stage group whose state holds `tasks`."""
    p = proposal or factories.proposal(name="Kelompok Dua Tugas")
    now = datetime.now(UTC)
    state = GroupSummary(
        group_id=group_id,
        program=p.program,
        name=p.name,
        region_code=p.region_code,
        stage=Stage.MENTORING,
        submitted_by="registrar-1",
        submitted_at=now - timedelta(days=30),
        requested_amount=p.requested_amount,
        approved_amount=p.requested_amount,
        open_tasks=tasks,
        escalation_level=max((t.escalation_level for t in tasks), default=0),
        seq=seq,
    )
    step = TransitionRecord(
        group_id=group_id,
        seq=seq,
        at=now,
        event="test_step",
        stage=Stage.MENTORING,
        from_stage=None,
        state=state,
        proposal=proposal,
    )
    written: bool = await ReadModelActivities(pool).record_transition(step)
    return written


async def write_group_with_two_tasks(pool: asyncpg.Pool, group_id: str = GROUP) -> list[Task]:
    tasks = two_tasks(datetime.now(UTC))
    assert await record(
        pool, 1, tasks, proposal=factories.proposal(name="Kelompok Dua Tugas"), group_id=group_id
    )
    return tasks


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return [i["task"]["kind"] for i in items]


async def test_each_open_task_is_an_inbox_line_and_in_open_tasks(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await write_group_with_two_tasks(stack.pool)
    rows = await stack.pool.fetch("SELECT kind FROM group_tasks WHERE group_id = $1 ORDER BY kind", GROUP)
    assert [r["kind"] for r in rows] == ["report_visit", "update_bank_account"]

    # An officer with both roles sees the group twice, the overdue (and escalated) task first.
    both = stack.auth([Role.MENTOR, Role.FINANCE], officer="both-1")
    inbox = (await http.get("/tasks", headers=both)).json()
    assert inbox["total"] == 2 and [i["group_id"] for i in inbox["items"]] == [GROUP, GROUP]
    assert kinds(inbox["items"]) == ["update_bank_account", "report_visit"]
    late = inbox["items"][0]["task"]
    assert late["overdue"] is True and late["escalation_level"] == 2 and late["claimed_by"] == "finance-7"
    assert late["roles"] == ["registrar", "finance"] and late["note"] == "rekening ditolak bank"
    assert (
        inbox["items"][1]["task"]["overdue"] is False and inbox["items"][1]["task"]["escalation_level"] == 0
    )

    # Each role sees its own task only; filters apply to each task.
    mentor = (await http.get("/tasks", headers=stack.auth(Role.MENTOR))).json()
    assert kinds(mentor["items"]) == ["report_visit"]
    assert kinds((await http.get("/tasks", headers=stack.auth(Role.FINANCE))).json()["items"]) == [
        "update_bank_account"
    ]
    assert kinds((await http.get("/tasks?overdue=false", headers=both)).json()["items"]) == ["report_visit"]
    assert kinds((await http.get("/tasks?kind=report_visit", headers=both)).json()["items"]) == [
        "report_visit"
    ]
    claimed_by_others = (await http.get("/tasks?claimed=others", headers=both)).json()["items"]
    assert kinds(claimed_by_others) == ["update_bank_account"]
    assert kinds((await http.get("/tasks?claimed=nobody", headers=both)).json()["items"]) == ["report_visit"]
    # The region's supervisor sees the escalated task, not the one still with the mentor.
    supervisor = (await http.get("/tasks", headers=stack.auth(Role.SUPERVISOR))).json()
    assert kinds(supervisor["items"]) == ["update_bank_account"]
    # Out of scope: nothing.
    assert (await http.get("/tasks", headers=stack.auth(Role.MENTOR, regions=["32"]))).json()["total"] == 0

    # The group, listed and read, carries both; open_task is the most urgent.
    auditor = stack.auth(Role.AUDITOR, regions=["*"])
    [listed] = (await http.get("/groups", headers=auditor)).json()["items"]
    detail = (await http.get(f"/groups/{GROUP}", headers=auditor)).json()
    for group in (listed, detail):
        assert [t["kind"] for t in group["open_tasks"]] == ["update_bank_account", "report_visit"]
        assert group["open_task"] == group["open_tasks"][0]
        assert group["escalation_level"] == 2
    assert [
        g["group_id"] for g in (await http.get("/groups?overdue=true", headers=auditor)).json()["items"]
    ] == [GROUP]


async def test_a_step_replaces_the_groups_tasks(stack: Stack, http: httpx.AsyncClient) -> None:
    tasks = await write_group_with_two_tasks(stack.pool)
    both = stack.auth([Role.MENTOR, Role.FINANCE], officer="both-1")
    assert (await http.get("/tasks", headers=both)).json()["total"] == 2

    # The bank details are fixed: the next step's state holds the visit alone.
    assert await record(stack.pool, 2, tasks[:1])
    inbox = (await http.get("/tasks", headers=both)).json()
    assert inbox["total"] == 1 and kinds(inbox["items"]) == ["report_visit"]
    detail = (await http.get(f"/groups/{GROUP}", headers=both)).json()
    assert [t["kind"] for t in detail["open_tasks"]] == ["report_visit"]
    assert detail["open_task"]["kind"] == "report_visit"
    row = await stack.pool.fetchrow("SELECT task_kind, task_due_at FROM groups WHERE group_id = $1", GROUP)
    assert row["task_kind"] == "report_visit" and row["task_due_at"] == tasks[0].due_at

    # A retried step writes nothing; the last step closing every task empties the inbox.
    assert not await record(stack.pool, 2, tasks)
    assert (await http.get("/tasks", headers=both)).json()["total"] == 1
    assert await record(stack.pool, 3, [])
    assert (await http.get("/tasks", headers=both)).json()["total"] == 0
    listed = (await http.get("/groups", headers=both)).json()["items"]
    assert listed[0]["open_tasks"] == [] and listed[0]["open_task"] is None
    assert await stack.pool.fetchval("SELECT count(*) FROM group_tasks") == 0


async def test_claim_names_the_task(stack: Stack, http: httpx.AsyncClient) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    verifier = stack.auth(Role.VERIFIER, officer="verifier-2")
    claimed = await http.post(f"/tasks/{gid}/claim", params={"task": "verify"}, headers=verifier)
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["open_task"]["claimed_by"] == "verifier-2"
    assert [(t["kind"], t["claimed_by"]) for t in body["open_tasks"]] == [("verify", "verifier-2")]
    inbox = (await http.get("/tasks?claimed=me", headers=verifier)).json()["items"]
    assert [(i["group_id"], i["task"]["kind"]) for i in inbox] == [(gid, "verify")]

    unknown = await http.post(f"/tasks/{gid}/claim", params={"task": "no_such_task"}, headers=verifier)
    assert unknown.status_code == 422
    released = await http.post(
        f"/groups/{gid}/actions/claim", json={"release": True, "task": "verify"}, headers=verifier
    )
    assert released.status_code == 200, released.text
    assert released.json()["open_tasks"][0]["claimed_by"] is None
