"""Cancel and claim: a supervisor cancels a group before the money moves (releasing any budget it
holds); an officer claims an open task (or gives it back) so that colleagues see who has it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.domain.models import CancelArgs, ClaimTaskArgs, Officer, StepResult, Task
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.payments import PaymentEngine


class CancelAndClaimSteps(PaymentEngine):
    @workflow.update
    async def cancel(self, args: CancelArgs) -> StepResult:
        async with self._officer_step():
            self._validate_cancel(args)
            officer = self._officer(args)
            self.state.outcome_reason = args.reason
            self.state.runtime.payments.ready_to_pay = False
            if self.state.runtime.payments.reservation_id is not None:
                await self._settle_budget(paid=0)
            await self._transition(
                Stage.CANCELLED, "cancelled", officer, reason=args.reason, notify=["cancelled"]
            )
            return self.state.step_result()

    @cancel.validator
    def _validate_cancel(self, args: CancelArgs) -> None:
        self._authorize("cancel", args.officer, None)
        if self.state.task_of(TaskKind.AWAIT_BANK) is not None:
            raise refuse(RefusalKind.WRONG_STAGE, "cancel: the money is already moving")
        if self.state.runtime.payments.in_flight or any(p.status != "failed" for p in self.state.payments):
            raise refuse(RefusalKind.WRONG_STAGE, "cancel: the money is already moving or paid")

    @workflow.update
    async def claim(self, args: ClaimTaskArgs) -> StepResult:
        async with self._officer_step():
            self._validate_claim(args)
            officer = self._officer(args)
            task = self._task_to_claim(args, officer)
            task.claimed_by = None if args.release else officer.id
            await self._record(
                "task_released" if args.release else "task_claimed",
                officer=officer,
                details={"task": task.kind.value},
            )
            return self.state.step_result()

    @claim.validator
    def _validate_claim(self, args: ClaimTaskArgs) -> None:
        officer = self._authorize("claim", args.officer, None)
        task = self._task_to_claim(args, officer)
        if not any(role in task.roles for role in officer.roles):
            raise refuse(RefusalKind.FORBIDDEN, f"claim: the task {task.kind.value} is not for your roles")
        if args.release and task.claimed_by != officer.id:
            raise refuse(
                RefusalKind.WRONG_STAGE, "claim: only the officer who claimed the task can release it"
            )
        if not args.release and task.claimed_by not in (None, officer.id):
            raise refuse(RefusalKind.WRONG_STAGE, f"claim: already claimed by {task.claimed_by}")

    def _task_to_claim(self, args: ClaimTaskArgs, officer: Officer) -> Task:
        """The task named, or else the officer's own claim (to release) or the most urgent task open
        to the officer's roles; with none of those, the most urgent task (refused by the checks)."""
        if args.task is not None:
            named = self.state.task_of(args.task)
            if named is None:
                raise refuse(RefusalKind.WRONG_STAGE, f"claim: no open task {args.task.value}")
            return named
        by_urgency = sorted(self.state.open_tasks, key=lambda t: t.due_at)
        if not by_urgency:
            raise refuse(RefusalKind.WRONG_STAGE, "claim: the group has no open task")
        if args.release:
            mine = [t for t in by_urgency if t.claimed_by == officer.id]
            return mine[0] if mine else by_urgency[0]
        for_me = [t for t in by_urgency if any(r in t.roles for r in officer.roles)]
        return for_me[0] if for_me else by_urgency[0]
