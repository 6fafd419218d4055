"""Padat Karya shares after a refusal (issue 10, scenario 12, and the mixed-failure case): a
supervisor gives up a worker's unpaid share so the group goes on; a worker whose failure was only
passing is retried, not sent to an officer."""

from __future__ import annotations

from jps.domain.programs import Program
from jps.domain.stages import Stage, TaskKind
from tests.factories import EQUAL_SPLIT, proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    REGISTRAR,
    SUPERVISOR,
    FakeActivities,
    Flow,
    PaymentBatch,
    PaymentResult,
    failed,
    paid,
    task_kind,
)

POLICY = EQUAL_SPLIT  # shares of one wage bill: groups submitted before the weekly wage rule


async def test_a_supervisor_releases_an_unfixable_share_and_the_group_goes_on(
    flow: Flow, fakes: FakeActivities
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    gone = p.members[3]
    assert gone.bank_account is not None
    gone_no = gone.bank_account.account_no
    fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.account_no == gone_no else paid(t.transfer_id) for t in batch.transfers
    ]
    handle = await flow.at_disbursement(p, policy=POLICY)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT
    # Cancel is refused once any worker is paid: before release-share this group was stuck for good.
    assert await flow.refused(handle, "cancel", SUPERVISOR, reason="pekerja pindah") == "WrongStage"
    assert (
        await flow.refused(handle, "release-share", FINANCE, member_nik=gone.nik, reason="pindah")
        == "Forbidden"
    )
    other = p.members[0].nik
    assert (
        await flow.refused(handle, "release-share", SUPERVISOR, member_nik=other, reason="pindah")
        == "Invalid"
    )
    await flow.act(
        handle, "release-share", SUPERVISOR, member_nik=gone.nik, reason="pekerja pindah ke luar kota"
    )
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING and task_kind(state) == TaskKind.REPORT_VISIT
    released = [pay for pay in state.payments if pay.released_by]
    assert [(r.member_nik, r.released_by) for r in released] == [(gone.nik, SUPERVISOR.id)]
    assert len(fakes.batches) == 1  # nothing paid twice, nothing sent again
    assert fakes.records[-1].event == "share_released" and fakes.records[-1].reason.startswith("pekerja")


async def test_a_passing_failure_beside_a_permanent_one_is_not_an_officers_to_fix(
    flow: Flow, fakes: FakeActivities
) -> None:
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    closed, flaky = p.members[2], p.members[5]
    assert closed.bank_account is not None and flaky.bank_account is not None
    closed_no, flaky_no = closed.bank_account.account_no, flaky.bank_account.account_no

    def bank(batch: PaymentBatch) -> list[PaymentResult]:
        out = []
        for t in batch.transfers:
            if batch.attempt == 1 and t.account_no == closed_no:
                out.append(failed(t.transfer_id, "account_closed"))
            elif batch.attempt == 1 and t.account_no == flaky_no:
                out.append(failed(t.transfer_id, "timeout", permanent=False))
            else:
                out.append(paid(t.transfer_id))
        return out

    fakes.instruct = bank
    handle = await flow.at_disbursement(p, policy=POLICY)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT
    new = {"bank_code": "009", "account_no": "5550003333", "holder_name": closed.name}
    await flow.act(handle, "update-bank-account", REGISTRAR, bank_account=new, member_nik=closed.nik)
    # Fixing the closed account is enough: the passing failure is retried with it, no officer needed
    # (the retry may have reserved and instructed already: the reservation is a local activity).
    [fixed] = [r for r in fakes.records if r.event == "bank_account_updated"]
    assert fixed.details["still_to_fix"] == []
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    second = {t.account_no for t in fakes.batches[1].transfers}
    assert second == {"5550003333", flaky_no}


async def test_releasing_the_refused_share_pays_a_passing_failure_without_an_officer(
    flow: Flow, fakes: FakeActivities
) -> None:
    """A closed account and a passing failure in one wage batch; the closed one's worker left: once
    the supervisor releases that share, the passing one is retried at once, no account to "fix"."""
    p = proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    gone, flaky = p.members[2], p.members[5]
    assert gone.bank_account is not None and flaky.bank_account is not None
    gone_no, flaky_no = gone.bank_account.account_no, flaky.bank_account.account_no

    def bank(batch: PaymentBatch) -> list[PaymentResult]:
        out = []
        for t in batch.transfers:
            if t.account_no == gone_no:
                out.append(failed(t.transfer_id, "account_closed"))
            elif batch.attempt == 1 and t.account_no == flaky_no:
                out.append(failed(t.transfer_id, "timeout", permanent=False))
            else:
                out.append(paid(t.transfer_id))
        return out

    fakes.instruct = bank
    handle = await flow.at_disbursement(p, policy=POLICY)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert task_kind(state) == TaskKind.UPDATE_BANK_ACCOUNT
    await flow.act(handle, "release-share", SUPERVISOR, member_nik=gone.nik, reason="pekerja pindah")
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    assert [t.account_no for t in fakes.batches[1].transfers] == [flaky_no]
