"""Every bank fault mode at once (latency, 5xx, timeouts after the money moved, accepted-then-failed,
duplicate, out-of-order and dropped callbacks): a batch of both programmes, half of them above the
maker-checker threshold, all reach mentoring, and the bank's ledger matches ours transfer for
transfer. The callbacks go through the real API (HMAC check, then a signal); dropped ones are
covered by the workflows' polling. This is `make chaos`'s batch (tools/chaos.py) on the test rig."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from activities.bank_client import BankClient
from activities.reconciliation import ReconciliationActivities
from infra import lifecycle
from jps.contracts.activities import ReconcileRequest, TransferSpec
from jps.contracts.workflow import GroupState
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.stages import Stage
from simulators.bank import INJECTED_FAULTS, Faults
from tests.disbursement.conftest import Rig, bank_paid, paid_transfers, worker_on
from tests.factories import proposal
from tools.chaos import (
    CHAOS_BANK_TIMEOUT_S,
    CHAOS_FAULTS,
    chaos_groups,
    chaos_policies,
    check_exactly_once,
    run_batch,
)


async def test_every_fault_at_once_pays_each_beneficiary_exactly_once(rig: Rig) -> None:
    groups = chaos_groups(per_programme=4, run=uuid.uuid4().hex[:8])
    assert CHAOS_BANK_TIMEOUT_S < CHAOS_FAULTS["hang_s"]  # a timeout after commit is seen as a timeout
    async with (
        worker_on(rig, bank_timeout_s=CHAOS_BANK_TIMEOUT_S),
        httpx.AsyncClient(base_url=rig.sims.bank_url, timeout=10) as bank_admin,
    ):
        figures = await run_batch(
            rig.client,
            rig.pool,
            bank_admin,
            task_queue=rig.task_queue,
            groups=groups,
            policies=chaos_policies(),
            wait_s=90,
        )
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
        # Every fault mode the run turns on was actually injected.
        assert set(figures.faults_by_mode) == set(INJECTED_FAULTS)
        enabled = Faults.model_validate(CHAOS_FAULTS).enabled_modes()
        assert enabled and all(figures.faults_by_mode[m] > 0 for m in enabled), figures.faults_by_mode

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


async def test_the_ledger_check_sees_double_and_missing_payments(rig: Rig) -> None:
    """The check behind `chaos: … duplicates=D lost=L` is not vacuous: a beneficiary paid twice (once
    behind our back), a worker never paid, a transfer we count as paid that the bank did not pay."""
    tkm = proposal(Program.TKM, size=10, amount=10_000_000)
    pk = proposal(Program.PADAT_KARYA, size=10, amount=3_000_000)
    workers = [m.bank_account.account_no for m in pk.members if m.bank_account is not None]
    async with BankClient(rig.sims.bank_url) as bank:

        async def pay(tid: str, account: str, amount: int) -> None:
            await bank.create_transfer(
                TransferSpec(
                    transfer_id=tid,
                    batch_id=tid.rsplit("-", 1)[0],
                    beneficiary="x",
                    bank_code="002",
                    account_no=account,
                    amount=amount,
                )
            )
            rig.bank.wait_settled(tid)

        await pay("G-tkm-A1-00", tkm.bank_account.account_no, 10_000_000)
        await pay("G-tkm-A2-00", tkm.bank_account.account_no, 10_000_000)  # paid again, we think it failed
        for i, account in enumerate(workers[:9]):  # the tenth worker is never paid
            await pay(f"G-pk-A1-{i:02d}", account, 300_000)
    ours = [("G-tkm-A1-00", "G-tkm", "paid", 10_000_000), ("G-tkm-A2-00", "G-tkm", "failed", 10_000_000)]
    ours += [(f"G-pk-A1-{i:02d}", "G-pk", "paid", 300_000) for i in range(10)]
    await rig.pool.executemany(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status)
           VALUES ($1, $1, $2, 'B', 1, 'x', '002', '1', $4, $3)""",
        ours,
    )

    def at(p: Proposal, stage: Stage, approved: int | None) -> GroupState:
        return GroupState(
            group_id="G",
            program=p.program,
            name=p.name,
            region_code=p.region_code,
            stage=stage,
            proposal=p,
            submitted_by="r",
            submitted_at=datetime.now(UTC),
            requested_amount=p.requested_amount,
            approved_amount=approved,
        )

    states = [
        at(tkm, Stage.MENTORING, 10_000_000),
        at(pk, Stage.MENTORING, 3_000_000),
        at(tkm, Stage.DISBURSEMENT, None),
    ]
    figures = await check_exactly_once(
        rig.pool, rig.bank.statement(), [("G-tkm", tkm), ("G-pk", pk), ("G-idle", tkm)], states
    )
    # Duplicates: the second payment to the TKM account, and that our ledger does not count it as paid.
    # Lost: the unpaid worker, and the transfer we count as paid that the bank never paid. (The totals
    # that differ from the approved amounts are reported, not counted again.) Stuck: the idle group.
    assert (figures.duplicates, figures.lost, figures.stuck) == (2, 2, 1), figures.problems
    assert not figures.ok and figures.line() == "chaos: groups=3 faults=0 duplicates=2 lost=2 stuck=1"
    assert "G-pk: the bank paid Rp 2,700,000 of Rp 3,000,000 approved" in figures.problems
