"""A hundred approvals at the same moment against an allocation that pays thirty: the database never
lets the allocation be exceeded (sampled all through the race, and settled to the rupiah), exactly
thirty groups are paid, the seventy others wait with a task that says why; a national officer raises
the allocation through the API and they all proceed at their next budget check."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from infra.ledger import set_allocation
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program, compressed_policies
from jps.domain.roles import Role
from tests.disbursement.conftest import Rig, bank_paid, eventually, worker_on
from tests.factories import officer, proposal
from tests.workflows.harness import Harness

GROUPS, AMOUNT, FITS = 100, 10_000_000, 30
# Days last a minute (no SLA falls due during the test); a waiting group re-checks the budget every 3 s.
POLICY = compressed_policies(seconds_per_day=60)[Program.TKM].model_copy(
    update={"budget_retry_every": timedelta(seconds=3), "bank_poll_after": timedelta(seconds=2)}
)
VERIFIER, TRAINER, FINANCE = officer(Role.VERIFIER), officer(Role.TRAINER), officer(Role.FINANCE)


async def to_approval(h: Harness, p: Proposal, gate: asyncio.Semaphore) -> WorkflowHandle[Any, Any]:
    async with gate:
        handle, state = await h.submit(p, policy=POLICY)
        today = local_date(state.submitted_at)
        await h.act(handle, "verify", VERIFIER, decision="approve")
        await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
        await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in p.members])
        return handle


async def stages(rig: Rig) -> dict[str, int]:
    """Groups paid count as `mentoring` (their most urgent task may be a visit or the LPJ); the others by
    their most urgent task."""
    rows = await rig.pool.fetch(
        """SELECT CASE WHEN stage = 'mentoring' THEN stage ELSE coalesce(task_kind, stage) END AS at,
                  count(*) AS n
           FROM groups GROUP BY 1"""
    )
    return {r["at"]: r["n"] for r in rows}


async def test_hundred_concurrent_approvals_never_exceed_the_allocation(rig: Rig) -> None:
    await set_allocation(rig.pool, "tkm", "31", FITS * AMOUNT)
    async with worker_on(rig) as h:
        gate = asyncio.Semaphore(25)
        handles = await asyncio.gather(
            *(
                to_approval(h, proposal(size=10, amount=AMOUNT, account_no=f"31{i:08d}"), gate)
                for i in range(GROUPS)
            )
        )
        # Watch the allocation all through the race, as often as the database answers.
        samples: list[tuple[int, int, int]] = []
        racing = True

        async def sample() -> None:
            while racing:
                row = await rig.pool.fetchrow("SELECT amount, reserved, spent FROM budget_allocations")
                samples.append((row["amount"], row["reserved"], row["spent"]))
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(h.act(hd, "approve-disbursement", FINANCE, amount=AMOUNT) for hd in handles))

        async def settled() -> dict[str, int] | None:
            now = await stages(rig)
            return now if now.get("mentoring") == FITS and now.get("await_budget") == GROUPS - FITS else None

        try:
            await eventually(settled, within=90)
        finally:
            racing = False
            await sampler
        assert len(samples) > 10 and all(reserved + spent <= amount for amount, reserved, spent in samples)
        assert max(reserved + spent for _, reserved, spent in samples) == FITS * AMOUNT

        row = await rig.pool.fetchrow("SELECT amount, reserved, spent FROM budget_allocations")
        assert (row["amount"], row["reserved"], row["spent"]) == (FITS * AMOUNT, 0, FITS * AMOUNT)
        reservations = await rig.pool.fetch(
            "SELECT status, count(*) AS n, sum(amount) AS total FROM budget_reservations GROUP BY status"
        )
        assert {r["status"]: (r["n"], r["total"]) for r in reservations} == {"settled": (FITS, FITS * AMOUNT)}
        paid = bank_paid(rig)
        assert len(paid) == FITS and sum(paid.values()) == FITS * AMOUNT

        # The seventy wait with a task that says why, in the finance officers' inbox.
        inbox = await rig.http.get(
            "/tasks", params={"kind": "await_budget", "size": 100}, headers=rig.auth(Role.FINANCE)
        )
        assert inbox.status_code == 200, inbox.text
        waiting = inbox.json()
        assert waiting["total"] == GROUPS - FITS
        assert {item["task"]["note"] for item in waiting["items"]} == {
            "budget of tkm region 31 has Rp 0 left, Rp 10,000,000 needed"
        }
        events = await rig.pool.fetchval("SELECT count(*) FROM audit_log WHERE event = 'budget_unavailable'")
        assert events == GROUPS - FITS  # one record per group: re-checks that fail again add nothing

        # Only a national officer may change an allocation; then everyone proceeds.
        body = {"amount": GROUPS * AMOUNT, "reason": "DIPA revisi: tambahan anggaran"}
        refused = await rig.http.put("/budget/allocations/tkm/31", json=body, headers=rig.auth(Role.FINANCE))
        assert refused.status_code == 403
        raised = await rig.http.put(
            "/budget/allocations/tkm/31",
            json=body,
            headers=rig.auth(Role.FINANCE, officer="pusat-1", regions=["*"]),
        )
        assert raised.status_code == 200, raised.text

        async def all_paid() -> bool:
            return (await stages(rig)).get("mentoring") == GROUPS

        await eventually(all_paid, within=90)
    row = await rig.pool.fetchrow("SELECT amount, reserved, spent FROM budget_allocations")
    assert (row["amount"], row["reserved"], row["spent"]) == (GROUPS * AMOUNT, 0, GROUPS * AMOUNT)
    paid = bank_paid(rig)
    assert len(paid) == GROUPS and sum(paid.values()) == GROUPS * AMOUNT
    assert len({line["account_no"] for line in rig.bank.statement()}) == GROUPS  # each group paid once
