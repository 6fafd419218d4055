"""The disbursement's arithmetic, pure: no workflow APIs, no I/O, tested on its own
(tests/workflows/group_lifecycle/test_money.py).

Transfer ids are `{group}-A{attempt}-{nn}` and double as the bank's idempotency keys: the same
attempt always produces the same transfers, so a retried instruction can never pay twice.
"""

from __future__ import annotations

from jps.contracts.activities import PaymentBatch, TransferSpec
from jps.domain.models import GroupSummary, Payment, Proposal
from jps.domain.programs import Program


def split_wages(amount: int, shares: int) -> list[int]:
    """Padat Karya wage bill in equal whole-rupiah shares whose sum is exactly `amount`; the
    remainder goes one rupiah at a time to the first shares."""
    base, remainder = divmod(amount, shares)
    return [base + (1 if i < remainder else 0) for i in range(shares)]


def amount_still_due(state: GroupSummary) -> int:
    """The approved amount less what the bank has paid and the shares a supervisor gave up."""
    paid = sum(p.amount for p in state.payments if p.status == "paid")
    released = sum(p.amount for p in failed_latest(state.payments) if p.released_by is not None)
    return (state.approved_amount or 0) - paid - released


def failed_latest(payments: list[Payment]) -> list[Payment]:
    """Each beneficiary's latest transfer, where it failed."""
    latest: dict[str, Payment] = {}
    for p in payments:
        latest[p.member_nik or "group"] = p
    return [p for p in latest.values() if p.status == "failed"]


def failed_unresolved(payments: list[Payment]) -> list[Payment]:
    """Failed transfers neither replaced by a later attempt for the same beneficiary nor given up."""
    return [p for p in failed_latest(payments) if p.released_by is None]


def batch_id(group_id: str, attempt: int) -> str:
    return f"{group_id}-A{attempt}"


def transfers_for_attempt(
    state: GroupSummary, proposal: Proposal, attempt: int, amount_due: int
) -> list[Payment]:
    """The transfers of one payment attempt. TKM: the amount due to the group's account. Padat
    Karya: the first attempt pays every worker an equal share; later ones re-pay the refused
    workers only, each the share that was refused."""
    gid = state.group_id
    if state.program == Program.TKM:
        acct = proposal.bank_account
        tid = f"{batch_id(gid, attempt)}-00"
        return [
            Payment(
                transfer_id=tid,
                idempotency_key=tid,
                beneficiary=acct.holder_name,
                bank_code=acct.bank_code,
                account_no=acct.account_no,
                amount=amount_due,
                attempt=attempt,
            )
        ]
    members = proposal.members
    if attempt == 1:
        owed = list(zip(members, split_wages(state.approved_amount or 0, len(members)), strict=True))
    else:
        by_nik = {m.nik: m for m in members}
        owed = [(by_nik[p.member_nik], p.amount) for p in failed_unresolved(state.payments) if p.member_nik]
    out: list[Payment] = []
    for i, (member, share) in enumerate(owed):
        wage_acct = member.bank_account
        assert wage_acct is not None  # Proposal validation: every Padat Karya worker has one
        tid = f"{batch_id(gid, attempt)}-{i:02d}"
        out.append(
            Payment(
                transfer_id=tid,
                idempotency_key=tid,
                beneficiary=member.name,
                bank_code=wage_acct.bank_code,
                account_no=wage_acct.account_no,
                amount=share,
                attempt=attempt,
                member_nik=member.nik,
            )
        )
    return out


def payment_batch(state: GroupSummary, attempt: int, transfers: list[Payment]) -> PaymentBatch:
    """What the bank activity is handed: the transfers' specs, keyed as recorded, and whose freeze
    is checked before each one is sent."""
    bid = batch_id(state.group_id, attempt)
    return PaymentBatch(
        group_id=state.group_id,
        program=state.program.value,
        region_code=state.region_code,
        batch_id=bid,
        attempt=attempt,
        transfers=[
            TransferSpec(
                transfer_id=t.transfer_id,
                idempotency_key=t.idempotency_key,
                batch_id=bid,
                beneficiary=t.beneficiary,
                bank_code=t.bank_code,
                account_no=t.account_no,
                amount=t.amount,
            )
            for t in transfers
        ],
    )
