"""Proposal and verification: a verifier approves, rejects or sends the proposal back for revision
(proposal direvisi); a registrar resubmits it."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.domain.models import ResubmitArgs, StepResult, VerifyArgs
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse


class ProposalSteps(LifecycleBase):
    @workflow.update
    async def resubmit(self, args: ResubmitArgs) -> StepResult:
        async with self._officer_step():
            self._validate_resubmit(args)
            officer = self._officer(args)
            previous = self.state.proposal
            if args.proposal is not None:
                self.state.proposal = args.proposal
                self.state.name = args.proposal.name
                self.state.requested_amount = args.proposal.requested_amount
            self.state.stage = Stage.VERIFICATION
            self._open_task(TaskKind.VERIFY)
            try:
                await self._record(
                    "proposal_resubmitted",
                    officer=officer,
                    from_stage=Stage.PROPOSAL,
                    reason=args.notes,
                    notify=["proposal_resubmitted"],
                    write_members=args.proposal is not None,
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == RefusalKind.NIK_CONFLICT:
                    self.state.proposal = previous
                    self.state.name = previous.name
                    self.state.requested_amount = previous.requested_amount
                    self.state.stage = Stage.PROPOSAL
                    self._open_task(TaskKind.RESUBMIT_PROPOSAL)
                    raise refuse(RefusalKind.NIK_CONFLICT, cause.message) from None
                raise
            self._upsert_search_attributes()
            return self.state.step_result()

    @resubmit.validator
    def _validate_resubmit(self, args: ResubmitArgs) -> None:
        self._authorize("resubmit", args.officer, TaskKind.RESUBMIT_PROPOSAL)
        if args.proposal is not None:
            p = args.proposal
            if p.program != self.state.program:
                raise refuse(RefusalKind.INVALID, "proposal.program: a revision cannot change the programme")
            if p.region_code != self.state.region_code:
                raise refuse(RefusalKind.INVALID, "proposal.region_code: a revision cannot change the region")
            for field, reason in p.policy_errors(self.policy):
                raise refuse(RefusalKind.INVALID, f"proposal.{field}: {reason}")

    @workflow.update
    async def verify(self, args: VerifyArgs) -> StepResult:
        async with self._officer_step():
            self._validate_verify(args)
            officer = self._officer(args)
            self.state.decision_notes = args.notes
            if args.decision == "approve":
                self._open_task(TaskKind.SCHEDULE_TRAINING)
                await self._transition(
                    Stage.TRAINING,
                    "verification_approved",
                    officer,
                    reason=args.notes,
                    notify=["proposal_approved"],
                )
            elif args.decision == "revise":
                self._open_task(TaskKind.RESUBMIT_PROPOSAL)
                await self._transition(
                    Stage.PROPOSAL,
                    "verification_revise",
                    officer,
                    reason=args.notes,
                    notify=["proposal_revise"],
                )
            else:
                self.state.outcome_reason = args.notes
                await self._transition(
                    Stage.REJECTED,
                    "verification_rejected",
                    officer,
                    reason=args.notes,
                    notify=["proposal_rejected"],
                )
            return self.state.step_result()

    @verify.validator
    def _validate_verify(self, args: VerifyArgs) -> None:
        self._authorize("verify", args.officer, TaskKind.VERIFY)
        if args.decision in ("reject", "revise") and not args.notes.strip():
            raise refuse(RefusalKind.INVALID, f"notes: a reason is required to {args.decision}")
