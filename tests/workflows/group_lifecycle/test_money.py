"""The disbursement's arithmetic on its own: no Temporal, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from hypothesis import given
from hypothesis import strategies as st

from jps.domain.models import GroupSummary, Payment
from jps.domain.programs import Program
from jps.domain.stages import Stage
from tests.factories import proposal
from workflows.group_lifecycle.money import (
    amount_still_due,
    failed_unresolved,
    payment_batch,
    split_wages,
    transfers_for_attempt,
)


@given(amount=st.integers(min_value=1, max_value=10**12), shares=st.integers(min_value=1, max_value=100))
def test_wage_shares_sum_exactly_and_differ_by_at_most_one_rupiah(amount: int, shares: int) -> None:
    if amount < shares:
        return
    split = split_wages(amount, shares)
    assert len(split) == shares
    assert sum(split) == amount
    assert max(split) - min(split) <= 1
    assert split == sorted(split, reverse=True)  # the remainder goes to the first shares


def test_split_of_an_uneven_bill() -> None:
    assert split_wages(10, 3) == [4, 3, 3]


def _summary(program: Program, approved: int, payments: list[Payment] | None = None) -> GroupSummary:
    return GroupSummary(
        group_id="PK-3171-TEST",
        program=program,
        name="Kelompok Uji",
        region_code="3171",
        stage=Stage.DISBURSEMENT,
        submitted_by="registrar-1",
        submitted_at=datetime(2026, 11, 1, tzinfo=UTC),
        requested_amount=approved,
        approved_amount=approved,
        payments=payments or [],
    )


def _payment(
    tid: str, amount: int, status: Literal["pending", "paid", "failed"], nik: str | None = None
) -> Payment:
    return Payment(
        transfer_id=tid,
        idempotency_key=tid,
        beneficiary="x",
        bank_code="002",
        account_no="1234567890",
        amount=amount,
        status=status,
        member_nik=nik,
    )


def test_amount_still_due_counts_only_what_the_bank_paid() -> None:
    state = _summary(
        Program.PADAT_KARYA,
        100,
        [_payment("a", 40, "paid", "1"), _payment("b", 30, "failed", "2"), _payment("c", 30, "pending", "3")],
    )
    assert amount_still_due(state) == 60


def test_a_failure_replaced_by_a_later_attempt_is_resolved() -> None:
    first = _payment("G-A1-01", 30, "failed", "2")
    retry = _payment("G-A2-00", 30, "paid", "2")
    other = _payment("G-A1-02", 30, "failed", "3")
    assert failed_unresolved([first, other, retry]) == [other]
    assert failed_unresolved([first]) == [first]


def test_tkm_attempt_pays_the_amount_due_to_the_groups_account_with_stable_keys() -> None:
    p = proposal(program=Program.TKM)
    state = _summary(Program.TKM, 10_000_000)
    transfers = transfers_for_attempt(state, p, 2, 7_000_000)
    assert [(t.transfer_id, t.idempotency_key, t.amount) for t in transfers] == [
        ("PK-3171-TEST-A2-00", "PK-3171-TEST-A2-00", 7_000_000)
    ]
    assert transfers[0].account_no == p.bank_account.account_no
    # The same attempt always yields the same transfers: a retried instruction cannot pay twice.
    assert transfers_for_attempt(state, p, 2, 7_000_000) == transfers


def test_padat_karya_first_attempt_pays_everyone_and_later_ones_only_the_refused() -> None:
    p = proposal(program=Program.PADAT_KARYA)
    n = len(p.members)
    state = _summary(Program.PADAT_KARYA, 1_000_003)
    first = transfers_for_attempt(state, p, 1, 1_000_003)
    assert len(first) == n and sum(t.amount for t in first) == 1_000_003
    assert {t.member_nik for t in first} == {m.nik for m in p.members}
    refused = first[3].model_copy(update={"status": "failed"})
    state.payments = [t.model_copy(update={"status": "paid"}) for t in first]
    state.payments[3] = refused
    second = transfers_for_attempt(state, p, 2, amount_still_due(state))
    assert [(t.member_nik, t.amount, t.transfer_id) for t in second] == [
        (refused.member_nik, refused.amount, "PK-3171-TEST-A2-00")
    ]
    batch = payment_batch(state, 2, second)
    assert batch.batch_id == "PK-3171-TEST-A2"
    assert [s.transfer_id for s in batch.transfers] == ["PK-3171-TEST-A2-00"]
    assert batch.transfers[0].key == "PK-3171-TEST-A2-00"
