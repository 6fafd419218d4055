"""Grievances (pengaduan): the officers' listing and inbox, a case with its steps, a group's cases for
its timeline, and the open request for information an SMS reply answers. Rows written by the grievance
workflow's recording activity (`grievances`, `grievance_tasks`, `grievance_events`).

The officer a misconduct case is about never gets it from here: every read of an officer filters
`about_officer`, so the case is absent from the listing and its detail answers None (the API's 404)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from api.queries.common import Db, PageParams, Where, region_filter
from api.schemas.common import Page
from api.schemas.grievances import GrievanceEventOut, GrievanceItemOut, GrievanceOut, GrievanceTaskOut
from jps.domain.grievances import GRIEVANCE_ACTIONS, GrievanceCategory, GrievanceStatus
from jps.domain.models import Officer
from jps.domain.roles import Role, region_in_scope
from jps.domain.stages import EscalationLevel

_FIELDS = """g.grievance_id, g.category, g.channel, g.status, g.group_id, g.region_code, g.nik_masked,
             g.handler_role, g.filed_at, g.escalation_level, t.kind AS task_kind, t.roles AS task_roles,
             t.opened_at AS task_opened_at, t.due_at AS task_due_at, t.escalation_level AS task_level"""
_FROM = "grievances g LEFT JOIN grievance_tasks t ON t.grievance_id = g.grievance_id"
# Open tasks first, overdue and escalated first, then the earliest due; the newest cases after them.
_ORDER = """(t.due_at IS NULL), (t.due_at < now()) DESC, t.escalation_level DESC, t.due_at,
            g.filed_at DESC, g.grievance_id"""


def _task(r: Mapping[str, Any], now: datetime) -> GrievanceTaskOut | None:
    if r["task_kind"] is None:
        return None
    return GrievanceTaskOut(
        kind=r["task_kind"],
        roles=list(r["task_roles"] or []),
        opened_at=r["task_opened_at"],
        due_at=r["task_due_at"],
        escalation_level=r["task_level"],
        overdue=r["task_due_at"] < now,
    )


def _item(r: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "grievance_id": r["grievance_id"],
        "category": r["category"],
        "channel": r["channel"],
        "status": r["status"],
        "group_id": r["group_id"],
        "region_code": r["region_code"],
        "nik_masked": r["nik_masked"],
        "handler_role": r["handler_role"],
        "filed_at": r["filed_at"],
        "task": _task(r, now),
        "escalation_level": r["escalation_level"],
    }


def _visible(where: Where, officer: Officer) -> None:
    scope = region_filter(officer)
    if scope is not None:
        where.add("g.region_code LIKE ANY(?::text[])", scope)
    where.add("g.about_officer IS DISTINCT FROM ?", officer.id)


async def list_grievances(
    db: Db,
    *,
    officer: Officer,
    paging: PageParams,
    status: GrievanceStatus | None = None,
    category: GrievanceCategory | None = None,
    group_id: str | None = None,
    overdue: bool | None = None,
    mine: bool = False,
) -> Page[GrievanceItemOut]:
    """The cases in the officer's regions (never one about the officer); `mine`: only those with an
    open task for one of the officer's roles (a supervisor also every task escalated to the region's
    supervisor or further), the officer's grievance inbox."""
    where = Where()
    _visible(where, officer)
    if status is not None:
        where.add("g.status = ?", status.value)
    if category is not None:
        where.add("g.category = ?", category.value)
    if group_id is not None:
        where.add("g.group_id = ?", group_id)
    if overdue is True:
        where.add("t.due_at < now()")
    elif overdue is False:
        where.add("(t.due_at IS NULL OR t.due_at >= now())")
    if mine:
        roles = [r.value for r in officer.roles]
        if Role.SUPERVISOR in officer.roles:
            where.add(
                "t.grievance_id IS NOT NULL AND (t.roles && ?::text[] OR t.escalation_level >= ?)",
                roles,
                EscalationLevel.REGIONAL_SUPERVISOR,
            )
        else:
            where.add("t.roles && ?::text[]", roles)
    total = await db.fetchval(f"SELECT count(*) FROM {_FROM} WHERE {where.sql}", *where.params)
    rows = await db.fetch(
        f"SELECT {_FIELDS} FROM {_FROM} WHERE {where.sql} ORDER BY {_ORDER} "
        f"LIMIT {paging.size} OFFSET {paging.offset}",
        *where.params,
    )
    now = datetime.now(UTC)
    items = [GrievanceItemOut.model_validate(_item(r, now)) for r in rows]
    return Page[GrievanceItemOut](items=items, total=total, page=paging.page, size=paging.size)


async def get_grievance(db: Db, *, grievance_id: str, officer: Officer) -> GrievanceOut | None:
    """The case in full, or None when it does not exist, lies outside the officer's regions or is
    about the officer (the API answers 404 alike: which of them is nobody's business)."""
    row = await db.fetchrow(
        f"""SELECT {_FIELDS}, g.phone_masked, g.text, g.group_known, g.member_in_group, g.about_officer,
                   g.filed_by, g.transfer_id, g.bank, g.decision, g.reason, g.decided_at,
                   g.resolve_due_at, g.answer_due_at, g.reopened
              FROM {_FROM} WHERE g.grievance_id = $1""",
        grievance_id,
    )
    if (
        row is None
        or row["about_officer"] == officer.id
        or not region_in_scope(row["region_code"], officer.regions)
    ):
        return None
    events = await db.fetch(
        """SELECT seq, at, event, officer, text, details FROM grievance_events
            WHERE grievance_id = $1 ORDER BY seq""",
        grievance_id,
    )
    now = datetime.now(UTC)
    out = GrievanceOut.model_validate(
        {
            **_item(row, now),
            **{
                k: row[k]
                for k in (
                    "phone_masked",
                    "text",
                    "group_known",
                    "member_in_group",
                    "about_officer",
                    "filed_by",
                    "transfer_id",
                    "bank",
                    "decision",
                    "reason",
                    "decided_at",
                    "resolve_due_at",
                    "answer_due_at",
                    "reopened",
                )
            },
            "events": [GrievanceEventOut.model_validate(dict(e)) for e in events],
        }
    )
    out.actions = actions_for(out, officer)
    return out


def actions_for(case: GrievanceOut, officer: Officer) -> list[str]:
    """The steps the officer may take on the case now (the workflow's validators decide for good)."""
    roles = {r.value for r in officer.roles}
    found = []
    for name, spec in GRIEVANCE_ACTIONS.items():
        allowed = (
            {Role.SUPERVISOR.value} if spec.supervisor_only else {case.handler_role, Role.SUPERVISOR.value}
        )
        if roles & allowed and case.status in spec.statuses:
            found.append(name)
    return found


async def grievances_of_group(db: Db, *, group_id: str, officer: Officer | None) -> list[dict[str, Any]]:
    """The group's cases, each with its steps (the group's timeline); none about `officer`."""
    rows = await db.fetch(
        """SELECT e.grievance_id, e.seq, e.at, e.event, e.officer, g.category, g.status
             FROM grievance_events e JOIN grievances g ON g.grievance_id = e.grievance_id
            WHERE g.group_id = $1 AND g.about_officer IS DISTINCT FROM $2
            ORDER BY e.at, e.grievance_id, e.seq""",
        group_id,
        officer.id if officer else None,
    )
    return [dict(r) for r in rows]


async def asked_grievance(db: Db, *, phone_hash: str) -> str | None:
    """The case whose complainant, at this number, was last asked for information and has not answered."""
    value: str | None = await db.fetchval(
        """SELECT grievance_id FROM grievances WHERE status = 'info_requested' AND phone_hash = $1
            ORDER BY updated_at DESC LIMIT 1""",
        phone_hash,
    )
    return value
