"""The LPJ (a paid TKM group's use-of-funds report) and recovery of what it does not account for:
sent back and accepted; refused when it does not add up; overdue past its last escalation, accepted
short or rejected, each a receivable that repayments and a write-off settle."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from jps.domain.programs import DEFAULT_POLICIES, LpjPolicy, Program
from jps.domain.stages import EscalationLevel, Stage, TaskKind
from tests.factories import lpj_lines, proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    MENTOR,
    REGISTRAR,
    SUPERVISOR,
    VERIFIER,
    FakeActivities,
    Flow,
    GroupSummary,
)
from tests.workflows.group_lifecycle.test_happy_path import mentor_to_completion
from workflows.group_lifecycle import patches

PAID = 11_000_000
_TKM_LPJ = DEFAULT_POLICIES[Program.TKM].lpj
assert _TKM_LPJ is not None
LPJ_POLICY: LpjPolicy = _TKM_LPJ


async def paid_group(flow: Flow) -> tuple[WorkflowHandle[Any, Any], GroupSummary]:
    handle, _ = await flow.submit(proposal(Program.TKM, amount=12_000_000))
    await flow.through_training(handle)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=PAID)
    state = await flow.idle(handle)
    assert state.stage == Stage.MENTORING
    return handle, state


async def refusal(flow: Flow, handle: WorkflowHandle[Any, Any], action: str, who: Any, **args: Any) -> str:
    """The refusal's "type: message" (the message names the field); nothing changed."""
    before, recorded = await flow.state(handle), len(flow.fakes.records)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await flow.act(handle, action, who, **args)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert await flow.state(handle) == before and len(flow.fakes.records) == recorded
    return f"{cause.type}: {cause.message}"


async def test_an_lpj_sent_back_is_resubmitted_accepted_and_the_group_completes(
    flow: Flow, fakes: FakeActivities
) -> None:
    handle, state = await paid_group(flow)
    assert state.lpj is not None and state.lpj.paid == PAID and state.lpj.status == "due"
    task = state.task_of(TaskKind.SUBMIT_LPJ)
    assert task is not None and state.task_of(TaskKind.REPORT_VISIT) is not None  # beside the visits
    assert state.lpj.due_on == await flow.today(LPJ_POLICY.due_after.days) and task.due_at == state.lpj.due_at
    assert "lpj_due" in fakes.records[-1].notify

    today = await flow.today()
    first = lpj_lines(PAID - 1_000_000, today, tag="first")
    state = await flow.act(handle, "submit-lpj", REGISTRAR, lines=first, notes="atas nama ketua")
    assert state.lpj is not None and state.lpj.status == "under_review" and state.lpj.version == 1
    assert state.task_of(TaskKind.REVIEW_LPJ) is not None and state.task_of(TaskKind.SUBMIT_LPJ) is None
    assert fakes.records[-1].lpj_lines is not None and len(fakes.records[-1].lpj_lines) == 2
    # A second submission while one is under review: refused (409), nothing recorded.
    again = await refusal(flow, handle, "submit-lpj", MENTOR, lines=first)
    assert again.startswith("WrongStage")
    # The verifier sends it back: due again, notes kept.
    state = await flow.act(handle, "review-lpj", VERIFIER, decision="revise", notes="nota baris 2 buram")
    assert state.lpj is not None and state.lpj.status == "revise"
    revise_task = state.task_of(TaskKind.SUBMIT_LPJ)
    assert revise_task is not None and "nota baris 2 buram" in revise_task.note

    second = lpj_lines(PAID, today, tag="second")
    await flow.act(handle, "submit-lpj", MENTOR, lines=second)
    state = await flow.act(handle, "review-lpj", VERIFIER, decision="accept")
    assert state.lpj is not None and state.lpj.status == "accepted" and state.lpj.accounted == PAID
    assert state.receivable is None and state.stage == Stage.MENTORING  # the visits are still due

    final = await mentor_to_completion(flow, handle)
    assert final.stage == Stage.COMPLETED and final.open_tasks == []
    assert fakes.events.count("lpj_submitted") == 2 and "lpj_revision_requested" in fakes.events
    # Started under the newest starting patch, which implies the older ones, leaner-history-v1 among
    # them, and so lpj-v1, without asking for any of them (patches.STARTING).
    newest, *older = patches.STARTING
    assert await asked_for_the_patch(handle, newest)
    for patch_id in older:
        assert not await asked_for_the_patch(handle, patch_id)
    assert not await asked_for_the_patch(handle)


async def test_lines_that_do_not_add_up_are_refused_naming_the_field(flow: Flow) -> None:
    handle, _ = await paid_group(flow)
    today = await flow.today()

    async def refused(lines: list[dict[str, Any]]) -> str:
        return await refusal(flow, handle, "submit-lpj", MENTOR, lines=lines)

    over = lpj_lines(PAID + 10, today, tag="over")
    assert (await refused(over)).startswith("Invalid: lines: the lines add up to 11,000,010")
    mostly_working = lpj_lines(PAID, today, tag="split", capital_percent=50)
    assert "capital_goods is 50% of the total; the policy asks at least 60%" in await refused(mostly_working)
    future = lpj_lines(PAID, today + timedelta(days=1), tag="future")
    assert (await refused(future)).startswith("Invalid: lines[0].spent_on: a date in the future")
    before = lpj_lines(PAID, today - timedelta(days=1), tag="before")
    assert (await refused(before)).startswith("Invalid: lines[0].spent_on: before the aid was paid")
    twice = lpj_lines(PAID, today, tag="twice")
    twice[1]["receipt_sha256"] = twice[0]["receipt_sha256"]
    assert (await refused(twice)).startswith("Invalid: lines[1].file_id: the same receipt (by its content)")
    # The verifier's review waits for a submission; a mentor cannot review.
    assert (await refusal(flow, handle, "review-lpj", VERIFIER, decision="accept")).startswith("WrongStage")
    assert (
        await refusal(flow, handle, "record-repayment", FINANCE, amount=1, paid_on=today, reference="x-1")
    ).startswith("WrongStage")


async def test_an_overdue_lpj_becomes_a_receivable_repaid_in_part_and_written_off(
    flow: Flow, fakes: FakeActivities
) -> None:
    handle, state = await paid_group(flow)
    # The visits go on; the LPJ never comes. At its last escalation the whole aid is owed.
    policy = DEFAULT_POLICIES[Program.TKM]
    await flow.sleep(handle, LPJ_POLICY.due_after + timedelta(days=1))
    state = await flow.sleep(handle, policy.escalate_national_after + timedelta(days=1))
    assert state.stage == Stage.RECOVERY, [t.kind for t in state.open_tasks]
    assert state.lpj is not None and state.lpj.status == "overdue"
    assert (
        state.receivable is not None
        and state.receivable.amount == PAID
        and state.receivable.reason == "overdue"
    )
    assert [t.kind for t in state.open_tasks] == [TaskKind.RECOVER_RECEIVABLE]
    overdue = next(r for r in fakes.records if r.event == "lpj_overdue")
    assert overdue.stage == Stage.RECOVERY and overdue.receivable_event is not None
    assert overdue.receivable_event.kind == "opened" and overdue.receivable_event.amount == PAID
    escalations = [r.details.get("level") for r in fakes.records if r.details.get("task") == "submit_lpj"]
    assert escalations == [EscalationLevel.REMINDED, EscalationLevel.REGIONAL_SUPERVISOR, 3]

    today = await flow.today()
    assert (
        await refusal(
            flow, handle, "record-repayment", FINANCE, amount=PAID + 1, paid_on=today, reference="NTPN-1"
        )
    ).startswith("Invalid: amount: more than the 11,000,000 rupiah still owed")
    assert (
        await refusal(flow, handle, "write-off-receivable", FINANCE, amount=1, reason="tidak mampu")
    ).startswith("Forbidden")
    state = await flow.act(
        handle, "record-repayment", FINANCE, amount=4_000_000, paid_on=today, reference="NTPN-1"
    )
    assert (
        state.stage == Stage.RECOVERY
        and state.receivable is not None
        and state.receivable.outstanding == 7_000_000
    )
    state = await flow.act(
        handle,
        "write-off-receivable",
        SUPERVISOR,
        amount=7_000_000,
        reason="usaha tutup, anggota tidak mampu",
    )
    assert state.stage == Stage.COMPLETED and state.receivable is not None
    assert (state.receivable.recovered, state.receivable.written_off, state.receivable.outstanding) == (
        4_000_000,
        7_000_000,
        0,
    )
    moves = [
        (r.receivable_event.kind, r.receivable_event.amount) for r in fakes.records if r.receivable_event
    ]
    assert moves == [("opened", PAID), ("repayment", 4_000_000), ("write_off", 7_000_000)]


async def test_an_lpj_accepted_short_recovers_the_rest_after_the_visits(flow: Flow) -> None:
    handle, _ = await paid_group(flow)
    lines = lpj_lines(PAID - 2_500_000, await flow.today(), tag="short")
    await flow.act(handle, "submit-lpj", MENTOR, lines=lines)
    state = await flow.act(handle, "review-lpj", VERIFIER, decision="accept", notes="sisa belum dibelanjakan")
    assert state.receivable is not None and state.receivable.amount == 2_500_000
    assert state.receivable.reason == "short" and state.stage == Stage.MENTORING
    state = await mentor_to_completion(flow, handle)
    assert state.stage == Stage.RECOVERY  # the visits are done; the rest is owed
    state = await flow.act(
        handle, "record-repayment", FINANCE, amount=2_500_000, paid_on=await flow.today(), reference="NTPN-22"
    )
    assert state.stage == Stage.COMPLETED


async def test_a_rejected_lpj_ends_mentoring_and_opens_recovery_for_the_whole_aid(flow: Flow) -> None:
    handle, _ = await paid_group(flow)
    await flow.act(handle, "submit-lpj", MENTOR, lines=lpj_lines(PAID, await flow.today(), tag="rej"))
    with pytest.raises(ValidationError, match="notes"):  # a rejection says why (the API's 422)
        flow.args("review-lpj", VERIFIER, decision="reject")
    state = await flow.act(handle, "review-lpj", VERIFIER, decision="reject", notes="nota fiktif")
    assert state.stage == Stage.RECOVERY and state.receivable is not None
    assert state.receivable.amount == PAID and state.receivable.reason == "rejected"
    assert [t.kind for t in state.open_tasks] == [TaskKind.RECOVER_RECEIVABLE]


async def test_a_group_submitted_before_the_lpj_completes_after_its_visits(
    flow: Flow, fakes: FakeActivities
) -> None:
    """The rule travels with the group: a policy without an LPJ (every TKM group submitted before
    this change) completes after its visits, with no LPJ task and no patch marker asked for."""
    before = DEFAULT_POLICIES[Program.TKM].model_copy(update={"lpj": None})
    handle, _ = await flow.submit(proposal(Program.TKM, amount=12_000_000), policy=before)
    await flow.through_training(handle)
    await flow.act(handle, "approve-disbursement", FINANCE, amount=PAID)
    state = await flow.idle(handle)
    assert state.lpj is None and state.task_of(TaskKind.SUBMIT_LPJ) is None
    final = await mentor_to_completion(flow, handle)
    assert final.stage == Stage.COMPLETED and "lpj_submitted" not in fakes.events
    assert not await asked_for_the_patch(handle)


async def asked_for_the_patch(handle: WorkflowHandle[Any, Any], patch_id: str = "lpj-v1") -> bool:
    history = await handle.fetch_history()
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    return any(patch_id.encode() in e.marker_recorded_event_attributes.SerializeToString() for e in markers)


async def test_a_repayment_sent_twice_is_counted_once(flow: Flow, fakes: FakeActivities) -> None:
    """A client retrying after a 503 (the update may still have happened) or a double click sends the
    same deposit again: its reference (NTPN) is recorded once, also when both arrive together."""
    handle, _ = await paid_group(flow)
    await flow.act(handle, "submit-lpj", MENTOR, lines=lpj_lines(PAID, await flow.today(), tag="twice"))
    await flow.act(handle, "review-lpj", VERIFIER, decision="reject", notes="nota fiktif")
    today = await flow.today()
    # Both at once: the first waits on its record while the second passes its validator.
    gate = fakes.hold("repayment_recorded")
    first = asyncio.create_task(
        flow.act(handle, "record-repayment", FINANCE, amount=1_000_000, paid_on=today, reference="NTPN 0A1B")
    )
    await asyncio.sleep(0.3)
    second = asyncio.create_task(
        flow.act(handle, "record-repayment", FINANCE, amount=1_000_000, paid_on=today, reference="ntpn0a1b")
    )
    await asyncio.sleep(0.3)
    gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], GroupSummary) and isinstance(results[1], WorkflowUpdateFailedError)
    assert isinstance(results[1].cause, ApplicationError) and results[1].cause.type == "WrongStage"
    assert "reference: the repayment NTPN0A1B is already recorded" in str(results[1].cause.message)
    # Later, the same deposit again: refused (409), nothing changed.
    again = await refusal(
        flow, handle, "record-repayment", FINANCE, amount=1_000_000, paid_on=today, reference="NTPN 0A1B"
    )
    assert again.startswith("WrongStage: reference:")
    held = await flow.state(handle)
    assert held.receivable is not None and held.receivable.recovered == 1_000_000
    assert held.receivable.repayments == 1 and fakes.events.count("repayment_recorded") == 1
    state = await flow.act(
        handle, "record-repayment", FINANCE, amount=1_000_000, paid_on=today, reference="NTPN 0A1C"
    )
    assert state.receivable is not None and state.receivable.recovered == 2_000_000


async def test_a_write_off_sent_twice_is_counted_once(flow: Flow, fakes: FakeActivities) -> None:
    """The same write-off (amount and reason) sent again, by a retry or a double click, also when
    both arrive together, writes off once; another reason is another write-off."""
    handle, _ = await paid_group(flow)
    await flow.act(handle, "submit-lpj", MENTOR, lines=lpj_lines(PAID, await flow.today(), tag="wo"))
    await flow.act(handle, "review-lpj", VERIFIER, decision="reject", notes="nota fiktif")
    gate = fakes.hold("receivable_written_off")
    args = {"amount": 1_000_000, "reason": "usaha tutup; anggota pindah"}
    first = asyncio.create_task(flow.act(handle, "write-off-receivable", SUPERVISOR, **args))
    await asyncio.sleep(0.3)
    second = asyncio.create_task(flow.act(handle, "write-off-receivable", SUPERVISOR, **args))
    await asyncio.sleep(0.3)
    gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], GroupSummary) and isinstance(results[1], WorkflowUpdateFailedError)
    assert isinstance(results[1].cause, ApplicationError) and results[1].cause.type == "WrongStage"
    again = await refusal(flow, handle, "write-off-receivable", SUPERVISOR, **args)
    assert again.startswith("WrongStage: reason: this write-off is already recorded")
    held = await flow.state(handle)
    assert held.receivable is not None and held.receivable.written_off == 1_000_000
    assert fakes.events.count("receivable_written_off") == 1
    state = await flow.act(
        handle, "write-off-receivable", SUPERVISOR, amount=1_000_000, reason="anggota wafat"
    )
    assert state.receivable is not None and state.receivable.written_off == 2_000_000
