"""Mentoring (pendampingan): the visits after the money, reported in order by the group's mentor;
the last one completes the group. TKM: monthly business visits; Padat Karya: weekly progress
reports and a handover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.domain.calendar import end_of_local_day, local_date
    from jps.domain.models import GroupSummary, ReportVisitArgs, Visit
    from jps.domain.programs import ProgramPolicy
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse
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


class MentoringSteps(LifecycleBase):
    @workflow.update
    async def report_visit(self, args: ReportVisitArgs) -> GroupSummary:
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
            if args.visit_no == len(self.state.visits):
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
            return self.state.summary()

    @report_visit.validator
    def _validate_report_visit(self, args: ReportVisitArgs) -> None:
        self._authorize("report-visit", args.officer, TaskKind.REPORT_VISIT)
        next_no = next((v.visit_no for v in self.state.visits if v.reported_on is None), None)
        if args.visit_no != next_no:
            raise refuse(
                RefusalKind.INVALID, f"visit_no: visits are reported in order; the next is visit {next_no}"
            )
        if args.visited_on > self._today():
            raise refuse(RefusalKind.INVALID, "visited_on: a visit date cannot be in the future")
        paid_on = local_date(self.state.paid_at) if self.state.paid_at else None
        if paid_on is not None and args.visited_on < paid_on:
            raise refuse(RefusalKind.INVALID, "visited_on: before the aid was paid")
