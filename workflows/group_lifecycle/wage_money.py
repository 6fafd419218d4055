"""The weekly wage run's arithmetic, pure: no workflow APIs, no I/O, tested on its own
(tests/workflows/group_lifecycle/test_wage_money.py).

A worker's wage for a week is days (or hours, by the policy's rule) × the daily rate of the
worker's role, whole rupiah, computed here and never typed by an officer. Transfer ids are
`{group}-W{yyyymmdd}-{nn}` (nn: the member's place in the proposal), `-R{k}` for the k-th transfer
after a failure: one key per worker per week, and a new one only after the bank's final failure,
so a retried or resumed batch can never pay a worker twice for a week.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

# Passed through the sandbox as the workflow's other modules pass them: the models built here go
# into the state and the records, whose classes must be the very same (no workflow API is used).
with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import PaymentBatch, TransferSpec
    from jps.contracts.wages import WageLine, WageRuntime, WageWeekRecord, WeekRun, WorkerWeek
    from jps.domain.models import Payment, Proposal
    from jps.domain.nik import mask_nik
    from jps.domain.wages import AccountToAuthorize, WagePolicy, WageTotals, WeekTotals, wage


def week_key(week: date) -> str:
    return f"W{week:%Y%m%d}"


def worked_totals(run: WeekRun) -> list[WorkerWeek]:
    """Each worker's accepted days and hours: the clean entries plus the accepted exceptions."""
    totals = {w.nik: w.model_copy() for w in run.worked}
    for e in run.exceptions:
        if e.decision == "accepted" and e.kind != "not_member":
            t = totals.setdefault(e.nik, WorkerWeek(nik=e.nik))
            t.days += 1
            t.hours += e.hours
    return [totals[n] for n in sorted(totals)]


def wage_lines(run: WeekRun, proposal: Proposal, policy: WagePolicy, region_code: str) -> list[WageLine]:
    """The week's wage run, in the members' order; workers without accepted work have no line."""
    worked = {w.nik: w for w in worked_totals(run)}
    lines: list[WageLine] = []
    for no, member in enumerate(proposal.members):
        w = worked.get(member.nik)
        if w is None or w.days == 0:
            continue
        rate = policy.rate(member.work_role, region_code)
        amount = wage(policy, days=w.days, hours=w.hours, rate=rate)
        if amount <= 0:
            continue
        lines.append(
            WageLine(
                nik=member.nik,
                member_no=no,
                role=member.work_role,
                days=w.days,
                hours=w.hours,
                rate=rate,
                amount=amount,
            )
        )
    return lines


def transfer_id(group_id: str, week: date, line: WageLine) -> str:
    base = f"{group_id}-{week_key(week)}-{line.member_no:02d}"
    return base if line.tries == 0 else f"{base}-R{line.tries}"


def due_lines(wages: WageRuntime) -> list[tuple[WeekRun, WageLine]]:
    return [(run, line) for run in wages.weeks for line in run.lines if line.status == "due"]


def batch_transfers(
    group_id: str, proposal: Proposal, lines: list[tuple[WeekRun, WageLine]], attempt: int
) -> list[Payment]:
    """The transfers of a batch, one per line, each to the worker's own account as it is now."""
    by_nik = {m.nik: m for m in proposal.members}
    out: list[Payment] = []
    for run, line in lines:
        member = by_nik[line.nik]
        acct = member.bank_account
        assert acct is not None  # Proposal validation: every Padat Karya worker has one
        tid = transfer_id(group_id, run.week_starts_on, line)
        out.append(
            Payment(
                transfer_id=tid,
                idempotency_key=tid,
                beneficiary=member.name,
                bank_code=acct.bank_code,
                account_no=acct.account_no,
                amount=line.amount,
                attempt=attempt,
                member_nik=line.nik,
            )
        )
    return out


def wage_batch(
    group_id: str, program: str, region_code: str, batch_id: str, attempt: int, transfers: list[Payment]
) -> PaymentBatch:
    return PaymentBatch(
        group_id=group_id,
        program=program,
        region_code=region_code,
        batch_id=batch_id,
        attempt=attempt,
        transfers=[
            TransferSpec(
                transfer_id=t.transfer_id,
                idempotency_key=t.idempotency_key,
                batch_id=batch_id,
                beneficiary=t.beneficiary,
                bank_code=t.bank_code,
                account_no=t.account_no,
                amount=t.amount,
            )
            for t in transfers
        ],
    )


def week_totals(run: WeekRun) -> WeekTotals:
    worked = worked_totals(run)
    return WeekTotals(
        week_starts_on=run.week_starts_on,
        status=run.status,
        workers=sum(1 for w in worked if w.days > 0),
        workdays=len(run.accepted_days()),
        worker_days=sum(w.days for w in worked),
        exceptions=len(run.exceptions),
        struck=sum(1 for e in run.exceptions if e.decision == "struck"),
        total=run.total,
        paid=sum(line.amount for line in run.lines if line.status == "paid"),
        owed=sum(
            line.amount for line in run.lines if line.status in ("failed", "due") and run.status == "settled"
        ),
        released=sum(line.amount for line in run.lines if line.status == "released"),
    )


def workdays_worked(wages: WageRuntime) -> int:
    """Site days with accepted work, across the accepted weeks."""
    days: set[date] = set()
    for run in wages.weeks:
        if run.status != "in_review":
            days |= run.accepted_days()
    return len(days)


def committed(wages: WageRuntime) -> int:
    """What the weeks already owe or paid (every wage line not given up): the reservation must cover it."""
    return sum(line.amount for run in wages.weeks for line in run.lines if line.status != "released")


def drawn(wages: WageRuntime) -> int:
    return sum(line.amount for run in wages.weeks for line in run.lines if line.status == "paid")


def totals(wages: WageRuntime, policy: WagePolicy, ceiling: int, proposal: Proposal) -> WageTotals:
    number = {m.nik: n for n, m in enumerate(proposal.members, start=1)}
    return WageTotals(
        planned_workdays=policy.planned_workdays,
        workdays_worked=workdays_worked(wages),
        ceiling=ceiling,
        reserved=wages.reservation_id is not None,
        drawn=drawn(wages),
        released=wages.released,
        weeks=[week_totals(run) for run in wages.weeks],
        accounts_to_authorize=[
            AccountToAuthorize(member_no=number[a.nik], nik_masked=mask_nik(a.nik), amount=a.amount)
            for a in wages.new_accounts
            if a.nik in number
        ],
    )


def owed_niks(wages: WageRuntime) -> set[str]:
    """Workers with a wage whose transfer failed and is neither fixed nor given up."""
    return {ln.nik for run in wages.weeks for ln in run.lines if ln.status == "failed"}


def owed_again(wages: WageRuntime, nik: str) -> list[WeekRun]:
    """The worker's account is fixed: each failed wage is due again (a new transfer, a new key)."""
    runs = []
    for run in wages.weeks:
        for ln in run.lines:
            if ln.nik == nik and ln.status == "failed":
                ln.status = "due"
                runs.append(run)
    return runs


def give_up(wages: WageRuntime, nik: str, reason: str) -> tuple[int, list[WeekRun]]:
    """A supervisor gives up the worker's failed wages: released (the reservation keeps the money
    until the work period ends, when whatever was never drawn is released)."""
    amount, runs = 0, []
    for run in wages.weeks:
        for ln in run.lines:
            if ln.nik == nik and ln.status == "failed":
                ln.status, ln.reason = "released", f"released: {reason}"[:500]
                amount += ln.amount
                runs.append(run)
    return amount, runs


def week_records(runs: list[WeekRun]) -> list[WageWeekRecord]:
    """What a recorded step writes of these weeks (each once)."""
    unique = list({r.week_starts_on: r for r in runs}.values())
    return [
        WageWeekRecord(
            week_starts_on=r.week_starts_on,
            totals=week_totals(r),
            exceptions=r.exceptions,
            lines=r.lines,
            approved_by=r.approved_by,
            authorized_by=r.authorized_by,
        )
        for r in unique
    ]
