"""GroupLifecycleWorkflow: one durable workflow per kelompok, from proposal to completed.

Officer steps are workflow updates with validators (one module per stage: `proposal`, `training`,
`disbursement`, `mentoring`, `claims`): a wrong stage, a role the step does not allow, an officer
outside the group's region or invalid data is refused by the validator and changes nothing (not
even the history). An accepted step changes the state, is recorded (`base.py`) and answers with a
`StepResult` (group, seq, stage: the read model has the state by then). Each handler takes the
workflow's lock and runs its validator once more before acting: another step may have changed the
state while it waited for the lock. Automated
work (budget, bank: `payments.py`) runs in the main loop. Every wait for a person is a task with a
due date whose reminder and escalations are durable timers (`tasks.py`).

All the workflow knows is in one model, `GroupState` with its `runtime` (jps/contracts/workflow.py):
the `state` query shows it whole. No I/O, clocks or randomness here: only `workflow.*` APIs. Every
change to the command sequence is guarded with `workflow.patched` (`patches.py`) and replay-tested
against tests/histories/.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import PaymentResult, clean_reason
    from jps.contracts.names import PAYMENT_BATCH_SIGNAL, STATE_QUERY, WORKFLOW_TYPE
    from jps.contracts.refusals import ErrorType, RefusalKind
    from jps.contracts.workflow import GroupInput, GroupState
    from jps.domain.models import GroupSummary
    from jps.domain.stages import TERMINAL_STAGES, Stage, TaskKind

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.claims import CancelAndClaimSteps
from workflows.group_lifecycle.disbursement import ShareRelease
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.mentoring import MentoringSteps
from workflows.group_lifecycle.options import REFUSAL_HEARD_WITHIN
from workflows.group_lifecycle.proposal import ProposalSteps
from workflows.group_lifecycle.tasks import TaskBoard
from workflows.group_lifecycle.training import TrainingSteps
from workflows.group_lifecycle.wages import WageSteps


@workflow.defn(name=WORKFLOW_TYPE)
class GroupLifecycleWorkflow(
    WageSteps, ProposalSteps, TrainingSteps, ShareRelease, MentoringSteps, CancelAndClaimSteps
):
    @workflow.init
    def __init__(self, inp: GroupInput) -> None:
        p = inp.proposal
        self.inp = inp
        self.policy = inp.policy
        self.lock = asyncio.Lock()
        # Decided here, in the run's first workflow task, never later: a group already running when
        # these patches came replays its first task without their markers and keeps the older
        # branches. The newest starting patch in force implies the older ones (patches.STARTING).
        started = next((i for i, p in enumerate(patches.STARTING) if workflow.patched(p)), None)

        def since(patch_id: str) -> bool:
            return started is not None and started <= patches.STARTING.index(patch_id)

        self.lean = since(patches.LEANER_HISTORY)
        self.local_rolls = since(patches.LOCAL_ROLLS)
        self.local_asks = since(patches.LOCAL_ASKS)
        if inp.carried is not None:  # continued as new: the previous run's whole state
            self.state = inp.carried
            self.tasks = TaskBoard(self.state, self.policy, self.lock, lean=self.lean)
            return
        self.state = GroupState(
            group_id=inp.group_id,
            program=p.program,
            name=p.name,
            region_code=p.region_code,
            stage=Stage.VERIFICATION,
            proposal=p,
            submitted_by=inp.submitted_by,
            submitted_at=workflow.now(),
            requested_amount=p.requested_amount,
            request_hash=inp.request_hash,
        )
        self.tasks = TaskBoard(self.state, self.policy, self.lock, lean=self.lean)
        # Open from the first moment: a step can reach the workflow together with its start, before
        # `run` begins; its validator must see the verify task (the handler then waits for the lock).
        self._open_task(TaskKind.VERIFY)

    @workflow.run
    async def run(self, inp: GroupInput) -> GroupSummary:
        if inp.carried is None:
            await self._register()
            if self.state.runtime.registration.error is not None:
                await self._refusal_heard()
                return self.state.summary()
        else:
            self._upsert_search_attributes(program=True)
        while self.state.stage not in TERMINAL_STAGES:
            try:
                await self._continue_if_long()
                if (
                    self.state.runtime.payments.in_flight
                ):  # sent before a continue-as-new or an activity error
                    await self._resume_payment()
                elif self._paying():
                    await self._disburse()
                else:
                    await self._await_task(lambda: False, stop=lambda: self._paying() or self._closed())
            except ActivityError as err:
                if not self._since(patches.BANK_STATUS_DECIDES):
                    raise  # the command sequence of groups that failed before the patch
                await self._after_activity_error(err)
        # Let in-flight update handlers finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state.summary()

    def _closed(self) -> bool:
        return self.state.stage in TERMINAL_STAGES

    async def _after_activity_error(self, err: ActivityError) -> None:
        """An activity failed for good: the group never fails. In disbursement finance investigates
        (the money may have moved: only the bank's status decides); then the loop tries again after
        `bank_poll_after`, asking the bank about any transfers in flight."""
        reason = clean_reason(f"an activity failed: {err.cause or err}")
        workflow.logger.error("activity_failed", extra={"group_id": self.state.group_id, "error": reason})
        if self.state.runtime.payments.in_flight:
            ids = [p.transfer_id for p in self.state.payments if p.status == "pending"]
            try:
                await self._open_investigation_when_due(ids, note=reason)
            except ActivityError:
                pass  # not even the investigation could be recorded: the retry below tries again
        await workflow.sleep(self.policy.bank_poll_after)

    async def _register(self) -> None:
        registration = self.state.runtime.registration
        self._upsert_search_attributes(program=True)
        details = {
            "members": len(self.state.proposal.members),
            "requested_amount": self.state.requested_amount,
        }
        try:
            await self._record(
                "proposal_submitted",
                officer_id=self.inp.submitted_by,
                notify=["proposal_received"],
                details=details,
                write_members=True,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in (
                ErrorType.NIK_CONFLICT,
                ErrorType.INVALID_DATA,
            ):
                # Nothing was written: the group never existed in the read model.
                registration.error = cause.message
                conflict = cause.type == ErrorType.NIK_CONFLICT
                registration.refusal = RefusalKind.NIK_CONFLICT if conflict else RefusalKind.INVALID
                self.state.stage = Stage.REJECTED
                self.tasks.close_all()
                self.state.outcome_reason = cause.message
                self._upsert_search_attributes()
                return
            raise
        registration.done = True

    async def _refusal_heard(self) -> None:
        """A refused registration is the `registered` update's answer (the API sends it right after the
        start). Recorded by a local activity, the refusal can come within the first workflow task,
        before that update reaches the workflow: closing at once would abort it. Wait for it a while."""
        if not self._since(patches.SMALLER_HISTORY):
            return
        registration = self.state.runtime.registration
        try:
            await workflow.wait_condition(lambda: registration.answered, timeout=REFUSAL_HEARD_WITHIN)
        except TimeoutError:
            pass  # nobody asked: the read model never had the group either

    @workflow.update  # REGISTERED_UPDATE (the method's name)
    async def registered(self) -> GroupSummary:
        """Answers once the proposal is written (or refused for a NIK already in an active group)."""
        registration = self.state.runtime.registration
        await workflow.wait_condition(lambda: registration.settled)
        registration.answered = True
        if registration.error is not None:
            raise refuse(registration.refusal, registration.error)
        return self.state.summary()

    @workflow.signal(name=PAYMENT_BATCH_SIGNAL)
    def payment_results(self, results: list[PaymentResult]) -> None:
        """A batch's callbacks at once: the API keeps each until every transfer of the batch is
        answered (a wage batch of twenty workers was twenty signals). Each counts as `payment_result`."""
        for result in results:
            self.payment_result(result)

    @workflow.query(name=STATE_QUERY)
    def state_query(self) -> GroupState:
        return self.state
