"""The chaos run in `make test`: `make chaos`'s harness (tools/chaos/) with `ChaosPlan.short()`, on a
stack of its own. Twenty groups of both programmes, half of them above the maker-checker threshold,
while the bank injects every fault it has (timeout-then-4xx, 409 in flight, pending past the
investigation period and false "failed" callbacks among them), the notification gateway answers 5 s
late, the worker is killed with SIGKILL inside a payment batch, and PostgreSQL and the Temporal dev
server are restarted. The same invariants as the full run: every group paid (or waiting visibly),
each beneficiary exactly once by the bank's own statement, no workflow failed or terminated, the
reservations balanced, the audit chain intact, the outbox drained and no message sent twice."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any, cast

import asyncpg
import httpx
import pytest

from activities.bank_client import BankClient
from jps.contracts.activities import TransferSpec
from jps.contracts.wages import WageLine
from jps.contracts.workflow import GroupState
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.stages import Stage
from jps.domain.wages import WorkRole
from simulators.bank import Faults
from tests.disbursement.conftest import Rig
from tests.factories import proposal
from tools.chaos import CHAOS_BANK_TIMEOUT_S, ChaosPlan, check_exactly_once, run_chaos
from tools.chaos.check import check_budget, check_outbox

DISRUPTIONS = ("worker_kill", "postgres_restart", "temporal_restart")


def _wage_line(nik: str, member_no: int, status: str, transfer_id: str, tries: int = 0) -> WageLine:
    """A worker's wage of a week: two days, 16 hours at Rp 100,000 a day."""
    return WageLine(
        nik=nik,
        member_no=member_no,
        role=WorkRole.WORKER,
        days=2,
        hours=16,
        rate=100_000,
        amount=200_000,
        status=status,
        transfer_id=transfer_id,
        tries=tries,
    )


async def _paid_in_our_ledger(db: asyncpg.Pool, transfer_ids: list[str]) -> None:
    """Wages of Rp 200,000 of group G-w, paid in our payments table."""
    await db.executemany(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status)
           VALUES ($1, $1, 'G-w', 'B', 1, 'x', '002', '1', 200000, 'paid')""",
        [(tid,) for tid in transfer_ids],
    )


def test_short_chaos_run_pays_each_beneficiary_exactly_once() -> None:
    plan = ChaosPlan.short()
    assert CHAOS_BANK_TIMEOUT_S < plan.bank_faults["hang_s"]  # a timeout after commit is seen as one
    # Some transfers stay pending past the investigation period: finance gets a task for them.
    assert plan.bank_faults["long_pending_s"] > plan.payment_investigation_after

    figures = run_chaos(plan)

    # Everything the run printed, in every assertion's message: a failure must say why.
    head = [figures.line(), str(figures.invariants), str(figures.faults_by_mode)]
    summary = "\n".join([*head, *figures.report, *figures.problems])
    assert figures.problems == [], summary
    counted = (figures.groups, figures.duplicates, figures.lost, figures.stuck, figures.failed_workflows)
    assert counted == (20, 0, 0, 0, 0), summary
    assert figures.invariants == dict.fromkeys(
        ("reservations", "audit_chain", "reconciliation", "outbox_drained", "messages_once"), "ok"
    ), summary
    assert figures.ok and figures.line().endswith("failed_workflows=0"), summary
    # Every fault the plan turns on happened: each bank mode, each disruption, the slow gateway.
    enabled = Faults.model_validate(plan.bank_faults).enabled_modes()
    assert enabled and all(figures.faults_by_mode[m] > 0 for m in enabled), summary
    assert all(figures.faults_by_mode[k] >= 1 for k in DISRUPTIONS), summary
    assert figures.faults_by_mode["slow_gateway_answer"] > 0, summary
    assert figures.kills_inside_batches >= 1, summary
    assert figures.faults == sum(figures.faults_by_mode.values())


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

    def at(p: Proposal, stage: Stage, approved: int | None, gid: str = "G") -> GroupState:
        return GroupState(
            group_id=gid,
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
        at(tkm, Stage.DISBURSEMENT, None, "G-idle"),
        at(tkm, Stage.DISBURSEMENT, None, "G-waits"),
    ]
    figures = await check_exactly_once(
        rig.pool,
        rig.bank.statement(),
        [("G-tkm", tkm), ("G-pk", pk), ("G-idle", tkm), ("G-waits", tkm)],
        states,
        waiting={"G-waits"},  # an investigation the bank's status does not let finance close yet
    )
    # Duplicates: the second payment to the TKM account, and that our ledger does not count it as paid.
    # Lost: the unpaid worker, and the transfer we count as paid that the bank never paid. (The totals
    # that differ from the approved amounts are reported, not counted again.) Stuck: the idle group,
    # not the one waiting visibly on the bank.
    assert (figures.duplicates, figures.lost, figures.stuck) == (2, 2, 1), figures.problems
    assert not figures.ok
    assert figures.line() == "chaos: groups=4 faults=0 duplicates=2 lost=2 stuck=1 failed_workflows=0"
    assert "G-pk: the bank paid Rp 2,700,000 of Rp 3,000,000 approved" in figures.problems


async def test_the_budget_and_outbox_checks_see_what_breaks(db: asyncpg.Pool) -> None:
    """The invariants beside the line are not vacuous either: a reservation left reserved for a paid
    group, money paid on a released one or on none, an allocation whose spent disagrees with the
    bank; a message unsent, one stored twice at the gateway, one the outbox never had, one marked
    sent that the gateway never got."""
    now = datetime.now(UTC)
    for gid, stage in (("G1", "mentoring"), ("G2", "disbursement"), ("G3", "mentoring")):
        await db.execute(
            """INSERT INTO groups (group_id, program, name, region_code, stage, member_count,
                                   requested_amount, submitted_by, submitted_at, updated_at, state)
               VALUES ($1, 'tkm', $1, '3171', $2, 10, 10000000, 'r', $3, $3, '{}')""",
            gid,
            stage,
            now,
        )
    await db.executemany(
        """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code, amount, status)
           VALUES ($1, $2, 'tkm', '3171', $3, $4)""",
        [
            ("G1:1", "G1", 10_000_000, "reserved"),
            ("G2:1", "G2", 5_000_000, "released"),
            ("G3:1", "G3", 7_000_000, "settled"),
        ],
    )
    await db.execute(
        """INSERT INTO budget_allocations (program, region_code, amount, reserved, spent)
           VALUES ('tkm', '3171', 100000000, 10000000, 6000000)"""
    )
    statement = [
        {"transfer_id": "G2-A1-00", "amount": 5_000_000},
        {"transfer_id": "G3-A1-00", "amount": 7_000_000},
        {"transfer_id": "G4-A1-00", "amount": 1_000_000},
    ]
    verdict = await check_budget(db, statement)
    assert "G1:1 still reserved, the group is paid" in verdict
    assert "G2:1 released, yet the bank paid Rp 5,000,000 on it" in verdict
    assert "G4:1: the bank paid Rp 1,000,000 without a reservation" in verdict
    assert "allocation tkm/3171: reserved 10,000,000 spent 6,000,000" in verdict
    assert "the bank paid 7,000,000" in verdict

    await db.executemany(
        """INSERT INTO notification_outbox (id, group_id, recipient, template, body, sent_at)
           VALUES ($1, 'G1', '+62812', 'aid_paid', 'x', $2)""",
        [("m1", now), ("m2", None), ("m3", now)],
    )
    gateway = [{"message_id": "m1"}, {"message_id": "m1"}, {"message_id": "stranger"}]
    drained, once, figures = await check_outbox(db, gateway)
    assert drained.startswith("1 of 3 messages unsent") and figures["unsent"] == 1
    assert once.startswith("1 messages stored twice ['m1'], 1 not from our outbox ['stranger'], 1 marked")
    assert (await check_outbox(db, [{"message_id": "m1"}, {"message_id": "m3"}]))[1] == "ok"


async def test_the_ledger_check_counts_weekly_wages_per_worker_per_week(db: asyncpg.Pool) -> None:
    """Padat Karya paid by muster rolls (issue 13): a worker's wage of a week paid twice (the second
    time under a retry's new key) is a duplicate, a wage line never paid is lost, whatever the
    account; the reservation of the wage bill must have drawn exactly what the bank paid."""
    from jps.contracts.wages import WageRuntime, WeekRun

    pk = proposal(Program.PADAT_KARYA, size=10, amount=3_000_000)
    week = "20201005"
    lines = [_wage_line(m.nik, i, "paid", f"G-w-W{week}-{i:02d}") for i, m in enumerate(pk.members[:3])]
    run = WeekRun(
        week_starts_on=date(2020, 10, 5),
        status="settled",
        submitted_by="m",
        submitted_at=datetime.now(UTC),
        lines=lines,
    )
    state = GroupState(
        group_id="G-w",
        program=pk.program,
        name=pk.name,
        region_code=pk.region_code,
        stage=Stage.MENTORING,
        proposal=pk,
        submitted_by="r",
        submitted_at=datetime.now(UTC),
        requested_amount=3_000_000,
        approved_amount=3_000_000,
    )
    state.runtime.wages = WageRuntime(weeks=[run])
    paid_ids = [f"G-w-W{week}-00", f"G-w-W{week}-01", f"G-w-W{week}-01-R1"]  # worker 2 never paid
    await _paid_in_our_ledger(db, paid_ids)
    statement = [{"transfer_id": tid, "account_no": "1", "amount": 200_000} for tid in paid_ids]
    figures = await check_exactly_once(db, statement, [("G-w", pk)], [state])
    assert (figures.duplicates, figures.lost, figures.stuck) == (1, 1, 0), figures.problems
    assert f"G-w: the wage ('W{week}', '01') paid 2 times" in figures.problems

    await db.execute(
        """INSERT INTO groups (group_id, program, name, region_code, stage, member_count, requested_amount,
                               submitted_by, submitted_at, updated_at, state)
           VALUES ('G-w', 'padat_karya', 'G-w', '3171', 'mentoring', 10, 3000000, 'r', now(), now(), '{}')"""
    )
    await db.execute(
        """INSERT INTO budget_reservations (reservation_id, group_id, program, region_code, amount, status,
                                           drawn)
           VALUES ('G-w:0', 'G-w', 'padat_karya', '3171', 3000000, 'settled', 400000)"""
    )
    await db.execute(
        """INSERT INTO budget_allocations (program, region_code, amount, reserved, spent)
           VALUES ('padat_karya', '3171', 100000000, 0, 400000)"""
    )
    verdict = await check_budget(db, statement)
    assert verdict == "G-w:0: drew Rp 400,000, the bank paid Rp 600,000", verdict

    # A weekly group whose state could not be read is stuck, and its workers' accounts paid once a
    # week are not doubles (a full run counted ten: two weeks per worker); the same week twice is.
    account = pk.members[0].bank_account
    assert account is not None
    ids = [f"G-w-W{week}-00", "G-w-W20201012-00", f"G-w-W{week}-00-R1"]
    await db.execute("DELETE FROM payments WHERE group_id = 'G-w'")
    await _paid_in_our_ledger(db, ids)
    told = [{"transfer_id": tid, "account_no": account.account_no, "amount": 200_000} for tid in ids]
    unread = await check_exactly_once(db, told[:2], [("G-w", pk)], [None])
    assert (unread.duplicates, unread.lost, unread.stuck) == (0, 1, 1), unread.problems
    assert unread.problems[-1] == f"G-w-W{week}-00-R1: paid in our ledger, not by the bank"
    doubled = await check_exactly_once(db, told, [("G-w", pk)], [None])
    assert (doubled.duplicates, doubled.lost, doubled.stuck) == (1, 0, 1), doubled.problems
    assert f"G-w: account ...{account.account_no[-4:]} paid 2 times for W{week}" in doubled.problems


async def test_finance_fixes_an_account_again_when_the_resent_wage_fails_before_it_looks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make chaos` left two Padat Karya groups with `fix_wage_account` open and nothing pending: the
    officers re-entered a worker's account (step 14), the wage it made due went out and failed again
    (step 17) before their query after the update answered, so the state they saw after the fix was
    step 17's, and they took the fix as already tried at step 17: never sent again, while a real
    officer would have. The fix counts from the step the update recorded."""
    from infra import lifecycle
    from jps.contracts.wages import WageRuntime, WeekRun
    from jps.domain.models import StepResult, Task, UpdateBankAccountArgs
    from jps.domain.roles import Role
    from jps.domain.stages import TaskKind
    from tools.chaos.drive import Officers
    from tools.chaos.plan import ChaosGroup

    pk = proposal(Program.PADAT_KARYA, size=10, amount=3_000_000)
    group = ChaosGroup(key="fix-again", proposal=pk)
    worker = pk.members[6]
    now = datetime.now(UTC)

    def state_at(seq: int, tries: int) -> GroupState:
        """Step `seq`: the worker's wage of the week failed at its `tries`-th transfer."""
        tid = f"{group.group_id}-W20261116-06" + (f"-R{tries - 1}" if tries > 1 else "")
        line = _wage_line(worker.nik, 6, "failed", tid, tries=tries)
        week = date(2026, 11, 16)
        run = WeekRun(week_starts_on=week, status="settled", submitted_by="m", submitted_at=now, lines=[line])
        state = GroupState(
            group_id=group.group_id,
            program=pk.program,
            name=pk.name,
            region_code=pk.region_code,
            stage=Stage.DISBURSEMENT,
            proposal=pk,
            submitted_by="r",
            submitted_at=now,
            requested_amount=3_000_000,
            approved_amount=3_000_000,
            seq=seq,
            open_tasks=[
                Task(kind=TaskKind.FIX_WAGE_ACCOUNT, roles=[Role.FINANCE], opened_at=now, due_at=now)
            ],
        )
        state.runtime.wages = WageRuntime(weeks=[run])
        return state

    sent: list[UpdateBankAccountArgs] = []

    async def act(client: object, gid: str, update: str, args: UpdateBankAccountArgs) -> StepResult:
        sent.append(args)
        return StepResult(group_id=gid, seq=14 if len(sent) == 1 else 18, stage=Stage.DISBURSEMENT)

    async def query_state(client: object, gid: str) -> GroupState:
        return state_at(17, tries=2)  # the re-sent wage failed meanwhile

    monkeypatch.setattr(lifecycle, "act", act)
    monkeypatch.setattr(lifecycle, "query_state", query_state)
    # The bank failed every transfer of the worker's wage (its admin view, never faulted).
    bank = httpx.AsyncClient(
        base_url="http://bank",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json={"status": "failed"})),
    )
    officers = Officers(
        cast(Any, None), cast(Any, None), bank, policies={}, task_queue="q", store=cast(Any, None)
    )
    deadline = time.monotonic() + 30
    after_fix = await officers._next_step(group, state_at(13, tries=1), deadline)
    assert after_fix is not None and after_fix.seq == 17 and len(sent) == 1
    # Step 17 opened the task again for the same worker, whose transfers the bank all failed: again.
    assert await officers._next_step(group, after_fix, deadline) is not None
    assert [(a.member_nik, a.bank_account) for a in sent] == [(worker.nik, worker.bank_account)] * 2
    # Not a third time before the workflow records a step after the second fix (18).
    assert await officers._next_step(group, state_at(18, tries=2), deadline) is None
    await bank.aclose()
