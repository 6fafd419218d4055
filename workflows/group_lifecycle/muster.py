"""The muster roll (daftar hadir) of a Padat Karya group paid by the week: the mentor submits who
worked which day with the worksite's photos (`submit-muster`); a roll whose checks found nothing is
accepted at once, one with exceptions (a day without a photo of the worksite, a photo outside its
radius, a person not in the group) waits for a supervisor who accepts or strikes each with a reason
(`review-muster`). An accepted roll becomes the week's wage run (`wages.py`).

The roll itself is written by its activity (`MusterActivities.record_muster`, a local activity first
for a run started under `local-rolls-v1`), which checks the
files and refuses a worker's day already on another roll (a unique index in PostgreSQL); a refused
roll writes nothing. The workflow keeps per-worker totals and the exceptions, not the roll.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.muster import MusterActivities
    from jps.contracts.refusals import ErrorType, RefusalKind
    from jps.contracts.wages import MusterRequest, MusterResult, WageRuntime, WageWeekRecord, WeekRun
    from jps.domain.calendar import end_of_local_day
    from jps.domain.models import StepResult
    from jps.domain.muster import ReviewMusterArgs, SubmitMusterArgs
    from jps.domain.nik import mask_nik
    from jps.domain.stages import TaskKind
    from jps.domain.wages import WagePolicy, wage

from workflows.group_lifecycle import wage_money
from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.local import written_once


class MusterSteps(LifecycleBase):
    # ---- shared by the work period's modules

    def _wages(self) -> WageRuntime:
        wages = self.state.runtime.wages
        if wages is None:
            raise refuse(RefusalKind.WRONG_STAGE, "this group is not paid by muster rolls")
        return wages

    def _wage_policy(self) -> WagePolicy:
        assert self.policy.wages is not None
        return self.policy.wages

    def _sync_wage_totals(self) -> None:
        wages = self.state.runtime.wages
        if wages is not None:
            self.state.wages = wage_money.totals(
                wages, self._wage_policy(), self.state.approved_amount or 0, self.state.proposal
            )

    def _week_record(self, *runs: WeekRun) -> list[WageWeekRecord]:
        return wage_money.week_records(list(runs))

    def _week(self, week: Any) -> WeekRun | None:
        return next((r for r in self._wages().weeks if r.week_starts_on == week), None)

    def _accept_week(self, run: WeekRun) -> None:
        """The roll is accepted: its wage run, computed here, waits for finance."""
        run.lines = wage_money.wage_lines(
            run, self.state.proposal, self._wage_policy(), self.state.region_code
        )
        if run.total == 0:
            run.status = "settled"  # nothing to pay (every day struck)
            return
        run.status = "accepted"
        self._open_task(
            TaskKind.APPROVE_WAGES,
            note=f"wages of the week of {run.week_starts_on.isoformat()}: Rp {run.total:,}",
        )

    def _open_muster_task(self) -> None:
        """The next roll is due two days after the end of the current week (WIB)."""
        if wage_money.workdays_worked(self._wages()) >= self._wage_policy().planned_workdays:
            self._close_task(TaskKind.SUBMIT_MUSTER)
            return
        today = self._today()
        sunday = today + timedelta(days=6 - today.weekday())
        due = end_of_local_day(sunday) + self.policy.sla_for(TaskKind.SUBMIT_MUSTER)
        self._open_task(TaskKind.SUBMIT_MUSTER, due_at=due, note=f"the roll of the week of {sunday:%Y-%m-%d}")

    # ---- submit-muster

    @workflow.update
    async def submit_muster(self, args: SubmitMusterArgs) -> StepResult:
        async with self._officer_step():
            self._validate_submit_muster(args)
            officer = self._officer(args)
            wages = self._wages()
            worksite = self.state.proposal.worksite
            assert worksite is not None  # the validator checked
            request = MusterRequest(
                group_id=self.state.group_id,
                program=self.state.program.value,
                region_code=self.state.region_code,
                week_starts_on=args.week_starts_on,
                roll_key=f"{self.state.group_id}:{self.state.seq + 1}:{workflow.info().run_id}",
                submitted_by=officer.id,
                submitted_at=workflow.now(),
                worksite=worksite,
                members=[m.nik for m in self.state.proposal.members],
                entries=args.entries,
                evidence=args.evidence,
                photos_per_day=self._wage_policy().photos_per_day,
            )
            try:
                result = await _record_roll(request, local=self.local_rolls)
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_DATA:
                    raise refuse(RefusalKind.INVALID, f"entries: {cause.message}"[:500]) from None
                raise
            if result.refusal:  # nothing was written
                raise refuse(
                    RefusalKind.NIK_CONFLICT if result.conflict else RefusalKind.INVALID, result.refusal
                )
            run = WeekRun(
                week_starts_on=args.week_starts_on,
                status="in_review",
                submitted_by=officer.id,
                submitted_at=workflow.now(),
                worked=result.worked,
                clean_days=result.clean_days,
                exceptions=result.exceptions,
            )
            wages.weeks.append(run)
            wages.weeks.sort(key=lambda r: r.week_starts_on)
            if run.exceptions:
                self._open_task(
                    TaskKind.REVIEW_MUSTER,
                    note=f"{len(run.exceptions)} exception(s) in the roll of {run.week_starts_on:%Y-%m-%d}",
                )
            else:
                self._accept_week(run)
            self._open_muster_task()
            self._sync_wage_totals()
            details: dict[str, Any] = {
                "week_starts_on": args.week_starts_on.isoformat(),
                "entries": len(args.entries),
                "exceptions": len(run.exceptions),
                "accepted": run.status != "in_review",
                "total": run.total,
            }
            await self._record(
                "muster_submitted",
                officer=officer,
                reason=args.notes,
                details=details,
                wage_weeks=self._week_record(run),
            )
            return self.state.step_result()

    @submit_muster.validator
    def _validate_submit_muster(self, args: SubmitMusterArgs) -> None:
        self._authorize("submit-muster", args.officer, TaskKind.SUBMIT_MUSTER)
        wages, policy = self._wages(), self._wage_policy()
        if self.state.proposal.worksite is None:
            raise refuse(
                RefusalKind.INVALID, "worksite: the proposal names no worksite to check photos against"
            )
        earlier = self._week(args.week_starts_on)
        if earlier is not None:
            done = "paid" if earlier.status in ("paying", "settled") else "submitted"
            raise refuse(RefusalKind.INVALID, f"week_starts_on: the roll of this week was already {done}")
        today, oldest = self._today(), self._today() - timedelta(days=policy.max_roll_age_days)
        for i, e in enumerate(args.entries):
            if e.date > today:
                raise refuse(RefusalKind.INVALID, f"entries.{i}.date: a day in the future")
            if e.date < oldest:
                raise refuse(
                    RefusalKind.INVALID, f"entries.{i}.date: more than {policy.max_roll_age_days} days ago"
                )
            if e.hours > policy.max_hours_per_day:
                raise refuse(
                    RefusalKind.INVALID,
                    f"entries.{i}.hours: above the policy's maximum of {policy.max_hours_per_day} a day",
                )
        for i, ev in enumerate(args.evidence):
            if ev.date > today:
                raise refuse(RefusalKind.INVALID, f"evidence.{i}.date: a day in the future")
        # The most this roll could cost (every entry of a member accepted) must fit in the wage bill.
        roles = {m.nik: m.work_role for m in self.state.proposal.members}
        days: dict[str, tuple[int, int]] = {}
        for e in args.entries:
            if e.nik in roles:
                d, h = days.get(e.nik, (0, 0))
                days[e.nik] = (d + 1, h + e.hours)
        most = sum(
            wage(policy, days=d, hours=h, rate=policy.rate(roles[nik], self.state.region_code))
            for nik, (d, h) in days.items()
        )
        left = (self.state.approved_amount or 0) - wage_money.committed(wages)
        if most > left:
            raise refuse(
                RefusalKind.INVALID,
                f"entries: this week's wages (up to Rp {most:,}) exceed the wage bill left (Rp {left:,})",
            )

    # ---- review-muster

    def _run_in_review(self, args: ReviewMusterArgs) -> WeekRun:
        wages = self._wages()
        if args.week_starts_on is None:
            run = next((r for r in wages.weeks if r.status == "in_review"), None)
        else:
            run = self._week(args.week_starts_on)
        if run is None or run.status != "in_review":
            raise refuse(RefusalKind.INVALID, "week_starts_on: no roll of that week waits for review")
        return run

    @workflow.update
    async def review_muster(self, args: ReviewMusterArgs) -> StepResult:
        async with self._officer_step():
            self._validate_review_muster(args)
            officer = self._officer(args)
            run = self._run_in_review(args)
            decided = {(d.nik, d.date): d for d in args.decisions}
            for e in run.exceptions:
                d = decided.get((e.nik, e.date))
                if d is not None:
                    e.decision = "accepted" if d.accept else "struck"
                    e.reason = d.reason
                    e.decided_by = officer.id
            if all(e.decision is not None for e in run.exceptions):
                self._accept_week(run)
            if not any(r.status == "in_review" for r in self._wages().weeks):
                self._close_task(TaskKind.REVIEW_MUSTER)
            self._sync_wage_totals()
            details: dict[str, Any] = {
                "week_starts_on": run.week_starts_on.isoformat(),
                "accepted": sum(1 for d in args.decisions if d.accept),
                "struck": sum(1 for d in args.decisions if not d.accept),
                "roll_accepted": run.status != "in_review",
                "total": run.total,
            }
            await self._record(
                "muster_reviewed", officer=officer, details=details, wage_weeks=self._week_record(run)
            )
            return self.state.step_result()

    @review_muster.validator
    def _validate_review_muster(self, args: ReviewMusterArgs) -> None:
        officer = self._authorize("review-muster", args.officer, TaskKind.REVIEW_MUSTER)
        run = self._run_in_review(args)
        if officer.id == run.submitted_by:
            raise refuse(
                RefusalKind.FORBIDDEN, "review-muster: the officer who submitted the roll cannot review it"
            )
        open_ = {(e.nik, e.date): e for e in run.exceptions if e.decision is None}
        seen: set[tuple[str, Any]] = set()
        for i, d in enumerate(args.decisions):
            key = (d.nik, d.date)
            if key in seen:
                raise refuse(RefusalKind.INVALID, f"decisions.{i}: this worker's day is decided twice")
            seen.add(key)
            exception = open_.get(key)
            if exception is None:
                raise refuse(
                    RefusalKind.INVALID,
                    f"decisions.{i}: no open exception for {mask_nik(d.nik)} on {d.date.isoformat()}",
                )
            if d.accept and exception.kind == "not_member":
                raise refuse(
                    RefusalKind.INVALID,
                    f"decisions.{i}.accept: a person not in the group cannot be paid; strike it",
                )


async def _record_roll(request: MusterRequest, *, local: bool) -> MusterResult:
    """Write the roll (`record_muster`, idempotent by the roll's key); `local` for a run started under
    LOCAL_ROLLS: by the local activity first, as a step's record is, then (slow, away, or refused) by
    the ordinary activity, which returns the roll already written or raises the refusal as before."""
    return await written_once(MusterActivities.record_muster, request, local=local)
