"""The budget allocations' one writer: the API's `PUT /budget/allocations/...`, the ledger activities'
callers, `jps seed-demo`, the local stack's demo budget and the tests all set allocations here.

Reservations and settlements (the `reserved` and `spent` figures) are the ledger activities' business
(`activities/ledger.py`); this module only sets how much an allocation holds.
"""

from __future__ import annotations

import asyncpg

from jps.domain.nik import PROVINCE_CODES
from jps.domain.programs import Program

# The demo allocation per province and programme that `make run` loads: enough for a newcomer to
# walk groups to the end, small enough that "budget exhausted" is reachable by hand.
DEMO_ALLOCATION = 5_000_000_000

ALLOCATION_COLUMNS = "program, region_code, amount, reserved, spent, amount - reserved - spent AS available"

_UPSERT = f"""INSERT INTO budget_allocations (program, region_code, amount) VALUES ($1, $2, $3)
   ON CONFLICT (program, region_code) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
   RETURNING {ALLOCATION_COLUMNS}"""

_ADD_MISSING = """INSERT INTO budget_allocations (program, region_code, amount) VALUES ($1, $2, $3)
   ON CONFLICT (program, region_code) DO NOTHING"""


async def set_allocation(
    conn: asyncpg.Pool | asyncpg.Connection, program: str, region_code: str, amount: int
) -> asyncpg.Record:
    """Create or change an allocation; answers its row (with `available`). Lowering it below what is
    reserved and spent is refused by the database's CHECK constraint (`asyncpg.CheckViolationError`)."""
    row: asyncpg.Record = await conn.fetchrow(_UPSERT, Program(program).value, region_code, amount)
    return row


async def load_demo_allocations(dsn: str, amount: int = DEMO_ALLOCATION) -> int:
    """A demo allocation for every province and programme; existing allocations are kept."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            _ADD_MISSING, [(p.value, code, amount) for p in Program for code in PROVINCE_CODES]
        )
    finally:
        await conn.close()
    return len(PROVINCE_CODES) * len(Program)
