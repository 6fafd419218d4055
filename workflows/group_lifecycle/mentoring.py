"""Mentoring (pendampingan): the visits after the money, reported in order by the group's mentor;
the last one completes the group. TKM: monthly business visits; Padat Karya: weekly progress
reports and a handover."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.contracts.workflow import GroupState
    from jps.domain.calendar import end_of_local_day, local_date
    from jps.domain.models import ReportVisitArgs, StepResult, Visit
    from jps.domain.programs import ProgramPolicy
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.lpj import LpjSteps, begin_lpj
from workflows.group_lifecycle.tasks import TaskBoard


def schedule_visits(policy: ProgramPolicy, paid_at: datetime) -> list[Visit]:
    """The visits due after the payment, at the policy's interval; the last may be the handover."""
    schedule = policy.mentoring
    return [
        Visit(
            visit_no=i,
            due_on=local_date(paid_at + schedule.interval * i),
            handover=schedule.handover_last and i == schedule.visits,
        )
        for i in range(1, schedule.visits + 1)
    ]


def open_visit_task(tasks: TaskBoard, policy: ProgramPolicy, visit: Visit) -> None:
    handover = " (handover)" if visit.handover else ""
    tasks.open(
        TaskKind.REPORT_VISIT,
        due_at=end_of_local_day(visit.due_on) + policy.sla_for(TaskKind.REPORT_VISIT),
        note=f"visit {visit.visit_no}{handover} due {visit.due_on.isoformat()}",
    )


def start_mentoring(state: GroupState, policy: ProgramPolicy, tasks: TaskBoard, *, lean: bool) -> list[str]:
    """The aid is paid: the visits are scheduled, the first one's task opens and (TKM) the LPJ is
    owed. Returns the notifications beside `aid_paid`."""
    state.paid_at = workflow.now()
    state.visits = schedule_visits(policy, state.paid_at)
    open_visit_task(tasks, policy, state.visits[0])
    return ["visit_due", *begin_lpj(state, policy, tasks, lean=lean)]


def open_progress_visit(state: GroupState, policy: ProgramPolicy, tasks: TaskBoard, today: date) -> None:
    """Padat Karya paid by muster rolls: the next weekly progress report of the work period, due a
    week after the last one (or after today, for the first)."""
    last = state.visits[-1].due_on if state.visits else today
    visit = Visit(visit_no=len(state.visits) + 1, due_on=last + timedelta(days=7))
    state.visits.append(visit)
    tasks.open(
        TaskKind.REPORT_PROGRESS,
        due_at=end_of_local_day(visit.due_on) + policy.sla_for(TaskKind.REPORT_VISIT),
        note=f"progress report {visit.visit_no} due {visit.due_on.isoformat()}",
    )


class MentoringSteps(LpjSteps):
    @workflow.update
    async def report_visit(self, args: ReportVisitArgs) -> StepResult:
        async with self._officer_step():
            self._validate_report_visit(args)
            officer = self._officer(args)
            visit = self.state.visits[args.visit_no - 1]
            visit.reported_on = args.visited_on
            visit.reported_by = officer.id
            visit.business_status = args.business_status
            visit.monthly_revenue = args.monthly_revenue
            visit.progress_percent = args.progress_percent
            visit.notes = args.notes
            details: dict[str, Any] = {
                "visit_no": visit.visit_no,
                "visited_on": args.visited_on.isoformat(),
                "business_status": args.business_status,
                "handover": visit.handover,
            }
            if self.state.runtime.wages is not None and self.state.stage == Stage.DISBURSEMENT:
                # A weekly progress report of the work period (issue 13): the next one opens.
                open_progress_visit(self.state, self.policy, self.tasks, self._today())
                await self._record("progress_reported", officer=officer, reason=args.notes, details=details)
            elif args.visit_no == len(self.state.visits) and self.state.lpj is not None:
                # The last visit; the group completes once its LPJ is settled too (`recovery.py`).
                self._close_task(TaskKind.REPORT_VISIT)
                await self._move_on("visit_reported", officer, reason=args.notes, details=details)
            elif args.visit_no == len(self.state.visits):
                await self._transition(
                    Stage.COMPLETED,
                    "visit_reported",
                    officer,
                    reason=args.notes,
                    details=details,
                    notify=["completed"],
                )
            else:
                open_visit_task(self.tasks, self.policy, self.state.visits[args.visit_no])
                await self._record(
                    "visit_reported",
                    officer=officer,
                    reason=args.notes,
                    details=details,
                    notify=["visit_due"],
                )
            return self.state.step_result()

    @report_visit.validator
    def _validate_report_visit(self, args: ReportVisitArgs) -> None:
        work_period = self.state.runtime.wages is not None and self.state.stage == Stage.DISBURSEMENT
        task = TaskKind.REPORT_PROGRESS if work_period else TaskKind.REPORT_VISIT
        self._authorize("report-visit", args.officer, task)
        next_no = next((v.visit_no for v in self.state.visits if v.reported_on is None), None)
        if args.visit_no != next_no:
            raise refuse(
                RefusalKind.INVALID, f"visit_no: visits are reported in order; the next is visit {next_no}"
            )
        if self.state.runtime.wages is not None and args.handover != self.state.visits[next_no - 1].handover:
            expected = "the handover report" if not args.handover else "a weekly progress report"
            raise refuse(RefusalKind.INVALID, f"handover: visit {next_no} is {expected}")
        if args.visited_on > self._today():
            raise refuse(RefusalKind.INVALID, "visited_on: a visit date cannot be in the future")
        paid_on = local_date(self.state.paid_at) if self.state.paid_at else None
        if paid_on is not None and args.visited_on < paid_on:
            raise refuse(RefusalKind.INVALID, "visited_on: before the aid was paid")
