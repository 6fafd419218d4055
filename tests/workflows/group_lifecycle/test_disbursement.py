"""Disbursement: maker-checker, the bank's failures (passing ones retried automatically, permanent
ones waiting for new bank details), Padat Karya's partial failure, and the bank's late answers
(callback signal, status poll)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests.factories import EQUAL_SPLIT, officer, proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    MENTOR,
    PAYMENT_SIGNAL,
    REGISTRAR,
    SUPERVISOR,
    BudgetSettlement,
    FakeActivities,
    Flow,
    GroupState,
    Officer,
    PaymentBatch,
    PaymentResult,
    failed,
    paid,
    task_kind,
)

POLICY = DEFAULT_POLICIES[Program.TKM]
NEW_ACCOUNT = {"bank_code": "009", "account_no": "5550001111", "holder_name": "Kelompok Usaha Maju Jaya"}


def finance_and_supervisor(officer_id: str) -> Officer:
    both = officer(Role.FINANCE, officer_id=officer_id)
    both.roles.append(Role.SUPERVISOR)
    return both


def transfers(fakes: FakeActivities) -> list[tuple[str, str, int]]:
    """(transfer id, account, amount) of every transfer instructed, in order."""
    return [(t.transfer_id, t.account_no, t.amount) for b in fakes.batches for t in b.transfers]


def settled(fakes: FakeActivities) -> list[tuple[str, BudgetSettlement]]:
    return [(r.event, r.settle) for r in fakes.records if r.settle is not None]


async def approve(flow: Flow, handle: WorkflowHandle[Any, Any], amount: int) -> GroupState:
    await flow.act(handle, "approve-disbursement", FINANCE, amount=amount)
    return await flow.idle(handle)


@pytest.mark.parametrize("amount", [15_000_000, 15_000_001])
async def test_maker_checker_above_the_threshold(flow: Flow, fakes: FakeActivities, amount: int) -> None:
    assert POLICY.maker_checker_threshold == 15_000_000
    handle = await flow.at_disbursement(proposal(amount=20_000_000))
    maker = finance_and_supervisor("finance-boss")
    assert await flow.refused(handle, "approve-disbursement", maker, amount=20_000_001) == "Invalid"
    assert await flow.refused(handle, "authorize-disbursement", SUPERVISOR) == "WrongStage"

    state = await flow.act(handle, "approve-disbursement", maker, amount=amount)
    if amount == POLICY.maker_checker_threshold:  # at the threshold: the maker is enough
        state = await flow.idle(handle)
        assert state.stage == Stage.MENTORING and state.authorized_by is None
        assert "disbursement_authorized" not in fakes.events
        return

    assert task_kind(state) == TaskKind.AUTHORIZE_DISBURSEMENT and state.approved_by == "finance-boss"
    state = await flow.idle(handle)
    assert fakes.budget_requests == [] and fakes.batches == []  # nothing moves before the checker
    assert await flow.refused(handle, "authorize-disbursement", maker) == "Forbidden"  # same officer
    assert await flow.refused(handle, "authorize-disbursement", FINANCE) == "Forbidden"  # not a supervisor
    assert await flow.refused(handle, "approve-disbursement", FINANCE, amount=amount) == "WrongStage"

    state = await flow.act(handle, "authorize-disbursement", SUPERVISOR, notes="dicek")
    assert state.authorized_by == "supervisor-1" and state.open_task is None
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and transfers(fakes) == [
        (f"{state.group_id}-A1-00", "1234567890", amount)
    ]
    assert fakes.events[-4:] == [
        "disbursement_approved",
        "disbursement_authorized",
        "payment_instructed",
        "aid_paid",
    ]
    assert fakes.records[-3].details == {"amount": amount, "approved_by": "finance-boss"}


async def test_passing_bank_failure_is_retried_with_a_new_transfer(flow: Flow, fakes: FakeActivities) -> None:
    def bank(batch: PaymentBatch) -> list[PaymentResult]:
        if batch.attempt == 1:
            return [
                failed(t.transfer_id, "beneficiary_bank_unavailable", permanent=False)
                for t in batch.transfers
            ]
        return [paid(t.transfer_id) for t in batch.transfers]

    fakes.instruct = bank
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    gid = state.group_id
    # The new transfer waits its backoff (twice the poll interval after the first failure).
    assert state.stage == Stage.DISBURSEMENT and len(fakes.batches) == 1
    state = await flow.sleep(handle, POLICY.bank_poll_after * 2 - POLICY.bank_poll_after / 10)
    assert len(fakes.batches) == 1
    state = await flow.sleep(handle, POLICY.bank_poll_after / 5)
    assert state.stage == Stage.MENTORING
    assert transfers(fakes) == [
        (f"{gid}-A1-00", "1234567890", 10_000_000),
        (f"{gid}-A2-00", "1234567890", 10_000_000),
    ]
    assert [(p.transfer_id, p.status, p.reason) for p in state.payments] == [
        (f"{gid}-A1-00", "failed", "beneficiary_bank_unavailable"),
        (f"{gid}-A2-00", "paid", ""),
    ]
    assert [(r.attempt, r.amount) for r in fakes.budget_requests] == [(1, 10_000_000), (2, 10_000_000)]
    assert fakes.events[-5:] == [
        "disbursement_approved",
        "payment_instructed",
        "payment_retry",
        "payment_instructed",
        "aid_paid",
    ]
    # The failed attempt's reservation is released in its record, the second one spent in its own.
    assert settled(fakes) == [
        ("payment_retry", BudgetSettlement(reservation_id=f"{gid}:1", paid_amount=0)),
        ("aid_paid", BudgetSettlement(reservation_id=f"{gid}:2", paid_amount=10_000_000)),
    ]


async def test_automatic_retries_stop_at_the_policy_limit(flow: Flow, fakes: FakeActivities) -> None:
    fakes.instruct = lambda batch: [
        failed(t.transfer_id, "timeout", permanent=False) for t in batch.transfers
    ]
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    # Each new transfer waits a doubled backoff: an outage does not use up every retry at once.
    for n in range(1, POLICY.payment_auto_retries + 1):
        assert len(fakes.batches) == n and task_kind(state) != TaskKind.UPDATE_BANK_ACCOUNT
        state = await flow.sleep(handle, POLICY.bank_poll_after * 2**n)
    attempts = 1 + POLICY.payment_auto_retries
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT and state.stage == Stage.DISBURSEMENT
    assert [t[0] for t in transfers(fakes)] == [f"{state.group_id}-A{i}-00" for i in range(1, attempts + 1)]
    assert fakes.events.count("payment_retry") == POLICY.payment_auto_retries
    assert fakes.events[-1] == "payment_failed"


async def test_permanent_failure_waits_for_new_bank_details(flow: Flow, fakes: FakeActivities) -> None:
    fakes.instruct = lambda batch: [
        failed(t.transfer_id, "account_closed") if t.account_no == "1234567890" else paid(t.transfer_id)
        for t in batch.transfers
    ]
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    gid = state.group_id
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT and state.open_task is not None
    assert state.open_task.note == "account_closed" and [p.status for p in state.payments] == ["failed"]
    assert fakes.events[-1] == "payment_failed" and len(fakes.batches) == 1  # no automatic retry
    assert settled(fakes) == [("payment_failed", BudgetSettlement(reservation_id=f"{gid}:1", paid_amount=0))]

    assert await flow.refused(handle, "update-bank-account", MENTOR, bank_account=NEW_ACCOUNT) == "Forbidden"
    assert (
        await flow.refused(
            handle,
            "update-bank-account",
            REGISTRAR,
            bank_account=NEW_ACCOUNT,
            member_nik=state.proposal.members[0].nik,
        )
        == "Invalid"
    )
    assert await flow.refused(handle, "approve-disbursement", FINANCE, amount=10_000_000) == "WrongStage"

    answer = await flow.act(handle, "update-bank-account", REGISTRAR, bank_account=NEW_ACCOUNT)
    # The retry the step unblocks may have reserved and instructed already (the reservation is a
    # local activity since leaner-history-v1: no workflow task between the step and the retry).
    [step] = [r for r in fakes.records if r.event == "bank_account_updated"]
    assert answer.open_task is None
    recorded = step.proposal
    assert recorded is not None and recorded.bank_account.account_no == "5550001111"
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    assert transfers(fakes) == [
        (f"{gid}-A1-00", "1234567890", 10_000_000),
        (f"{gid}-A2-00", "5550001111", 10_000_000),
    ]
    assert [p.status for p in state.payments] == ["failed", "paid"]


async def test_new_bank_details_above_the_threshold_need_a_fresh_authorization(
    flow: Flow, fakes: FakeActivities
) -> None:
    fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.account_no == "1234567890" else paid(t.transfer_id)
        for t in batch.transfers
    ]
    handle = await flow.at_disbursement(proposal(amount=20_000_000))
    await flow.act(handle, "approve-disbursement", FINANCE, amount=20_000_000)
    await flow.act(handle, "authorize-disbursement", SUPERVISOR)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT

    changer = finance_and_supervisor("finance-2")
    answer = await flow.act(handle, "update-bank-account", changer, bank_account=NEW_ACCOUNT)
    assert task_kind(answer) == TaskKind.AUTHORIZE_DISBURSEMENT and answer.authorized_by is None
    assert await flow.refused(handle, "authorize-disbursement", changer) == "Forbidden"
    state = await flow.idle(handle)
    assert len(fakes.batches) == 1  # nothing goes to the new account on one officer's word
    await flow.act(handle, "authorize-disbursement", SUPERVISOR, notes="rekening baru dicek")
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and transfers(fakes)[-1][1:] == ("5550001111", 20_000_000)


async def test_padat_karya_partial_failure_repays_only_the_refused_worker(
    flow: Flow, fakes: FakeActivities
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_003)
    closed = p.members[4]
    assert closed.bank_account is not None
    closed_account = closed.bank_account.account_no
    fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.account_no == closed_account else paid(t.transfer_id)
        for t in batch.transfers
    ]
    handle = await flow.at_disbursement(p, policy=EQUAL_SPLIT)
    state = await approve(flow, handle, 10_000_003)
    gid = state.group_id
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT
    assert [pay.status for pay in state.payments] == ["paid"] * 4 + ["failed"] + ["paid"] * 5

    new = {"bank_code": "009", "account_no": "5550002222", "holder_name": closed.name}
    assert (
        await flow.refused(handle, "update-bank-account", REGISTRAR, bank_account=new) == "Invalid"
    )  # whose?
    assert (
        await flow.refused(
            handle, "update-bank-account", REGISTRAR, bank_account=new, member_nik=p.members[0].nik
        )
        == "Invalid"
    )  # was paid
    assert await flow.refused(handle, "cancel", SUPERVISOR, reason="kelompok bubar") == "WrongStage"

    await flow.act(handle, "update-bank-account", REGISTRAR, bank_account=new, member_nik=closed.nik)
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    assert [(t.transfer_id, t.account_no, t.amount) for t in fakes.batches[1].transfers] == [
        (f"{gid}-A2-00", "5550002222", 1_000_000)
    ]
    assert [r.amount for r in fakes.budget_requests] == [10_000_003, 1_000_000]
    assert sum(pay.amount for pay in state.payments if pay.status == "paid") == 10_000_003
    assert settled(fakes) == [
        ("payment_failed", BudgetSettlement(reservation_id=f"{gid}:1", paid_amount=9_000_003)),
        ("aid_paid", BudgetSettlement(reservation_id=f"{gid}:2", paid_amount=1_000_000)),
    ]


async def test_bank_without_an_answer_is_polled(flow: Flow, fakes: FakeActivities) -> None:
    answers: Iterator[bool] = iter([False, True])  # the first poll: still pending
    fakes.instruct = lambda batch: []
    fakes.poll = lambda ids: [paid(i) for i in ids] if next(answers) else []
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    tid = f"{state.group_id}-A1-00"
    assert task_kind(state) == TaskKind.AWAIT_BANK and [p.status for p in state.payments] == ["pending"]

    state = await flow.sleep(handle, POLICY.bank_poll_after - POLICY.bank_poll_after / 10)
    assert fakes.polls == []
    state = await flow.sleep(handle, POLICY.bank_poll_after / 5)
    assert fakes.polls == [[tid]] and task_kind(state) == TaskKind.AWAIT_BANK
    # The next poll comes after twice the interval (polls back off).
    state = await flow.sleep(handle, POLICY.bank_poll_after * 2 - POLICY.bank_poll_after / 5)
    assert fakes.polls == [[tid]]
    state = await flow.sleep(handle, POLICY.bank_poll_after / 5)
    assert fakes.polls == [[tid], [tid]] and state.stage == Stage.MENTORING


async def test_bank_callback_settles_at_once_on_the_banks_word(flow: Flow, fakes: FakeActivities) -> None:
    fakes.instruct = lambda batch: []
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    tid = f"{state.group_id}-A1-00"
    await handle.signal(PAYMENT_SIGNAL, paid("someone-else-A1-00"))  # not ours: ignored
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.AWAIT_BANK
    await handle.signal(PAYMENT_SIGNAL, paid(tid))
    state = await flow.idle(handle)
    # The callback makes the workflow ask the bank at once (its word decides), not at the poll.
    assert state.stage == Stage.MENTORING and fakes.polls == [[tid]]


async def test_the_approver_cannot_change_the_bank_details(flow: Flow, fakes: FakeActivities) -> None:
    """Separation of duties: the finance officer who approved the amount may not also say where it
    goes (update-bank-account is open to finance); another finance officer or a registrar may. The
    refusal is a validator's: nothing is written, the task stays open."""
    fakes.instruct = lambda batch: [
        failed(t.transfer_id, "account_closed") if t.account_no == "1234567890" else paid(t.transfer_id)
        for t in batch.transfers
    ]
    handle = await flow.at_disbursement(proposal())
    state = await approve(flow, handle, 10_000_000)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT and state.approved_by == FINANCE.id
    records = len(fakes.records)

    assert await flow.refused(handle, "update-bank-account", FINANCE, bank_account=NEW_ACCOUNT) == "Forbidden"
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT and len(fakes.records) == records

    other = officer(Role.FINANCE, officer_id="finance-2")
    answer = await flow.act(handle, "update-bank-account", other, bank_account=NEW_ACCOUNT)
    assert answer.open_task is None and "bank_account_updated" in [r.event for r in fakes.records[records:]]
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and transfers(fakes)[-1][1:] == ("5550001111", 10_000_000)
