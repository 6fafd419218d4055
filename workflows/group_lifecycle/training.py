"""Training (pembekalan / pelatihan): a trainer schedules it and records who attended; below the
minimum attendance it is rescheduled, up to the policy's attempts; then a supervisor decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.domain.calendar import end_of_local_day
    from jps.domain.models import (
        TRAINING_HORIZON_DAYS,
        DecideTrainingArgs,
        RecordAttendanceArgs,
        ScheduleTrainingArgs,
        StepResult,
        TrainingSession,
    )
    from jps.domain.nik import mask_nik
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse


class TrainingSteps(LifecycleBase):
    def _attempts_allowed(self) -> int:
        return self.policy.max_training_attempts + self.state.runtime.extra_training_attempts

    @workflow.update
    async def schedule_training(self, args: ScheduleTrainingArgs) -> StepResult:
        async with self._officer_step():
            self._validate_schedule_training(args)
            officer = self._officer(args)
            session = TrainingSession(
                attempt=len(self.state.training) + 1,
                starts_on=args.starts_on,
                ends_on=args.ends_on,
                venue=args.venue,
                scheduled_by=officer.id,
            )
            self.state.training.append(session)
            self._open_task(
                TaskKind.RECORD_ATTENDANCE,
                due_at=end_of_local_day(args.ends_on) + self.policy.sla_for(TaskKind.RECORD_ATTENDANCE),
            )
            details = {
                "attempt": session.attempt,
                "starts_on": args.starts_on.isoformat(),
                "ends_on": args.ends_on.isoformat(),
                "venue": args.venue,
            }
            await self._record(
                "training_scheduled", officer=officer, notify=["training_scheduled"], details=details
            )
            return self.state.step_result()

    @schedule_training.validator
    def _validate_schedule_training(self, args: ScheduleTrainingArgs) -> None:
        self._authorize("schedule-training", args.officer, TaskKind.SCHEDULE_TRAINING)
        if args.starts_on < self._today():
            raise refuse(RefusalKind.INVALID, "starts_on: training cannot start in the past")
        if args.starts_on > self._today() + timedelta(days=TRAINING_HORIZON_DAYS):
            raise refuse(
                RefusalKind.INVALID,
                f"starts_on: training is scheduled at most {TRAINING_HORIZON_DAYS} days ahead",
            )

    @workflow.update
    async def record_attendance(self, args: RecordAttendanceArgs) -> StepResult:
        async with self._officer_step():
            self._validate_record_attendance(args)
            officer = self._officer(args)
            session = self.state.training[-1]
            attended = sorted(set(args.attended_niks))
            session.attended = len(attended)
            session.attended_niks = attended
            members = len(self.state.proposal.members)
            details: dict[str, Any] = {
                "attempt": session.attempt,
                "attended": len(attended),
                "members": members,
            }
            if len(attended) / members >= self.policy.min_attendance:
                self._open_task(TaskKind.APPROVE_DISBURSEMENT)
                await self._transition(
                    Stage.DISBURSEMENT,
                    "training_completed",
                    officer,
                    details=details,
                    notify=["disbursement_ready"],
                )
            elif session.attempt < self._attempts_allowed():
                self._open_task(TaskKind.SCHEDULE_TRAINING, note="attendance below the minimum: reschedule")
                await self._record(
                    "training_attendance_insufficient",
                    officer=officer,
                    details=details,
                    notify=["training_rescheduled"],
                )
            else:
                self._open_task(TaskKind.DECIDE_TRAINING, note="training attempts exhausted")
                await self._record(
                    "training_attempts_exhausted",
                    officer=officer,
                    details=details,
                    notify=["training_decision_needed"],
                )
            return self.state.step_result()

    @record_attendance.validator
    def _validate_record_attendance(self, args: RecordAttendanceArgs) -> None:
        self._authorize("record-attendance", args.officer, TaskKind.RECORD_ATTENDANCE)
        session = self.state.training[-1]
        if self._today() < session.starts_on:
            raise refuse(
                RefusalKind.WRONG_STAGE, f"attendance can be recorded from {session.starts_on.isoformat()} on"
            )
        members = {m.nik for m in self.state.proposal.members}
        for i, nik in enumerate(args.attended_niks):
            if nik not in members:
                raise refuse(
                    RefusalKind.INVALID, f"attended_niks.{i}: {mask_nik(nik)} is not a member of this group"
                )

    @workflow.update
    async def decide_training(self, args: DecideTrainingArgs) -> StepResult:
        async with self._officer_step():
            self._validate_decide_training(args)
            officer = self._officer(args)
            if args.decision == "reschedule":
                self.state.runtime.extra_training_attempts += 1
                self._open_task(TaskKind.SCHEDULE_TRAINING, note="supervisor allowed another attempt")
                await self._record("training_decision_reschedule", officer=officer, reason=args.notes)
            elif args.decision == "proceed":
                self._open_task(TaskKind.APPROVE_DISBURSEMENT)
                await self._transition(
                    Stage.DISBURSEMENT,
                    "training_decision_proceed",
                    officer,
                    reason=args.notes,
                    notify=["disbursement_ready"],
                )
            else:
                self.state.outcome_reason = args.notes
                await self._transition(
                    Stage.CANCELLED,
                    "training_decision_cancel",
                    officer,
                    reason=args.notes,
                    notify=["cancelled"],
                )
            return self.state.step_result()

    @decide_training.validator
    def _validate_decide_training(self, args: DecideTrainingArgs) -> None:
        self._authorize("decide-training", args.officer, TaskKind.DECIDE_TRAINING)
