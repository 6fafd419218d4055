"""Muster rolls in PostgreSQL (migrations/009_muster.sql): the `record_muster` activity, and what a
recorded step writes of a week (`write_wage_weeks`, `free_cancelled_days`, called by
`record_transition` in its own transaction). A paid batch's draw on the wage bill's reservation is the
ledger's (`activities.ledger.draw_reservation`).

A cancelled group's entries give their workers' days back (`free_cancelled_days`, in the transaction
that records the cancel): none of them was paid, and another group's roll may count those days.

`record_muster` checks a roll against its evidence (each file uploaded to this group as a worksite
photo, an image, taken on the day and within the worksite's radius) and the other rolls (a worker's
day held by another roll, of any group: the partial unique index `muster_one_roll_per_worker_day`),
then writes it in one transaction; a refusal (the field, why) writes nothing. A retried activity
finds its roll by its key and answers what it found the first time.

The activity runs as a local activity first (patch local-rolls-v1): it commits inside the workflow
task of the `submit-muster` update, before Temporal has that task's outcome. A task that times out is
tried again with what arrived meanwhile, and the update may then be taken at another seq, so under
another key (`{group}:{seq}:{run}`): a roll of the week under another key of the same run, submitted
earlier, is that unfinished task's, which the workflow never heard of (it refuses a week it knows
before asking here); it is replaced (`_replace_unfinished`). One submitted later is the replacement's
own, and the unfinished task's attempt, arriving late, is refused (nobody hears it). Before, the roll
of the unfinished task stood and the week's retried roll was refused as submitted already, for good.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from jps.contracts.refusals import ErrorType
from jps.contracts.wages import (
    MusterException,
    MusterRequest,
    MusterResult,
    WageWeekRecord,
    WorkerWeek,
)
from jps.domain.calendar import local_date
from jps.domain.nik import mask_nik
from jps.domain.wages import distance_m

log = structlog.get_logger()

IMAGES = ("image/jpeg", "image/png")


class MusterActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="record_muster")
    async def record_muster(self, req: MusterRequest) -> MusterResult:
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchrow(
                """SELECT roll_key, submitted_at, result FROM muster_rolls
                   WHERE group_id = $1 AND week_starts_on = $2 FOR UPDATE""",
                req.group_id,
                req.week_starts_on,
            )
            if existing is not None:
                if existing["roll_key"] == req.roll_key:  # a retry: the roll is written already
                    return MusterResult.model_validate_json(existing["result"])
                if not _of_an_unfinished_task(existing, req):
                    return MusterResult(refusal="week_starts_on: the roll of this week was already submitted")
                await _replace_unfinished(conn, req, existing["roll_key"])
            files, refusal = await _evidence(conn, req)
            if refusal:
                return MusterResult(refusal=refusal)
            taken = await _days_taken(conn, req)
            if taken:
                return MusterResult(refusal=taken, conflict=True)
            result, verdicts = judge(req, files)
            try:
                await _write(conn, req, result, verdicts)
            except (asyncpg.DataError, asyncpg.CheckViolationError) as err:
                # Refused now, refused on every retry: fail fast (the step refuses, nothing written).
                raise ApplicationError(
                    f"data refused by the database: {err}", type=ErrorType.INVALID_DATA, non_retryable=True
                ) from None
        log.info(
            "muster_recorded",
            group_id=req.group_id,
            week_starts_on=req.week_starts_on.isoformat(),
            entries=len(req.entries),
            exceptions=len(result.exceptions),
        )
        return result


def _of_an_unfinished_task(existing: asyncpg.Record, req: MusterRequest) -> bool:
    """Whether the week's roll was written by a workflow task of this run that never completed,
    before this submission (the module's docstring)."""
    run = req.roll_key.rsplit(":", 1)[-1]
    same_run = str(existing["roll_key"]).rsplit(":", 1)[-1] == run
    return bool(run) and same_run and existing["submitted_at"] < req.submitted_at


async def _replace_unfinished(conn: asyncpg.Connection, req: MusterRequest, key: str) -> None:
    """Remove the unfinished task's roll of the week (and what its steps wrote of it), in the
    transaction that writes this one: its workers' days are this roll's to claim."""
    for table in ("wage_lines", "muster_evidence", "muster_entries", "muster_rolls"):
        await conn.execute(
            f"DELETE FROM {table} WHERE group_id = $1 AND week_starts_on = $2",  # the names above
            req.group_id,
            req.week_starts_on,
        )
    log.warning(
        "roll_replaces_an_unfinished_task",
        group_id=req.group_id,
        week_starts_on=req.week_starts_on.isoformat(),
        roll_key=req.roll_key,
        replaced=key,
    )


async def _evidence(conn: asyncpg.Connection, req: MusterRequest) -> tuple[dict[str, asyncpg.Record], str]:
    ids = [fid for ev in req.evidence for fid in ev.file_ids]
    rows = await conn.fetch(
        """SELECT file_id, group_id, sha256, content_type, purpose, lat, lon, captured_at
           FROM files WHERE file_id = ANY($1::text[])""",
        ids,
    )
    files = {r["file_id"]: r for r in rows}
    for i, ev in enumerate(req.evidence):
        for j, fid in enumerate(ev.file_ids):
            f = files.get(fid)
            where = f"evidence.{i}.file_ids.{j}"
            if f is None or f["group_id"] != req.group_id:
                return files, f"{where}: {fid} is not a file uploaded to this group"
            if f["content_type"] not in IMAGES:
                return files, f"{where}: {fid} is not an image ({f['content_type']})"
            if f["purpose"] != "worksite_photo":
                return files, f"{where}: {fid} was uploaded as a {f['purpose']}, not a worksite photo"
    return files, ""


async def _days_taken(conn: asyncpg.Connection, req: MusterRequest) -> str:
    """The first entry whose worker's day another roll already holds, named; "" when none."""
    members = set(req.members)
    claiming = [(i, e) for i, e in enumerate(req.entries) if e.nik in members]
    if not claiming:
        return ""
    rows = await conn.fetch(
        """SELECT nik, work_date, group_id FROM muster_entries
           WHERE claims AND (nik, work_date) IN (SELECT * FROM unnest($1::text[], $2::date[]))""",
        [e.nik for _, e in claiming],
        [e.date for _, e in claiming],
    )
    held = {(r["nik"], r["work_date"]): r["group_id"] for r in rows}
    for i, e in claiming:
        other = held.get((e.nik, e.date))
        if other is not None:
            return (
                f"entries.{i}: {mask_nik(e.nik)} is already on the roll of group {other} "
                f"for {e.date.isoformat()}"
            )
    return ""


def judge(req: MusterRequest, files: dict[str, Any]) -> tuple[MusterResult, list[tuple[Any, ...]]]:
    """Which days the evidence covers and which entries are exceptions. Pure but for its input."""
    site = req.worksite
    verdicts: list[tuple[Any, ...]] = []
    covered: dict[date, str] = {}  # day -> "ok" | "outside_radius"
    for ev in req.evidence:
        counted, outside = 0, False
        for fid in ev.file_ids:
            f = files[fid]
            dist: int | None = None
            if f["lat"] is None or f["lon"] is None or f["captured_at"] is None:
                verdict = "no_location"
            elif local_date(f["captured_at"]) != ev.date:
                verdict = "other_day"
            else:
                dist = round(distance_m(site.lat, site.lon, f["lat"], f["lon"]))
                verdict = "counted" if dist <= site.radius_m else "outside_radius"
            counted += verdict == "counted"
            outside = outside or verdict == "outside_radius"
            verdicts.append((ev.date, fid, f["sha256"], f["lat"], f["lon"], f["captured_at"], verdict, dist))
        covered[ev.date] = "ok" if counted >= req.photos_per_day else ("outside_radius" if outside else "")
    members = set(req.members)
    worked: dict[str, WorkerWeek] = {}
    clean_days: set[date] = set()
    exceptions: list[MusterException] = []
    for e in req.entries:
        day = covered.get(e.date, "")
        if e.nik not in members:
            exceptions.append(MusterException(nik=e.nik, date=e.date, hours=e.hours, kind="not_member"))
        elif day != "ok":
            kind = "outside_radius" if day == "outside_radius" else "no_evidence"
            exceptions.append(MusterException(nik=e.nik, date=e.date, hours=e.hours, kind=kind))
        else:
            w = worked.setdefault(e.nik, WorkerWeek(nik=e.nik))
            w.days += 1
            w.hours += e.hours
            clean_days.add(e.date)
    result = MusterResult(
        worked=[worked[n] for n in sorted(worked)],
        clean_days=sorted(clean_days),
        exceptions=sorted(exceptions, key=lambda x: (x.date, x.nik)),
    )
    return result, verdicts


async def _write(
    conn: asyncpg.Connection, req: MusterRequest, result: MusterResult, verdicts: list[tuple[Any, ...]]
) -> None:
    await conn.execute(
        """INSERT INTO muster_rolls (group_id, week_starts_on, program, region_code, roll_key, submitted_by,
                                     submitted_at, status, exceptions, result)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'in_review', $8, $9::jsonb)""",
        req.group_id,
        req.week_starts_on,
        req.program,
        req.region_code,
        req.roll_key,
        req.submitted_by,
        req.submitted_at,
        len(result.exceptions),
        result.model_dump_json(),
    )
    kinds = {(x.nik, x.date): x.kind for x in result.exceptions}
    members = set(req.members)
    await conn.executemany(
        """INSERT INTO muster_entries (group_id, week_starts_on, nik, nik_masked, work_date, hours, exception,
                                       claims)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [
            (
                req.group_id,
                req.week_starts_on,
                e.nik,
                mask_nik(e.nik),
                e.date,
                e.hours,
                kinds.get((e.nik, e.date)),
                e.nik in members,
            )
            for e in req.entries
        ],
    )
    if verdicts:
        await conn.executemany(
            """INSERT INTO muster_evidence (group_id, week_starts_on, work_date, file_id, sha256, lat, lon,
                                            captured_at, verdict, distance_m)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
            [(req.group_id, req.week_starts_on, *v) for v in verdicts],
        )


# ---- written by record_transition, in the step's transaction ----


async def write_wage_weeks(conn: asyncpg.Connection, group_id: str, weeks: list[WageWeekRecord]) -> None:
    """A week's roll status and figures, its exceptions' decisions and its wage lines."""
    for w in weeks:
        t = w.totals
        await conn.execute(
            """UPDATE muster_rolls SET status = $3, workers = $4, workdays = $5, worker_days = $6,
                   exceptions = $7, struck = $8, total = $9, paid = $10, owed = $11, released = $12,
                   approved_by = $13, authorized_by = $14, updated_at = now()
               WHERE group_id = $1 AND week_starts_on = $2""",
            group_id,
            w.week_starts_on,
            t.status,
            t.workers,
            t.workdays,
            t.worker_days,
            t.exceptions,
            t.struck,
            t.total,
            t.paid,
            t.owed,
            t.released,
            w.approved_by,
            w.authorized_by,
        )
        decided = [x for x in w.exceptions if x.decision is not None]
        if decided:
            await conn.executemany(
                """UPDATE muster_entries SET decision = $4, reason = $5, decided_by = $6,
                       claims = claims AND $4 = 'accepted'
                   WHERE group_id = $1 AND nik = $2 AND work_date = $3""",
                [(group_id, x.nik, x.date, x.decision, x.reason, x.decided_by) for x in decided],
            )
        if w.lines:
            await conn.executemany(
                """INSERT INTO wage_lines (group_id, week_starts_on, nik, nik_masked, member_no, role, days,
                                           hours, rate, amount, status, transfer_id, tries, reason)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                   ON CONFLICT (group_id, week_starts_on, nik) DO UPDATE SET
                       status = EXCLUDED.status, transfer_id = EXCLUDED.transfer_id,
                       tries = EXCLUDED.tries, reason = EXCLUDED.reason""",
                [
                    (
                        group_id,
                        w.week_starts_on,
                        ln.nik,
                        mask_nik(ln.nik),
                        ln.member_no,
                        ln.role.value,
                        ln.days,
                        ln.hours,
                        ln.rate,
                        ln.amount,
                        ln.status,
                        ln.transfer_id,
                        ln.tries,
                        ln.reason,
                    )
                    for ln in w.lines
                ],
            )


async def free_cancelled_days(conn: asyncpg.Connection, group_id: str) -> int:
    """The group is cancelled: its roll entries stop holding their workers' days (the partial unique
    index `muster_one_roll_per_worker_day` counts an entry while `claims`), so that another group's
    roll can count them. A group is cancelled only until its first wage is paid; an entry whose wage
    was paid (or is with the bank) would keep its day all the same. Returns how many were freed."""
    status = await conn.execute(
        """UPDATE muster_entries e SET claims = false
           WHERE e.group_id = $1 AND e.claims
             AND NOT EXISTS (SELECT 1 FROM wage_lines w
                             WHERE w.group_id = e.group_id AND w.week_starts_on = e.week_starts_on
                               AND w.nik = e.nik AND w.status IN ('paid', 'pending'))""",
        group_id,
    )
    freed = int(status.rsplit(" ", 1)[-1])
    if freed:
        log.info("muster_days_freed", group_id=group_id, entries=freed)
    return freed
