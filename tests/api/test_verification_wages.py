"""Padat Karya's weekly wages (issue 13's muster rolls) as the beneficiary's side sees them, on rows
inserted straight into the read model: the status lookup shows each worker their own wage of each
week (several payments per member, by the wage line, never by position), and the day's verification
draw asks a worker about their own wage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx

from activities.verification import VerificationActivities
from jps.contracts.verification import DrawRequest
from jps.domain.nik import Gender, make_nik
from tests.api.conftest import Stack

GID = "PK-3171-WAGESWAGES"
WEEK1, WEEK2 = date(2020, 10, 5), date(2020, 10, 12)
PAID_AT = datetime(2020, 10, 10, 3, 0, tzinfo=UTC)  # Saturday 10 October, 10:00 WIB
NIKS = [make_nik("3171", "01", date(1985, 1, 1 + i), Gender.MALE, 7000 + i) for i in range(3)]


async def insert(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO groups (group_id, program, name, region_code, stage, member_count,
                                   requested_amount, submitted_by, submitted_at, updated_at, state,
                                   task_kind, task_due_at)
               VALUES ($1, 'padat_karya', 'Kelompok Saluran Desa', '3171', 'disbursement', 3, 20000000,
                       'registrar-1', $2, $2, '{}', 'submit_muster', $3)""",
            GID,
            PAID_AT,
            PAID_AT + timedelta(days=9),
        )
        for n, nik in enumerate(NIKS):
            await conn.execute(
                """INSERT INTO members (group_id, member_no, nik, nik_masked, name, phone, is_leader,
                                        bank_code, account_no, active)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, '002', $8, true)""",
                GID,
                n,
                nik,
                nik[:4] + "********" + nik[-4:],
                f"Pekerja {n}",
                f"+62813000000{n}",
                n == 0,
                f"55000000{n}{n}",
            )
        for week in (WEEK1, WEEK2):
            await conn.execute(
                """INSERT INTO muster_rolls (group_id, week_starts_on, program, region_code, roll_key,
                                             submitted_by, submitted_at, status, result)
                   VALUES ($1, $2, 'padat_karya', '3171', $3, 'mentor-1', $4, 'settled', '{}')""",
                GID,
                week,
                f"roll-{week}",
                PAID_AT,
            )
        # Worker 0 paid both weeks (the second still pending), worker 1 the first week, worker 2 nothing.
        wages = [(0, WEEK1, 525_000, "paid"), (0, WEEK2, 420_000, "pending"), (1, WEEK1, 315_000, "paid")]
        for n, week, amount, status in wages:
            transfer = f"{GID}-W{week:%Y%m%d}-{n:02d}"
            await conn.execute(
                """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt,
                                         beneficiary, bank_code, account_no, amount, status, settled_at)
                   VALUES ($1, $1, $2, $3, 1, $4, '002', $5, $6, $7, $8)""",
                transfer,
                GID,
                f"{GID}-W{week:%Y%m%d}",
                f"Pekerja {n}",
                f"55000000{n}{n}",
                amount,
                status,
                PAID_AT if status == "paid" else None,
            )
            await conn.execute(
                """INSERT INTO wage_lines (group_id, week_starts_on, nik, nik_masked, member_no, role, days,
                                           hours, rate, amount, status, transfer_id)
                   VALUES ($1, $2, $3, $4, $5, 'worker', 5, 40, 105000, $6, $7, $8)""",
                GID,
                week,
                NIKS[n],
                NIKS[n][:4] + "********" + NIKS[n][-4:],
                n,
                amount,
                status,
                transfer,
            )


async def test_each_worker_sees_their_own_wages_week_by_week(stack: Stack, http: httpx.AsyncClient) -> None:
    await insert(stack.pool)

    async def wages(nik: str) -> list[tuple[str, int, str, bool]]:
        resp = await http.get("/public/status", params={"group_id": GID, "nik": nik})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["next_step_code"] == "submit_muster" and body["due_at"]
        return [
            (p["week_starts_on"], p["amount"], p["status"], p["paid_at"] is not None)
            for p in body["payments"]
        ]

    assert await wages(NIKS[0]) == [
        ("2020-10-05", 525_000, "paid", True),
        ("2020-10-12", 420_000, "pending", False),
    ]
    assert await wages(NIKS[1]) == [("2020-10-05", 315_000, "paid", True)]
    assert await wages(NIKS[2]) == []


async def test_the_day_s_draw_asks_each_paid_worker_about_their_own_wage(stack: Stack) -> None:
    await insert(stack.pool)
    drawn = await VerificationActivities(stack.pool).draw_verification_sample(
        DrawRequest(day=date(2020, 10, 10), seed=5)
    )
    # Two wages settled that day (the pending one is not a settled payment); one group: at least one
    # worker, and the quota of a regency-month of 2 people (n = 2) asks both.
    assert drawn.units == 2 and not drawn.already_drawn
    rows = await stack.pool.fetch(
        "SELECT transfer_id, member_no, amount, status FROM verification_samples ORDER BY member_no"
    )
    assert [(r["member_no"], r["amount"], r["status"]) for r in rows] == [
        (0, 525_000, "drawn"),
        (1, 315_000, "drawn"),
    ]
    assert all(r["transfer_id"].endswith(f"-{r['member_no']:02d}") for r in rows)
    again = await VerificationActivities(stack.pool).draw_verification_sample(
        DrawRequest(day=date(2020, 10, 10), seed=6)
    )
    assert again.already_drawn and [s.sample_id for s in again.samples] == [
        s.sample_id for s in drawn.samples
    ]
