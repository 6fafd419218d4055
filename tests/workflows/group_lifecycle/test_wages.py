"""Padat Karya paid by the week from muster rolls (workflows/group_lifecycle/muster.py, wages.py):
the wage bill reserved once, rolls with and without exceptions, wage runs of days × rate paid once
per worker per week, a failed transfer owed until the account is fixed, the rest released at the
end, the handover completing the group. Activities faked (fakes.py), the workflow real."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from jps.domain.calendar import WIB
from jps.domain.models import Proposal
from jps.domain.programs import DEFAULT_POLICIES, Program, ProgramPolicy
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from jps.domain.wages import WagePolicy, WorkRole, Worksite
from tests.factories import EQUAL_SPLIT, member, officer, proposal
from tests.workflows.group_lifecycle.fakes import (
    FINANCE,
    MENTOR,
    REGISTRAR,
    SUPERVISOR,
    Flow,
    failed,
    paid,
)

SITE = Worksite(lat=-6.2, lon=106.85, radius_m=200)
STRANGER = member(99, regency="3171").nik


def wage_policy(**kw: Any) -> ProgramPolicy:
    return DEFAULT_POLICIES[Program.PADAT_KARYA].model_copy(
        update={"wages": WagePolicy(planned_workdays=6, **kw)}
    )


def pk_proposal() -> Proposal:
    p = proposal(Program.PADAT_KARYA, size=10)
    roles = {0: WorkRole.FOREMAN, 1: WorkRole.SKILLED}
    members = [
        m.model_copy(update={"work_role": roles.get(i, WorkRole.WORKER)}) for i, m in enumerate(p.members)
    ]
    return p.model_copy(update={"members": members, "worksite": SITE})


def photo(flow: Flow, fid: str, day: date, *, lat: float = SITE.lat, kind: str = "image/jpeg") -> str:
    flow.fakes.files[fid] = {
        "file_id": fid,
        "sha256": "0" * 64,
        "content_type": kind,
        "purpose": "worksite_photo",
        "lat": lat,
        "lon": SITE.lon,
        "captured_at": datetime.combine(day, time(10), tzinfo=WIB),
    }
    return fid


async def mondays(flow: Flow) -> tuple[date, date]:
    today = await flow.today()
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=14), this_monday - timedelta(days=7)


async def working(
    flow: Flow, policy: ProgramPolicy | None = None
) -> tuple[WorkflowHandle[Any, Any], Proposal]:
    p = pk_proposal()
    handle = await flow.at_disbursement(p, policy=policy or wage_policy())
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000, notes="wage bill")
    state = await flow.idle(handle)
    assert state.runtime.wages is not None and state.runtime.wages.reservation_id
    assert state.task_of(TaskKind.SUBMIT_MUSTER) is not None
    return handle, p


def entry(nik: str, day: date, hours: int = 8) -> dict[str, Any]:
    return {"nik": nik, "date": day.isoformat(), "hours": hours}


async def test_three_rolls_pay_days_times_rate_once_and_the_group_hands_over(flow: Flow) -> None:
    handle, p = await working(flow)
    gid = handle.id
    m = [x.nik for x in p.members]
    w1, w2 = await mondays(flow)
    mon, tue, wed = w1, w1 + timedelta(days=1), w1 + timedelta(days=2)
    # Week 1: Wednesday's photo is outside the radius, and a stranger is on the roll.
    state = await flow.act(
        handle,
        "submit-muster",
        MENTOR,
        week_starts_on=w1.isoformat(),
        entries=[
            entry(m[0], mon),
            entry(m[0], tue),
            entry(m[0], wed),
            entry(m[1], mon),
            entry(m[1], tue),
            entry(m[2], mon),
            entry(m[3], wed),
            entry(STRANGER, tue),
        ],
        evidence=[
            {"date": mon.isoformat(), "file_ids": [photo(flow, "F-MON00000001", mon)]},
            {"date": tue.isoformat(), "file_ids": [photo(flow, "F-TUE00000001", tue)]},
            {"date": wed.isoformat(), "file_ids": [photo(flow, "F-WED00000001", wed, lat=-6.21)]},
        ],
    )
    assert state.task_of(TaskKind.REVIEW_MUSTER) is not None
    st = await flow.state(handle)
    assert st.runtime.wages is not None
    kinds = sorted((e.kind, e.nik) for e in st.runtime.wages.weeks[0].exceptions)
    assert kinds == sorted([("outside_radius", m[0]), ("outside_radius", m[3]), ("not_member", STRANGER)])
    # The mentor cannot review the roll; a stranger's day cannot be accepted.
    assert (
        await flow.refused(
            handle,
            "review-muster",
            MENTOR,
            decisions=[
                {"nik": m[0], "date": wed.isoformat(), "accept": True, "reason": "village head's photo"}
            ],
        )
        == "Forbidden"
    )
    assert (
        await flow.refused(
            handle,
            "review-muster",
            SUPERVISOR,
            decisions=[{"nik": STRANGER, "date": tue.isoformat(), "accept": True, "reason": "helper"}],
        )
        == "Invalid"
    )
    state = await flow.act(
        handle,
        "review-muster",
        SUPERVISOR,
        decisions=[
            {
                "nik": m[0],
                "date": wed.isoformat(),
                "accept": True,
                "reason": "photo by the village head, GPS off",
            },
            {"nik": m[3], "date": wed.isoformat(), "accept": False, "reason": "not seen on site"},
            {"nik": STRANGER, "date": tue.isoformat(), "accept": False, "reason": "not a member"},
        ],
    )
    assert state.task_of(TaskKind.REVIEW_MUSTER) is None and state.task_of(TaskKind.APPROVE_WAGES) is not None
    # Finance cannot type a rate other than the policy's.
    assert (
        await flow.refused(
            handle, "approve-wages", FINANCE, week_starts_on=w1.isoformat(), rates={"worker": 120_000}
        )
        == "Invalid"
    )
    await flow.act(
        handle, "approve-wages", FINANCE, week_starts_on=w1.isoformat(), rates={"foreman": 150_000}
    )
    state = await flow.idle(handle)
    week1 = {p.member_nik: p.amount for p in state.payments}
    assert week1 == {m[0]: 3 * 150_000, m[1]: 2 * 125_000, m[2]: 1 * 100_000}
    assert all(p.status == "paid" for p in state.payments)
    # The same week again is refused; so is a future day and too many hours.
    assert "already paid" in await _refusal(flow, handle, w1, [entry(m[5], mon)])
    future = await flow.today(1)
    this_monday = future - timedelta(days=future.weekday())
    if future >= this_monday:
        assert "future" in await _refusal(flow, handle, this_monday, [entry(m[5], future)])
    assert "hours" in await _refusal(flow, handle, w2, [entry(m[5], w2, hours=11)])
    # Week 2: clean (accepted on submission); worker 4's transfer fails and stays owed.
    days2 = [w2 + timedelta(days=i) for i in range(3)]
    ev = [
        {"date": d.isoformat(), "file_ids": [photo(flow, f"F-W2D{i}0000001", d)]} for i, d in enumerate(days2)
    ]
    state = await flow.act(
        handle,
        "submit-muster",
        MENTOR,
        week_starts_on=w2.isoformat(),
        entries=[entry(m[0], d) for d in days2]
        + [entry(m[4], days2[0]), entry(m[4], days2[1]), entry(m[5], days2[2])],
        evidence=ev,
    )
    assert state.task_of(TaskKind.REVIEW_MUSTER) is None
    refused_tid = f"{gid}-W{w2:%Y%m%d}-04"
    flow.fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.transfer_id == refused_tid else paid(t.transfer_id)
        for t in batch.transfers
    ]
    await flow.act(handle, "approve-wages", FINANCE, week_starts_on=w2.isoformat())
    state = await flow.idle(handle)
    assert state.stage == Stage.DISBURSEMENT and state.task_of(TaskKind.FIX_WAGE_ACCOUNT) is not None
    assert state.wages is not None and state.wages.owed == 200_000
    flow.fakes.instruct = lambda batch: [paid(t.transfer_id) for t in batch.transfers]
    acct = {"bank_code": "009", "account_no": "5550001111", "holder_name": "Anggota 4"}
    await flow.act(handle, "update-bank-account", REGISTRAR, bank_account=acct, member_nik=m[4])
    state = await flow.idle(handle)
    # Planned workdays done and nothing owed: the rest released, the handover is the last visit.
    assert state.stage == Stage.MENTORING, state.open_tasks
    paid_by_tid = {p.transfer_id: p for p in state.payments}
    assert paid_by_tid[refused_tid].status == "failed" and paid_by_tid[f"{refused_tid}-R1"].status == "paid"
    per_worker_week2 = {
        p.member_nik: p.amount
        for p in state.payments
        if p.status == "paid" and f"W{w2:%Y%m%d}" in p.transfer_id
    }
    assert per_worker_week2 == {m[0]: 450_000, m[4]: 200_000, m[5]: 100_000}
    total = 800_000 + 750_000
    draws = [r.draw for r in flow.fakes.records if r.draw is not None]
    assert sum(d.amount for d in draws) == total and len({d.draw_id for d in draws}) == len(draws)
    settle = flow.fakes.records[-1].settle
    assert settle is not None and settle.paid_amount == 0 and settle.reservation_id == f"{gid}:0"
    assert (
        state.wages is not None and state.wages.drawn == total and state.wages.released == 10_000_000 - total
    )
    handover = state.visits[-1]
    assert handover.handover
    assert (
        await flow.refused(
            handle,
            "report-visit",
            MENTOR,
            visit_no=handover.visit_no,
            visited_on=(await flow.today()).isoformat(),
            business_status="running",
        )
        == "Invalid"
    )
    state = await flow.act(
        handle,
        "report-visit",
        MENTOR,
        visit_no=handover.visit_no,
        handover=True,
        visited_on=(await flow.today()).isoformat(),
        business_status="running",
    )
    assert state.stage == Stage.COMPLETED


async def _refusal(
    flow: Flow, handle: WorkflowHandle[Any, Any], week: date, entries: list[dict[str, Any]]
) -> str:
    from temporalio.client import WorkflowUpdateFailedError

    try:
        await flow.act(handle, "submit-muster", MENTOR, week_starts_on=week.isoformat(), entries=entries)
    except WorkflowUpdateFailedError as err:
        return str(err.cause)
    raise AssertionError("accepted")


async def test_a_photo_that_is_not_an_image_or_a_day_held_elsewhere_is_refused_and_nothing_changes(
    flow: Flow,
) -> None:
    handle, p = await working(flow)
    w1, _ = await mondays(flow)
    nik = p.members[1].nik
    pdf = photo(flow, "F-PDF00000001", w1, kind="application/pdf")
    before = await flow.state(handle)
    try:
        await flow.act(
            handle,
            "submit-muster",
            MENTOR,
            week_starts_on=w1.isoformat(),
            entries=[entry(nik, w1)],
            evidence=[{"date": w1.isoformat(), "file_ids": [pdf]}],
        )
    except Exception as err:
        assert "not an image" in str(getattr(err, "cause", err))
    else:
        raise AssertionError("accepted")
    flow.fakes.days_held[(nik, w1)] = "PK-3171-OTHERGROUP"
    try:
        await flow.act(
            handle, "submit-muster", MENTOR, week_starts_on=w1.isoformat(), entries=[entry(nik, w1)]
        )
    except Exception as err:
        assert getattr(err, "cause", None) is not None and err.cause.type == "NikConflict"  # type: ignore[attr-defined]
    else:
        raise AssertionError("accepted")
    after = await flow.state(handle)
    assert after.runtime.wages == before.runtime.wages and after.seq == before.seq


async def test_new_bank_details_above_the_weekly_threshold_wait_for_a_supervisor(flow: Flow) -> None:
    """A week above the weekly threshold was authorized; one worker's transfer failed. New details for
    that worker go out only once a supervisor who did not enter them (nor approved the wage bill, nor
    released the week) authorizes them: one officer's word never sends money above the threshold to
    a new account. The finance officer who released the week cannot change the worker's details."""
    handle, p = await working(flow, wage_policy(authorize_weekly_above=500_000))
    gid = handle.id
    m = [x.nik for x in p.members]
    w1, _ = await mondays(flow)
    days = [w1, w1 + timedelta(days=1)]
    ev = [
        {"date": d.isoformat(), "file_ids": [photo(flow, f"F-RA{i}00000001", d)]} for i, d in enumerate(days)
    ]
    entries = [entry(nik, d) for nik in m[:3] for d in days]
    await flow.act(
        handle, "submit-muster", MENTOR, week_starts_on=w1.isoformat(), entries=entries, evidence=ev
    )
    refused_tid = f"{gid}-W{w1:%Y%m%d}-02"
    flow.fakes.instruct = lambda batch: [
        failed(t.transfer_id) if t.transfer_id == refused_tid else paid(t.transfer_id)
        for t in batch.transfers
    ]
    await flow.act(handle, "approve-wages", FINANCE, week_starts_on=w1.isoformat())  # Rp 750,000
    await flow.act(handle, "authorize-wages", SUPERVISOR, week_starts_on=w1.isoformat())
    state = await flow.idle(handle)
    assert state.task_of(TaskKind.FIX_WAGE_ACCOUNT) is not None
    assert state.wages is not None and state.wages.owed == 200_000
    flow.fakes.instruct = lambda batch: [paid(t.transfer_id) for t in batch.transfers]
    batches = len(flow.fakes.batches)
    acct = {"bank_code": "009", "account_no": "5550003333", "holder_name": "Anggota 2"}

    # Finance released the week: it does not also say where the worker's wages go.
    assert (
        await flow.refused(handle, "update-bank-account", FINANCE, bank_account=acct, member_nik=m[2])
        == "Forbidden"
    )
    changer = officer(Role.REGISTRAR, officer_id="registrar-7")
    changer.roles.append(Role.SUPERVISOR)
    answer = await flow.act(handle, "update-bank-account", changer, bank_account=acct, member_nik=m[2])
    assert answer.task_of(TaskKind.AUTHORIZE_WAGES) is not None
    assert answer.task_of(TaskKind.FIX_WAGE_ACCOUNT) is None
    assert flow.fakes.records[-1].event == "bank_account_updated"
    assert flow.fakes.records[-1].notify == ["authorization_needed"]
    state = await flow.idle(handle)
    assert len(flow.fakes.batches) == batches  # nothing goes to the new account on one officer's word
    assert state.wages is not None and state.wages.owed == 200_000
    assert state.runtime.wages is not None and [a.nik for a in state.runtime.wages.new_accounts] == [m[2]]

    # Neither the officer who entered the details, nor finance, nor a worker with nothing waiting.
    assert await flow.refused(handle, "authorize-wages", changer, member_nik=m[2]) == "Forbidden"
    assert await flow.refused(handle, "authorize-wages", FINANCE, member_nik=m[2]) == "Forbidden"
    assert await flow.refused(handle, "authorize-wages", SUPERVISOR, member_nik=m[1]) == "Invalid"
    recorded = len(flow.fakes.records)
    answer = await flow.act(handle, "authorize-wages", SUPERVISOR, member_nik=m[2], notes="rekening dicek")
    assert answer.task_of(TaskKind.AUTHORIZE_WAGES) is None
    # The step's own record first; since the local record the re-sent wages' record can follow
    # within the same workflow task, before the update's answer.
    assert flow.fakes.records[recorded].event == "wage_account_authorized"
    state = await flow.idle(handle)
    resent = [(t.transfer_id, t.account_no, t.amount) for t in flow.fakes.batches[-1].transfers]
    assert resent == [(f"{refused_tid}-R1", "5550003333", 200_000)]
    assert state.wages is not None and state.wages.owed == 0 and state.wages.drawn == 750_000
    assert state.runtime.wages is not None and state.runtime.wages.new_accounts == []


async def test_cancel_releases_the_wage_bill_until_the_first_wage_is_paid(flow: Flow) -> None:
    handle, _ = await working(flow)
    state = await flow.act(handle, "cancel", SUPERVISOR, reason="the village withdrew the site")
    assert state.stage == Stage.CANCELLED
    assert [s.reservation_id for s in flow.fakes.settlements] == [f"{handle.id}:0"]


async def test_groups_without_the_wage_rule_keep_the_equal_split(flow: Flow) -> None:
    handle = await flow.at_disbursement(pk_proposal(), policy=EQUAL_SPLIT)  # submitted before the rule
    await flow.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)
    state = await flow.idle(handle)
    assert state.runtime.wages is None and state.stage == Stage.MENTORING
    assert {p.amount for p in state.payments} == {1_000_000}
