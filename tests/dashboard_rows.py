"""A small, hand-computed data set for the managers' reports, inserted straight into the read model
(the tables the lifecycle's `record_transition` writes): nine groups in three provinces, their stage
transitions, an overdue task, payments, allocations and settled reservations, LPJs in every state and
two receivables. The API and browser tests compare the reports with the figures below.

  group  prog  region stage          paid        LPJ                         receivable
  G1     tkm   3171   mentoring      10,000,000  accepted, 10,000,000        -
  G2     tkm   3171   recovery       10,000,000  overdue (due 2020-11-01)    10M: 3M repaid, 2M written off
  G3     tkm   3273   mentoring       8,000,000  due in 30 days              -
  G4     tkm   3273   mentoring      12,000,000  accepted short, 9,000,000   3M: repaid, settled
  G5     tkm   3273   mentoring      10,000,000  due 10 days ago             -
  G6     pk    3171   mentoring      20,000,000  (Padat Karya: none owed)    -
  G7     tkm   3171   verification   -           -                           -   (verify task overdue)
  G8     pk    3273   training       -           -                           -
  G9     tkm   1101   mentoring       5,000,000  due in 30 days              -
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg

from jps.domain.calendar import WIB, local_date

M = 1_000_000


def wib(day: str) -> datetime:
    """Midnight at the start of `day` in Jakarta."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=WIB)


@dataclass
class Row:
    gid: str
    program: str
    region: str
    stages: list[tuple[str, str]]  # (stage, day it was entered)
    paid: list[int] = field(default_factory=list)
    paid_on: str = "2020-09-12"


GROUPS = [
    Row(
        "G1",
        "tkm",
        "3171",
        [
            ("verification", "2020-09-01"),
            ("training", "2020-09-05"),
            ("disbursement", "2020-09-10"),
            ("mentoring", "2020-09-12"),
        ],
        [10 * M],
    ),
    Row(
        "G2",
        "tkm",
        "3171",
        [
            ("verification", "2020-09-01"),
            ("training", "2020-09-03"),
            ("disbursement", "2020-09-06"),
            ("mentoring", "2020-09-08"),
            ("recovery", "2020-11-15"),
        ],
        [10 * M],
        "2020-09-08",
    ),
    Row(
        "G3",
        "tkm",
        "3273",
        [
            ("verification", "2020-09-02"),
            ("training", "2020-09-04"),
            ("disbursement", "2020-09-08"),
            ("mentoring", "2020-09-09"),
        ],
        [8 * M],
        "2020-09-09",
    ),
    Row(
        "G4",
        "tkm",
        "3273",
        [
            ("verification", "2020-09-02"),
            ("training", "2020-09-10"),
            ("disbursement", "2020-09-12"),
            ("mentoring", "2020-09-14"),
        ],
        [12 * M],
        "2020-09-14",
    ),
    Row(
        "G5",
        "tkm",
        "3273",
        [
            ("verification", "2020-09-02"),
            ("training", "2020-09-06"),
            ("disbursement", "2020-09-07"),
            ("mentoring", "2020-09-08"),
        ],
        [10 * M],
        "2020-09-08",
    ),
    Row(
        "G6",
        "padat_karya",
        "3171",
        [
            ("verification", "2020-09-01"),
            ("training", "2020-09-02"),
            ("disbursement", "2020-09-04"),
            ("mentoring", "2020-09-05"),
        ],
        [10 * M, 10 * M],
        "2020-09-05",
    ),
    Row("G7", "tkm", "3171", [("verification", "2020-09-01")]),
    Row("G8", "padat_karya", "3273", [("verification", "2020-09-01"), ("training", "2020-09-05")]),
    Row(
        "G9",
        "tkm",
        "1101",
        [
            ("verification", "2020-09-01"),
            ("training", "2020-09-02"),
            ("disbursement", "2020-09-03"),
            ("mentoring", "2020-09-04"),
        ],
        [5 * M],
        "2020-09-04",
    ),
]

# (program, allocation region): amount, reserved, and which groups' settled reservations drew on it
ALLOCATIONS = {
    ("tkm", "31"): (100 * M, 0, ["G1", "G2"]),
    ("tkm", "32"): (200 * M, 5 * M, ["G3", "G4", "G5"]),
    ("padat_karya", "31"): (50 * M, 0, ["G6"]),
    ("padat_karya", "32"): (50 * M, 0, []),
    ("tkm", "11"): (10 * M, 0, ["G9"]),
}


def today() -> date:
    return local_date(datetime.now(UTC))


def stage_at(row: Row, cutoff: datetime) -> str | None:
    """The stage a group was in just before `cutoff`: its last transition before it."""
    entered = [stage for stage, day in row.stages if wib(day) < cutoff]
    return entered[-1] if entered else None


async def insert(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    by_id = {r.gid: r for r in GROUPS}
    async with pool.acquire() as conn, conn.transaction():
        for r in GROUPS:
            paid = sum(r.paid)
            await conn.execute(
                """INSERT INTO groups (group_id, program, name, region_code, stage, member_count,
                       requested_amount, approved_amount, paid_amount, submitted_by, submitted_at,
                       updated_at, paid_at, last_seq, state)
                   VALUES ($1, $2, $3, $4, $5, 20, $6, $7, $8, 'registrar-1', $9, $9, $10, $11, '{}')""",
                r.gid,
                r.program,
                f"Kelompok {r.gid}",
                r.region,
                r.stages[-1][0],
                max(paid, 10 * M),
                paid or None,
                paid,
                wib(r.stages[0][1]),
                wib(r.paid_on) if paid else None,
                len(r.stages),
            )
            previous = None
            for seq, (stage, day) in enumerate(r.stages, start=1):
                await conn.execute(
                    """INSERT INTO stage_transitions (group_id, seq, from_stage, to_stage, at)
                       VALUES ($1, $2, $3, $4, $5)""",
                    r.gid,
                    seq,
                    previous,
                    stage,
                    wib(day),
                )
                previous = stage
            for n, amount in enumerate(r.paid, start=1):
                await conn.execute(
                    """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt,
                           beneficiary, bank_code, account_no, amount, status, instructed_at, settled_at)
                       VALUES ($1, $1, $2, $2, 1, 'ketua', '002', '1234567890', $3, 'paid', $4, $4)""",
                    f"{r.gid}-A1-{n:02d}",
                    r.gid,
                    amount,
                    wib(r.paid_on),
                )
        # the verify task of G7, overdue since 8 September
        await conn.execute(
            """INSERT INTO group_tasks (group_id, kind, roles, opened_at, due_at, escalation_level)
               VALUES ('G7', 'verify', '{verifier}', $1, $2, 3)""",
            wib("2020-09-01"),
            wib("2020-09-08"),
        )
        for (program, region), (amount, reserved, drew) in ALLOCATIONS.items():
            spent = sum(sum(by_id[g].paid) for g in drew)
            await conn.execute(
                """INSERT INTO budget_allocations (program, region_code, amount, reserved, spent)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (program, region_code) DO UPDATE
                   SET amount = EXCLUDED.amount, reserved = EXCLUDED.reserved, spent = EXCLUDED.spent""",
                program,
                region,
                amount,
                reserved,
                spent,
            )
            for g in drew:
                await conn.execute(
                    """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code,
                           amount, status) VALUES ($1, $2, $3, $4, $5, 'settled')""",
                    f"{g}:1",
                    g,
                    program,
                    region,
                    sum(by_id[g].paid),
                )
        soon, late = today() + timedelta(days=30), today() - timedelta(days=10)
        lpjs = [  # group, due_on, status, accounted, submissions (version, total, decision, reviewed)
            ("G1", date(2020, 12, 12), "accepted", 10 * M, [(1, 10 * M, "accept", "2020-10-20")]),
            ("G2", date(2020, 11, 1), "overdue", 0, []),
            ("G3", soon, "due", 0, []),
            ("G4", date(2020, 12, 14), "accepted", 9 * M, [(1, 9 * M, "accept", "2020-10-25")]),
            ("G5", late, "due", 0, []),
            ("G9", soon, "due", 0, []),
        ]
        for gid, due_on, status, accounted, submissions in lpjs:
            r = by_id[gid]
            await conn.execute(
                """INSERT INTO lpj (group_id, program, region_code, paid, paid_at, due_on, status, version,
                       submitted, accounted, escalation_level, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
                gid,
                r.program,
                r.region,
                sum(r.paid),
                wib(r.paid_on),
                due_on,
                status,
                len(submissions),
                submissions[-1][1] if submissions else 0,
                accounted,
                3 if status == "overdue" else 0,
                now,
            )
            for version, total, decision, reviewed in submissions:
                await conn.execute(
                    """INSERT INTO lpj_submissions (group_id, version, total, submitted_by, submitted_at,
                           decision, reviewed_by, reviewed_at)
                       VALUES ($1, $2, $3, 'mentor-1', $4, $5, 'verifier-1', $4)""",
                    gid,
                    version,
                    total,
                    wib(reviewed),
                    decision,
                )
        receivables = [  # group, amount, reason, opened, events (seq, kind, amount, day), settled
            (
                "G2",
                10 * M,
                "overdue",
                "2020-11-15",
                [
                    (7, "opened", 10 * M, "2020-11-15"),
                    (8, "repayment", 3 * M, "2020-11-20"),
                    (9, "write_off", 2 * M, "2020-11-25"),
                ],
                None,
            ),
            (
                "G4",
                3 * M,
                "short",
                "2020-10-25",
                [(7, "opened", 3 * M, "2020-10-25"), (8, "repayment", 3 * M, "2020-11-02")],
                "2020-11-02",
            ),
        ]
        for gid, amount, reason, opened, events, settled in receivables:
            r = by_id[gid]
            recovered = sum(a for _, k, a, _ in events if k == "repayment")
            written_off = sum(a for _, k, a, _ in events if k == "write_off")
            await conn.execute(
                """INSERT INTO receivables (group_id, program, region_code, amount, recovered, written_off,
                       reason, opened_at, settled_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                gid,
                r.program,
                r.region,
                amount,
                recovered,
                written_off,
                reason,
                wib(opened),
                wib(settled) if settled else None,
                now,
            )
            for seq, kind, value, day in events:
                await conn.execute(
                    """INSERT INTO receivable_events (group_id, seq, kind, amount, reason, at)
                       VALUES ($1, $2, $3, $4, $5, $6)""",
                    gid,
                    seq,
                    kind,
                    value,
                    "tidak dapat ditagih" if kind == "write_off" else "",
                    wib(day),
                )
