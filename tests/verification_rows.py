"""A hand-computed set of post-payment verification samples, inserted straight into the read model
(the tables the verification's activities write), for the report's page and browser tests.

  group  prog         region  asked  YA  TIDAK  no answer  awaiting  rate     95 % Wilson
  VG1    tkm          3171    10     8   2      0          0         80,0 %   49,0 % – 94,3 %
  VG2    padat_karya  3273    5      3   0      1          1         100,0 %  43,9 % – 100,0 %
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

DAY = date(2020, 10, 2)
AT = datetime(2020, 10, 2, 3, 0, tzinfo=UTC)

SAMPLES = {
    ("VG1", "tkm", "3171"): ["confirmed"] * 8 + ["denied"] * 2,
    ("VG2", "padat_karya", "3273"): ["confirmed"] * 3 + ["no_answer", "asked"],
}


async def insert(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO verification_days (sample_day, seed, units, sampled) VALUES ($1, 1, 40, 15)", DAY
        )
        for (gid, program, region), statuses in SAMPLES.items():
            await conn.execute(
                """INSERT INTO groups (group_id, program, name, region_code, stage, member_count,
                                       requested_amount, submitted_by, submitted_at, updated_at, state)
                   VALUES ($1, $2, $3, $4, 'mentoring', 20, 10000000, 'registrar-1', $5, $5, '{}')""",
                gid,
                program,
                f"Kelompok {gid}",
                region,
                AT,
            )
            transfer = f"{gid}-A1-01"
            await conn.execute(
                """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt,
                                         beneficiary, bank_code, account_no, amount, status, settled_at)
                   VALUES ($1, $1, $2, $2, 1, 'Penerima', '002', '1234567890', 10000000, 'paid', $3)""",
                transfer,
                gid,
                AT,
            )
            for n, status in enumerate(statuses):
                await conn.execute(
                    """INSERT INTO verification_samples (sample_id, sample_day, program, region_code,
                                                         group_id, transfer_id, member_no, amount, status,
                                                         asked_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, 10000000, $8, $9)""",
                    f"verify-{transfer}-{n:02d}",
                    DAY,
                    program,
                    region,
                    gid,
                    transfer,
                    n,
                    status,
                    AT,
                )
