"""Muster rolls and weekly wage runs (migrations/009_muster.sql): a group's weeks, and the wages
report per group and region. NIKs are read masked."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from api.queries.common import Db, Where, region_filter
from api.schemas.muster import (
    EvidenceOut,
    MusterEntryOut,
    WageLineOut,
    WageRegionOut,
    WageReportOut,
    WageReportRowOut,
    WeekOut,
    WeeksOut,
)
from jps.domain.models import Officer

_ROLL_COLUMNS = """week_starts_on, status, submitted_by, submitted_at, workers, workdays, worker_days,
    exceptions, struck, total, paid, owed, released, approved_by, authorized_by"""


async def weeks(db: Db, *, group_id: str, details: bool = True) -> WeeksOut:
    """The group's weeks, oldest first; with `details` each with its entries, evidence and lines."""
    rolls = await db.fetch(
        f"SELECT {_ROLL_COLUMNS} FROM muster_rolls WHERE group_id = $1 ORDER BY week_starts_on", group_id
    )
    entries: dict[object, list[MusterEntryOut]] = defaultdict(list)
    evidence: dict[object, list[EvidenceOut]] = defaultdict(list)
    lines: dict[object, list[WageLineOut]] = defaultdict(list)
    if details and rolls:
        for r in await db.fetch(
            """SELECT week_starts_on, nik_masked, work_date, hours, exception, decision, reason, claims
               FROM muster_entries WHERE group_id = $1 ORDER BY work_date, nik_masked""",
            group_id,
        ):
            entries[r["week_starts_on"]].append(
                MusterEntryOut(**{k: r[k] for k in r.keys() if k != "week_starts_on"})
            )
        for r in await db.fetch(
            """SELECT week_starts_on, work_date, file_id, sha256, lat, lon, captured_at, verdict, distance_m
               FROM muster_evidence WHERE group_id = $1 ORDER BY work_date, file_id""",
            group_id,
        ):
            evidence[r["week_starts_on"]].append(
                EvidenceOut(**{k: r[k] for k in r.keys() if k != "week_starts_on"})
            )
        for r in await db.fetch(
            """SELECT week_starts_on, nik_masked, role, days, hours, rate, amount, status, transfer_id, reason
               FROM wage_lines WHERE group_id = $1 ORDER BY member_no""",
            group_id,
        ):
            lines[r["week_starts_on"]].append(
                WageLineOut(**{k: r[k] for k in r.keys() if k != "week_starts_on"})
            )
    items = [
        WeekOut(
            **dict(r),
            entries=entries[r["week_starts_on"]],
            evidence=evidence[r["week_starts_on"]],
            lines=lines[r["week_starts_on"]],
        )
        for r in rolls
    ]
    return WeeksOut(group_id=group_id, items=items, total=len(items))


async def wage_report(db: Db, *, officer: Officer, region: str | None = None) -> WageReportOut:
    """Per Padat Karya group paid by muster rolls, and per regency: workdays planned and worked,
    wages paid and owed, exceptions and those struck (the officer's scope)."""
    where = Where()
    where.add("g.state ? 'wages'")
    where.add("jsonb_typeof(g.state->'wages') = 'object'")
    scope = region_filter(officer)
    if scope is not None:
        where.add("g.region_code LIKE ANY(?)", scope)
    if region is not None:
        where.add("g.region_code LIKE ?", f"{region}%")
    rows = await db.fetch(
        f"""SELECT g.group_id, g.name, g.region_code, g.stage,
                   (g.state->'wages'->>'planned_workdays')::int AS planned_workdays,
                   (g.state->'wages'->>'workdays_worked')::int AS workdays_worked,
                   coalesce(sum(r.paid), 0)::bigint AS wages_paid,
                   coalesce(sum(r.owed), 0)::bigint AS wages_owed,
                   coalesce(sum(r.exceptions), 0)::int AS exceptions,
                   coalesce(sum(r.struck), 0)::int AS exceptions_struck
            FROM groups g LEFT JOIN muster_rolls r ON r.group_id = g.group_id
            WHERE {where.sql}
            GROUP BY g.group_id ORDER BY g.region_code, g.group_id""",
        *where.params,
    )
    groups = [WageReportRowOut(**dict(r)) for r in rows]
    regions: dict[str, WageRegionOut] = {}
    for g in groups:
        reg = regions.setdefault(
            g.region_code,
            WageRegionOut(
                region_code=g.region_code,
                groups=0,
                planned_workdays=0,
                workdays_worked=0,
                wages_paid=0,
                wages_owed=0,
                exceptions=0,
                exceptions_struck=0,
            ),
        )
        reg.groups += 1
        reg.planned_workdays += g.planned_workdays
        reg.workdays_worked += g.workdays_worked
        reg.wages_paid += g.wages_paid
        reg.wages_owed += g.wages_owed
        reg.exceptions += g.exceptions
        reg.exceptions_struck += g.exceptions_struck
    return WageReportOut(groups=groups, regions=list(regions.values()))


async def member_names(db: Db, *, group_id: str) -> dict[str, str]:
    """Each member's masked NIK and name (the console's grid shows names beside masked NIKs)."""
    rows = await db.fetch("SELECT nik_masked, name FROM members WHERE group_id = $1", group_id)
    return {r["nik_masked"]: r["name"] for r in rows}


async def entry_niks(db: Db, *, group_id: str, week_starts_on: date) -> dict[tuple[str, date], str]:
    """The NIK behind each (masked NIK, day) of a week's roll: the console's review form names an
    entry as the page shows it (masked), the workflow needs the worker's NIK."""
    rows = await db.fetch(
        "SELECT nik, nik_masked, work_date FROM muster_entries WHERE group_id = $1 AND week_starts_on = $2",
        group_id,
        week_starts_on,
    )
    return {(r["nik_masked"], r["work_date"]): r["nik"] for r in rows}
