"""Steps recorded at once, against PostgreSQL: the step's key is checked under the group's own lock
first and the audit row is chained last, under the chain's lock (`activities/steps.py`). A step
recorded by several transactions at once (an activity's retry, the local activity's attempt and its
`record_transition` fallback racing) is written once; many groups' steps at once leave one valid
chain, each audit row beside its read-model row."""

from __future__ import annotations

import asyncio

import asyncpg

from activities.db import ReadModelActivities
from infra.audit import verify_chain
from tests.activities.records import step


async def test_one_step_recorded_at_once_by_several_transactions_is_written_once(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    group = "TKM-3171-RACESTEP01"
    record = step(group, 1, run_id="run-1")
    written = await asyncio.gather(*(rm.record_transition(record) for _ in range(6)))
    assert sorted(written) == [False] * 5 + [True]
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE group_id = $1", group) == 1
    async with db.acquire() as conn:
        assert (await verify_chain(conn))["valid"]


async def test_many_groups_steps_at_once_leave_one_valid_chain(db: asyncpg.Pool) -> None:
    rm = ReadModelActivities(db)
    groups = [f"TKM-3171-RACEMANY{i:02d}" for i in range(12)]
    for g in groups:
        assert await rm.record_transition(step(g, 1, run_id="run-1"))
    # Steps 2 and 3 of every group, each twice, all at once.
    records = [step(g, seq, run_id="run-1") for g in groups for seq in (2, 3)]
    written = await asyncio.gather(*(rm.record_transition(r) for r in records + records))
    assert sum(written) == len(records)
    counts = await db.fetch(
        "SELECT group_id, count(*) AS n, max(seq) AS last FROM audit_log WHERE group_id = ANY($1) GROUP BY 1",
        groups,
    )
    assert {(r["group_id"], r["n"], r["last"]) for r in counts} == {(g, 3, 3) for g in groups}
    last_seqs = await db.fetch("SELECT last_seq FROM groups WHERE group_id = ANY($1)", groups)
    assert {r["last_seq"] for r in last_seqs} == {3}
    async with db.acquire() as conn:
        result = await verify_chain(conn)
    assert result["valid"], result
