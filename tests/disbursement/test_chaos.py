"""Every bank fault mode at once (latency, 5xx, timeouts after the money moved, accepted-then-failed,
duplicate, out-of-order and dropped callbacks): a batch of both programmes, half of them above the
maker-checker threshold, all reach mentoring, and the bank's ledger matches ours transfer for
transfer. The callbacks go through the real API (HMAC check, then a signal); dropped ones are
covered by the workflows' polling. This is `make chaos`'s batch (jps/chaos.py) on the test rig."""

from __future__ import annotations

import uuid

import httpx

from activities.bank_client import BankClient
from activities.reconciliation import ReconcileRequest, ReconciliationActivities
from jps import lifecycle
from jps.chaos import CHAOS_BANK_TIMEOUT_S, CHAOS_FAULTS, chaos_groups, chaos_policies, run_batch
from jps.domain.programs import Program
from simulators.bank import INJECTED_FAULTS
from tests.disbursement.conftest import Rig, bank_paid, paid_transfers, worker_on


async def test_every_fault_at_once_pays_each_beneficiary_exactly_once(rig: Rig) -> None:
    groups = chaos_groups(per_programme=4, run=uuid.uuid4().hex[:8])
    assert CHAOS_BANK_TIMEOUT_S < CHAOS_FAULTS["hang_s"]  # a timeout after commit is seen as a timeout
    async with (
        worker_on(rig, bank_timeout_s=CHAOS_BANK_TIMEOUT_S),
        httpx.AsyncClient(base_url=rig.sims.bank_url, timeout=10) as bank_admin,
    ):
        figures = await run_batch(
            rig.client, rig.pool, bank_admin, task_queue=rig.task_queue, groups=groups,
            policies=chaos_policies(), wait_s=90,
        )  # fmt: skip
        if figures.problems:
            for r in await rig.pool.fetch("SELECT * FROM budget_allocations ORDER BY program, region_code"):
                print("ALLOC", dict(r))
            for r in await rig.pool.fetch(
                "SELECT * FROM budget_reservations ORDER BY group_id, reservation_id"
            ):
                print("RES", dict(r))
            for g in groups:
                st = await lifecycle.query_state(rig.client, g.group_id)
                print(
                    "STATE",
                    g.group_id,
                    st.stage,
                    st.approved_amount,
                    [(p.transfer_id, p.amount, p.status) for p in st.payments if p.status != "paid"],
                    sum(p.amount for p in st.payments if p.status == "paid"),
                )
        assert figures.problems == []
        assert (figures.groups, figures.duplicates, figures.lost, figures.stuck) == (8, 0, 0, 0), (
            figures.line()
        )
        # Every fault mode was actually injected during the run.
        assert set(figures.faults_by_mode) == set(INJECTED_FAULTS)
        assert all(n > 0 for n in figures.faults_by_mode.values()), figures.faults_by_mode

        # Transfer for transfer: what the bank paid is exactly what our ledger counts as paid.
        ours = await paid_transfers(rig)
        assert ours == bank_paid(rig)
        states = [await lifecycle.query_state(rig.client, g.group_id) for g in groups]
        assert {s.program for s in states} == set(Program)
        assert sum(ours.values()) == sum(s.approved_amount or 0 for s in states)
        assert any(s.authorized_by for s in states) and any(not s.authorized_by for s in states)
        # Passing failures were paid again with a new transfer (new key), never by replaying the old one.
        failed = [p for s in states for p in s.payments if p.status == "failed"]
        assert failed and all(p.reason == "beneficiary_bank_unavailable" for p in failed)
        assert len({p.idempotency_key for s in states for p in s.payments}) == sum(
            len(s.payments) for s in states
        )

        ledger = rig.bank.ledger()
        assert (
            ledger["duplicates_suppressed"] > 0
        )  # retries with the same key happened, and paid nothing twice
        assert ledger["callbacks"]["failed"] == 0  # the API took every callback, duplicates included
        # The budget: nothing left reserved, exactly the approved amounts spent.
        budget = await rig.pool.fetchrow(
            "SELECT sum(reserved) AS reserved, sum(spent) AS spent FROM budget_allocations"
        )
        assert (budget["reserved"], budget["spent"]) == (0, sum(ours.values()))

        # And the reconciliation of this (chaotic but correct) run finds nothing.
        async with BankClient(rig.sims.bank_url) as bank:
            result = await ReconciliationActivities(rig.pool, bank).reconcile_payments(
                ReconcileRequest(run_id="chaos")
            )
        assert result.mismatches == [] and result.bank_paid == len(ours)
