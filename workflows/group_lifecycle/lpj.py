"""The LPJ (laporan pertanggungjawaban): a paid TKM group accounts for its aid, beside mentoring.

Once paid, a `submit_lpj` task opens, due by the policy's `lpj.due_after`. The mentor (or a registrar,
on the leader's behalf) submits spending lines with receipts; a verifier accepts, sends it back
(due again after `revision_within`) or rejects. What is not accounted for becomes a receivable
(`recovery.py`): the shortfall of an accepted LPJ, the whole aid of a rejected one, or of one still
missing at its last escalation. Groups submitted before the LPJ existed carry a policy without one
and finish as they always did (and the new commands sit behind the `lpj-v1` patch).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.contracts.workflow import GroupState
    from jps.domain.calendar import local_date
    from jps.domain.lpj import lpj_problem, totals_by_category
    from jps.domain.models import LpjState, ReviewLpjArgs, StepResult, SubmitLpjArgs, Task
    from jps.domain.programs import Program, ProgramPolicy
    from jps.domain.stages import EscalationLevel, TaskKind

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.recovery import RecoverySteps
from workflows.group_lifecycle.tasks import Escalation, TaskBoard


def begin_lpj(state: GroupState, policy: ProgramPolicy, tasks: TaskBoard, *, lean: bool) -> list[str]:
    """At payment: the LPJ is owed (TKM, under a policy that has one). Returns its notifications.
    `lean`: the run started under patches.LEANER_HISTORY (the LPJ patch is not asked then)."""
    lpj_policy = policy.lpj
    if lpj_policy is None or state.program != Program.TKM or state.paid_at is None:
        return []  # no patch asked: these groups' commands stay exactly as they were
    if not (lean or workflow.patched(patches.LPJ)):
        return []
    due_at = state.paid_at + lpj_policy.due_after
    paid = sum(p.amount for p in state.payments if p.status == "paid")
    state.lpj = LpjState(paid=paid, due_at=due_at, due_on=local_date(due_at))
    tasks.open(TaskKind.SUBMIT_LPJ, due_at=due_at, note=f"LPJ due {local_date(due_at).isoformat()}")
    return ["lpj_due"]


class LpjSteps(RecoverySteps):
    @workflow.update
    async def submit_lpj(self, args: SubmitLpjArgs) -> StepResult:
        async with self._officer_step():
            self._validate_submit_lpj(args)
            officer = self._officer(args)
            lpj = self.state.lpj
            assert lpj is not None
            lpj.version += 1
            lpj.status = "under_review"
            lpj.submitted = sum(line.amount for line in args.lines)
            lpj.by_category = totals_by_category(args.lines)
            lpj.submitted_by = officer.id
            lpj.reviewed_by = None
            lpj.notes = args.notes
            self._close_task(TaskKind.SUBMIT_LPJ)
            self._open_task(TaskKind.REVIEW_LPJ, note=f"LPJ version {lpj.version}: Rp {lpj.submitted:,}")
            details: dict[str, Any] = {
                "version": lpj.version,
                "total": lpj.submitted,
                "lines": len(args.lines),
            }
            await self._record(
                "lpj_submitted",
                officer=officer,
                reason=args.notes,
                details=details,
                notify=["lpj_submitted"],
                lpj_lines=args.lines,
            )
            return self.state.step_result()

    @submit_lpj.validator
    def _validate_submit_lpj(self, args: SubmitLpjArgs) -> None:
        self._authorize("submit-lpj", args.officer, TaskKind.SUBMIT_LPJ)
        lpj, policy = self.state.lpj, self.policy.lpj
        if lpj is None or policy is None or self.state.paid_at is None:
            raise refuse(RefusalKind.WRONG_STAGE, "submit-lpj: this group owes no LPJ")
        problem = lpj_problem(
            args.lines,
            paid=lpj.paid,
            paid_on=local_date(self.state.paid_at),
            today=self._today(),
            policy=policy,
        )
        if problem:
            raise refuse(RefusalKind.INVALID, problem)

    @workflow.update
    async def review_lpj(self, args: ReviewLpjArgs) -> StepResult:
        async with self._officer_step():
            self._validate_review_lpj(args)
            officer = self._officer(args)
            lpj = self.state.lpj
            assert lpj is not None and self.policy.lpj is not None
            lpj.reviewed_by = officer.id
            lpj.notes = args.notes
            self._close_task(TaskKind.REVIEW_LPJ)
            details: dict[str, Any] = {"version": lpj.version, "decision": args.decision}
            if args.decision == "revise":
                lpj.status = "revise"
                due_at = max(lpj.due_at, workflow.now() + self.policy.lpj.revision_within)
                self._open_task(TaskKind.SUBMIT_LPJ, due_at=due_at, note=f"LPJ revision: {args.notes}"[:200])
                await self._record(
                    "lpj_revision_requested",
                    officer=officer,
                    reason=args.notes,
                    details=details,
                    notify=["lpj_revise"],
                )
            elif args.decision == "accept":
                lpj.status = "accepted"
                lpj.accounted = lpj.submitted
                details["accounted"] = lpj.accounted
                short = lpj.paid - lpj.accounted
                await self._after_lpj("lpj_accepted", officer, args.notes, details, short, "short")
            else:
                lpj.status = "rejected"
                lpj.accounted = 0
                await self._after_lpj("lpj_rejected", officer, args.notes, details, lpj.paid, "rejected")
            return self.state.step_result()

    @review_lpj.validator
    def _validate_review_lpj(self, args: ReviewLpjArgs) -> None:
        self._authorize("review-lpj", args.officer, TaskKind.REVIEW_LPJ)
        lpj = self.state.lpj
        if lpj is None or lpj.status != "under_review":
            raise refuse(RefusalKind.WRONG_STAGE, "review-lpj: no LPJ is waiting for review")
        if args.officer is not None and args.officer.id == lpj.submitted_by:
            raise refuse(RefusalKind.FORBIDDEN, "review-lpj: the officer who submitted it cannot review it")

    async def _record_escalation(self, task: Task, escalation: Escalation) -> None:
        """An LPJ still missing at its last escalation turns the whole aid into a receivable."""
        await super()._record_escalation(task, escalation)
        lpj = self.state.lpj
        if (
            task.kind == TaskKind.SUBMIT_LPJ
            and escalation.level == EscalationLevel.NATIONAL_DIRECTORATE
            and lpj is not None
            and lpj.status in ("due", "revise")
        ):
            lpj.status = "overdue"
            self._close_task(TaskKind.SUBMIT_LPJ)
            details: dict[str, Any] = {"version": lpj.version, "due_on": lpj.due_on.isoformat()}
            reason = f"no LPJ accepted by {lpj.due_on.isoformat()} and its last escalation"
            await self._after_lpj("lpj_overdue", None, reason, details, lpj.paid, "overdue")

    async def _after_lpj(
        self, event: str, officer: Any, reason: str, details: dict[str, Any], unaccounted: int, why: str
    ) -> None:
        """An LPJ decided (or overdue): open the receivable for what it did not account for, then
        move the group on (`recovery.py` decides the stage)."""
        notify = ["lpj_accepted"] if event == "lpj_accepted" else []
        event_kw: dict[str, Any] = {}
        if unaccounted > 0:
            event_kw["receivable_event"] = self._open_receivable(unaccounted, why, reason)
            notify.append("recovery_opened")
            details["receivable"] = unaccounted
        await self._move_on(event, officer, reason=reason, details=details, notify=notify, **event_kw)
