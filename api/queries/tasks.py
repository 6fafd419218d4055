"""Tasks (tugas): the inbox, and the open tasks of the groups on a page. Each open task is a row of
`group_tasks`, replaced with the rest of the read model by every recorded step (`record_transition`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from api.queries.common import Db, PageParams, Where, region_filter
from api.schemas import InboxItemOut, Page, TaskOut, task_out
from jps.domain.models import Officer
from jps.domain.roles import Role
from jps.domain.stages import EscalationLevel, TaskKind

TASK_FIELDS = "t.kind, t.roles, t.opened_at, t.due_at, t.escalation_level, t.claimed_by, t.note"

# Overdue first, then the furthest escalated, then the earliest due; group and kind make it total.
_INBOX_ORDER = "(t.due_at < now()) DESC, t.escalation_level DESC, t.due_at, t.group_id, t.kind"


def task_of(row: Mapping[str, Any], now: datetime | None = None) -> TaskOut:
    """A `group_tasks` row (selected with `TASK_FIELDS`) as the API shows it."""
    out = task_out(
        {
            "kind": row["kind"],
            "roles": row["roles"] or [],
            "opened_at": row["opened_at"],
            "due_at": row["due_at"],
            "escalation_level": row["escalation_level"],
            "claimed_by": row["claimed_by"],
            "note": row["note"] or "",
        },
        now,
    )
    assert out is not None
    return out


async def inbox(
    db: Db,
    *,
    officer: Officer,
    paging: PageParams,
    kind: TaskKind | None = None,
    overdue: bool | None = None,
    claimed: str | None = None,
) -> Page[InboxItemOut]:
    """Each open task one of the officer's roles can act on, in the officer's regions (a supervisor
    also sees every task escalated to the region's supervisor or further); `claimed` is `me`,
    `nobody` or `others`."""
    where = Where()
    roles = [r.value for r in officer.roles]
    if Role.SUPERVISOR in officer.roles:
        where.add(
            "(t.roles && ?::text[] OR t.escalation_level >= ?)",
            roles,
            EscalationLevel.REGIONAL_SUPERVISOR,
        )
    else:
        where.add("t.roles && ?::text[]", roles)
    scope = region_filter(officer)
    if scope is not None:
        where.add("g.region_code LIKE ANY(?::text[])", scope)
    if kind:
        where.add("t.kind = ?", kind.value)
    if overdue is True:
        where.add("t.due_at < now()")
    elif overdue is False:
        where.add("t.due_at >= now()")
    if claimed == "me":
        where.add("t.claimed_by = ?", officer.id)
    elif claimed == "nobody":
        where.add("t.claimed_by IS NULL")
    elif claimed == "others":
        where.add("t.claimed_by <> ?", officer.id)
    joined = "group_tasks t JOIN groups g ON g.group_id = t.group_id"
    total = await db.fetchval(f"SELECT count(*) FROM {joined} WHERE {where.sql}", *where.params)
    rows = await db.fetch(
        f"""SELECT g.group_id, g.program, g.name, g.region_code, g.stage, g.member_count, {TASK_FIELDS}
              FROM {joined} WHERE {where.sql}
             ORDER BY {_INBOX_ORDER} LIMIT {paging.size} OFFSET {paging.offset}""",
        *where.params,
    )
    now = datetime.now(UTC)
    items = [
        InboxItemOut(
            group_id=r["group_id"],
            program=r["program"],
            name=r["name"],
            region_code=r["region_code"],
            stage=r["stage"],
            member_count=r["member_count"],
            task=task_of(r, now),
        )
        for r in rows
    ]
    return Page[InboxItemOut](items=items, total=total, page=paging.page, size=paging.size)


async def open_tasks_of(db: Db, *, group_ids: list[str]) -> dict[str, list[TaskOut]]:
    """The open tasks of each of these groups, the most urgent first (groups without any are absent)."""
    rows = await db.fetch(
        f"""SELECT t.group_id, {TASK_FIELDS} FROM group_tasks t WHERE t.group_id = ANY($1::text[])
             ORDER BY t.group_id, t.due_at, t.opened_at, t.kind""",
        group_ids,
    )
    now = datetime.now(UTC)
    found: dict[str, list[TaskOut]] = {}
    for r in rows:
        found.setdefault(r["group_id"], []).append(task_of(r, now))
    return found


async def groups_waiting_on(
    db: Db, *, kinds: tuple[TaskKind, ...], program: str | None, region_code: str | None
) -> list[str]:
    """The groups with an open task of one of `kinds`, in `program` (None: any) and under
    `region_code` (a province or regency prefix; None: anywhere)."""
    rows = await db.fetch(
        """SELECT DISTINCT g.group_id FROM group_tasks t JOIN groups g ON g.group_id = t.group_id
            WHERE t.kind = ANY($1::text[])
              AND ($2::text IS NULL OR g.program = $2) AND ($3::text IS NULL OR g.region_code LIKE $3 || '%')
            ORDER BY g.group_id""",
        [k.value for k in kinds],
        program,
        region_code,
    )
    return [r["group_id"] for r in rows]
