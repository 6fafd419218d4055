"""The muster roll's activity against real PostgreSQL (activities/muster.py): a roll is judged by its
photos (taken that day, within the radius), written once (a retry answers the same), refused whole
for a file that is not an image, and for a worker's day another group's roll holds (the unique index,
named as the entry); a struck entry frees the day; a wage batch's draw moves money once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from activities.db import ReadModelActivities
from activities.ledger import draw_reservation, settle_reservation
from activities.muster import MusterActivities
from infra.ledger import set_allocation
from jps.contracts.activities import BudgetSettlement
from jps.contracts.wages import BudgetDraw, MusterException, MusterRequest, WageWeekRecord
from jps.domain.calendar import WIB
from jps.domain.muster import DayEvidence, MusterEntry
from jps.domain.programs import Program
from jps.domain.wages import WeekTotals, Worksite
from tests import factories
from tests.activities.records import step

SITE = Worksite(lat=-6.2, lon=106.85, radius_m=200)
MONDAY = date(2020, 10, 5)
TUESDAY = date(2020, 10, 6)


async def group(db: asyncpg.Pool, gid: str) -> list[str]:
    p = factories.proposal(Program.PADAT_KARYA, size=10)
    await ReadModelActivities(db).record_transition(step(gid, 1, proposal=p))
    return [m.nik for m in p.members]


async def photo(
    db: asyncpg.Pool, gid: str, fid: str, day: date, *, lat: float = SITE.lat, kind: str = "image/jpeg"
) -> None:
    await db.execute(
        """INSERT INTO files (file_id, group_id, sha256, size, content_type, purpose, lat, lon, captured_at,
                              uploaded_by, uploaded_at)
           VALUES ($1, $2, $3, 100, $4, 'worksite_photo', $5, $6, $7, 'mentor-1', now())""",
        fid,
        gid,
        "a" * 64,
        kind,
        lat,
        SITE.lon,
        datetime.combine(day, time(9), tzinfo=WIB),
    )


def roll(
    gid: str,
    members: list[str],
    entries: list[tuple[str, date]],
    evidence: dict[date, list[str]],
    key: str = "k1",
) -> MusterRequest:
    return MusterRequest(
        group_id=gid,
        program="padat_karya",
        region_code="3171",
        week_starts_on=MONDAY,
        roll_key=key,
        submitted_by="mentor-1",
        submitted_at=datetime.now(UTC),
        worksite=SITE,
        members=members,
        entries=[MusterEntry(nik=n, date=d, hours=8) for n, d in entries],
        evidence=[DayEvidence(date=d, file_ids=ids) for d, ids in evidence.items()],
    )


def fid(n: int) -> str:
    return f"F-{n:026d}"


async def test_a_roll_is_judged_by_its_photos_and_written_once(db: asyncpg.Pool) -> None:
    gid = "PK-3171-MUSTER0001"
    m = await group(db, gid)
    await photo(db, gid, fid(1), MONDAY)
    await photo(db, gid, fid(2), TUESDAY, lat=-6.21)  # about 1.1 km away
    req = roll(
        gid,
        m,
        [(m[0], MONDAY), (m[1], MONDAY), (m[0], TUESDAY), ("3171019999990001", MONDAY)],
        {MONDAY: [fid(1)], TUESDAY: [fid(2)]},
    )
    acts = MusterActivities(db)
    result = await acts.record_muster(req)
    assert not result.refusal
    assert {(w.nik, w.days) for w in result.worked} == {(m[0], 1), (m[1], 1)}
    assert sorted((e.kind, e.date) for e in result.exceptions) == [
        ("not_member", MONDAY),
        ("outside_radius", TUESDAY),
    ]
    assert await acts.record_muster(req) == result  # a retry answers the same, writes nothing more
    assert await db.fetchval("SELECT count(*) FROM muster_entries WHERE group_id = $1", gid) == 4
    verdicts = dict(await db.fetch("SELECT file_id, verdict FROM muster_evidence WHERE group_id = $1", gid))
    assert verdicts == {fid(1): "counted", fid(2): "outside_radius"}
    again = await acts.record_muster(roll(gid, m, [(m[2], MONDAY)], {}, key="k2"))
    assert again.refusal == "week_starts_on: the roll of this week was already submitted"


async def test_the_roll_of_a_workflow_task_that_never_completed_gives_way_to_its_retry(
    db: asyncpg.Pool,
) -> None:
    """The roll is written by a local activity inside the `submit-muster` update's workflow task. That
    task timed out after the write; its retry took another step first and asked for the same roll
    under the next seq's key: it is written in place of the unfinished task's, which the workflow
    never heard of (before, it was refused as submitted already, and the week could never be paid).
    The unfinished task's own attempt arriving after it is refused."""
    gid = "PK-3171-MUSTER0003"
    m = await group(db, gid)
    await photo(db, gid, fid(5), MONDAY)
    entries = [(m[0], MONDAY), (m[1], MONDAY)]
    first = roll(gid, m, entries, {MONDAY: [fid(5)]}, key=f"{gid}:8:the-run")
    acts = MusterActivities(db)
    written = await acts.record_muster(first)
    assert not written.refusal
    retried = first.model_copy(
        update={"roll_key": f"{gid}:9:the-run", "submitted_at": first.submitted_at + timedelta(seconds=20)}
    )
    assert await acts.record_muster(retried) == written
    assert await db.fetchval("SELECT roll_key FROM muster_rolls WHERE group_id = $1", gid) == retried.roll_key
    assert await db.fetchval("SELECT count(*) FROM muster_entries WHERE group_id = $1", gid) == 2
    assert await db.fetchval("SELECT count(*) FROM muster_evidence WHERE group_id = $1", gid) == 1
    late = await acts.record_muster(first)
    assert late.refusal == "week_starts_on: the roll of this week was already submitted"
    assert await acts.record_muster(retried) == written  # the retry's own retry: the same answer
    # Another run's roll of the week (a reset, a continue-as-new) is never replaced.
    other = retried.model_copy(
        update={
            "roll_key": f"{gid}:3:another-run",
            "submitted_at": retried.submitted_at + timedelta(minutes=1),
        }
    )
    assert (await acts.record_muster(other)).refusal == late.refusal


async def test_a_file_not_an_image_or_a_day_held_elsewhere_refuses_the_whole_roll(db: asyncpg.Pool) -> None:
    a, b = "PK-3171-MUSTERAAAA", "PK-3171-MUSTERBBBB"
    ma, mb = await group(db, a), await group(db, b)
    await photo(db, a, fid(3), MONDAY, kind="application/pdf")
    acts = MusterActivities(db)
    refused = await acts.record_muster(roll(a, ma, [(ma[0], MONDAY)], {MONDAY: [fid(3)]}))
    assert refused.refusal == f"evidence.0.file_ids.0: {fid(3)} is not an image (application/pdf)"
    assert await db.fetchval("SELECT count(*) FROM muster_rolls") == 0
    assert not (await acts.record_muster(roll(a, ma, [(ma[0], MONDAY)], {}))).refusal
    # The same person on another group's roll for the same day (the person moved groups).
    held = await acts.record_muster(roll(b, [*mb, ma[0]], [(mb[0], MONDAY), (ma[0], MONDAY)], {}))
    assert held.conflict and held.refusal.startswith(f"entries.1: {ma[0][:4]}") and a in held.refusal
    assert await db.fetchval("SELECT count(*) FROM muster_rolls WHERE group_id = $1", b) == 0
    # Struck on the first roll, the day is free again.
    struck = MusterException(
        nik=ma[0],
        date=MONDAY,
        hours=8,
        kind="no_evidence",
        decision="struck",
        reason="not seen",
        decided_by="supervisor-1",
    )
    from activities.muster import write_wage_weeks

    async with db.acquire() as conn:
        await write_wage_weeks(
            conn,
            a,
            [
                WageWeekRecord(
                    week_starts_on=MONDAY,
                    totals=WeekTotals(week_starts_on=MONDAY, status="settled"),
                    exceptions=[struck],
                )
            ],
        )
    assert not (await acts.record_muster(roll(b, [*mb, ma[0]], [(ma[0], MONDAY)], {}, key="k3"))).refusal


async def test_draws_move_money_once_and_the_settlement_releases_what_was_never_drawn(
    db: asyncpg.Pool,
) -> None:
    gid = "PK-3171-MUSTERDRAW"
    await group(db, gid)
    await set_allocation(db, "padat_karya", "31", 50_000_000)
    await db.execute(
        """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code, amount, status)
           VALUES ($1, $2, 'padat_karya', '31', 10000000, 'reserved')""",
        f"{gid}:0",
        gid,
    )
    await db.execute("UPDATE budget_allocations SET reserved = 10000000 WHERE program = 'padat_karya'")
    async with db.acquire() as conn:
        for _ in range(2):  # a re-executed step draws nothing twice
            await draw_reservation(
                conn, BudgetDraw(reservation_id=f"{gid}:0", draw_id="w1", amount=1_500_000)
            )
        await draw_reservation(conn, BudgetDraw(reservation_id=f"{gid}:0", draw_id="w2", amount=700_000))
        await settle_reservation(conn, BudgetSettlement(reservation_id=f"{gid}:0", paid_amount=0))
    res = await db.fetchrow(
        "SELECT drawn, status FROM budget_reservations WHERE reservation_id = $1", f"{gid}:0"
    )
    alloc = await db.fetchrow("SELECT reserved, spent FROM budget_allocations WHERE program = 'padat_karya'")
    assert (res["drawn"], res["status"]) == (2_200_000, "settled")
    assert (alloc["reserved"], alloc["spent"]) == (0, 2_200_000)
