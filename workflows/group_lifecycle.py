"""GroupLifecycleWorkflow: one durable workflow per kelompok, from proposal to completed.

Officer steps are workflow updates with validators: a wrong stage, a role the step does not allow,
an officer outside the group's region or invalid data is refused by the validator and changes
nothing (not even the history). An accepted step changes the state, records it through the
`record_transition` activity (read model, audit and outbox in one transaction) and answers with
the new state's `GroupSummary`: everything but the member list, which is in PostgreSQL (and in the
`state` query), so that update results and histories stay small. Automated work (budget, bank)
runs in the main loop. Every wait for a person is a task with a due date whose reminder and
escalations are durable timers.

Each update handler takes the workflow's lock and runs its validator once more before acting:
another step may have changed the state while it waited for the lock.

No I/O, clocks or randomness here: only `workflow.*` APIs. Every change to the command sequence
must be guarded with `workflow.patched` and replay-tested against tests/histories/.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import (
        BudgetRequest,
        BudgetResult,
        BudgetSettlement,
        FreezeStatus,
        PaymentBatch,
        PaymentResult,
        TransferSpec,
        TransitionRecord,
    )
    from jps.contracts.names import SA_ESCALATION, SA_PROGRAM, SA_REGION, SA_STAGE
    from jps.contracts.workflow import GroupInput, GroupState
    from jps.domain.actions import ACTIONS
    from jps.domain.calendar import end_of_local_day, local_date
    from jps.domain.models import (
        ApproveDisbursementArgs,
        AuthorizeDisbursementArgs,
        CancelArgs,
        ClaimTaskArgs,
        DecideTrainingArgs,
        GroupSummary,
        Officer,
        Payment,
        RecordAttendanceArgs,
        ReportVisitArgs,
        ResubmitArgs,
        ScheduleTrainingArgs,
        Task,
        TrainingSession,
        UpdateBankAccountArgs,
        VerifyArgs,
        Visit,
    )
    from jps.domain.nik import mask_nik
    from jps.domain.programs import Program
    from jps.domain.roles import region_in_scope
    from jps.domain.stages import TASK_ROLES, TERMINAL_STAGES, EscalationLevel, Stage, TaskKind

# Refusal types: the API maps them to HTTP statuses (Forbidden 403, WrongStage 409, Invalid 422,
# NikConflict 409).
FORBIDDEN, WRONG_STAGE, INVALID, NIK_CONFLICT = "Forbidden", "WrongStage", "Invalid", "NikConflict"

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[NIK_CONFLICT, "InvalidData"],
)
BANK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["BankRejectedError", "IdempotencyConflictError", "InvalidData"],
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)

# workflow.patched ids: each names a change to the command sequence; histories under tests/histories
# recorded before it replay through the old branch.
PATCH_LEDGER_STEPS = "ledger-steps-merged-v1"  # freeze check inside reserve_budget; settle inside the record
PATCH_REAUTHORIZE_NEW_ACCOUNT = (
    "reauthorize-new-account-v1"  # above the threshold, new bank details need a checker
)
# The bank activities heartbeat every second: a worker killed mid-batch is noticed after this long
# and the batch retried with the same keys, instead of after the whole start-to-close timeout.
BANK_HEARTBEAT_TIMEOUT = timedelta(seconds=10)


def _refuse(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def split_wages(amount: int, shares: int) -> list[int]:
    """Padat Karya wage bill in equal whole-rupiah shares whose sum is exactly `amount`."""
    base, remainder = divmod(amount, shares)
    return [base + (1 if i < remainder else 0) for i in range(shares)]


@workflow.defn
class GroupLifecycleWorkflow:
    @workflow.init
    def __init__(self, inp: GroupInput) -> None:
        p = inp.proposal
        self.inp = inp
        self.policy = inp.policy
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
        self.is_registered = False
        self.registration_error: str | None = None
        self.registration_refusal = NIK_CONFLICT
        self.lock = asyncio.Lock()
        # Changes whenever the open task is closed or replaced, so waits know their task ended.
        self.task_token = 0
        self.extra_training_attempts = 0
        self.ready_to_pay = False
        self.payment_in_flight = False
        self.pay_attempt = 0
        self.auto_retries = 0
        self.budget_recheck = False
        self.account_changed_by: set[str] = set()  # officers who changed bank details (maker-checker)
        self.fixed_accounts: set[str] = set()  # Padat Karya workers whose refused account was fixed
        self.bank_results: dict[str, PaymentResult] = {}
        self.reservation_id: str | None = None
        # Open from the first moment: a step can reach the workflow together with its start, before
        # `run` begins; its validator must see the verify task (the handler then waits for the lock).
        self._open_task(TaskKind.VERIFY)

    # ------------------------------------------------------------------ main loop

    @workflow.run
    async def run(self, inp: GroupInput) -> GroupSummary:
        await self._register()
        if self.registration_error is not None:
            return self.state.summary()
        while self.state.stage not in TERMINAL_STAGES:
            if self._paying():
                await self._disburse()
            else:
                await self._await_task(lambda: False, stop=lambda: self._paying() or self._closed())
        # Let in-flight update handlers finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state.summary()

    def _closed(self) -> bool:
        return self.state.stage in TERMINAL_STAGES

    async def _register(self) -> None:
        self._upsert_search_attributes(program=True)
        try:
            await self._record("proposal_submitted", officer_id=self.inp.submitted_by, notify=["proposal_received"],
                               details={"members": len(self.state.proposal.members),
                                        "requested_amount": self.state.requested_amount},
                               write_members=True)  # fmt: skip
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in (NIK_CONFLICT, "InvalidData"):
                # Nothing was written: the group never existed in the read model.
                self.registration_error = cause.message
                self.registration_refusal = NIK_CONFLICT if cause.type == NIK_CONFLICT else INVALID
                self.state.stage = Stage.REJECTED
                self.state.open_tasks = []
                self.state.outcome_reason = cause.message
                self._upsert_search_attributes()
                return
            raise
        self.is_registered = True

    # ------------------------------------------------------------------ tasks and escalation

    def _open_task(self, kind: TaskKind, *, due_at: datetime | None = None, note: str = "") -> None:
        now = workflow.now()
        self.state.open_tasks = [
            Task(
                kind=kind,
                roles=list(TASK_ROLES[kind]),
                opened_at=now,
                due_at=due_at or now + self.policy.sla_for(kind),
                note=note,
            )
        ]
        self.state.escalation_level = EscalationLevel.NONE
        self.task_token += 1

    def _close_task(self) -> None:
        self.state.open_tasks = []
        self.state.escalation_level = EscalationLevel.NONE
        self.task_token += 1

    def _escalation_plan(self, task: Task) -> list[tuple[int, datetime, str]]:
        return [
            (EscalationLevel.REMINDED, task.due_at, "reminder"),
            (EscalationLevel.REGIONAL_SUPERVISOR, task.due_at + self.policy.escalate_regional_after,
             "escalated_regional"),
            (EscalationLevel.NATIONAL_DIRECTORATE, task.due_at + self.policy.escalate_national_after,
             "escalated_national"),
        ]  # fmt: skip

    async def _await_task(
        self,
        done: Callable[[], bool],
        *,
        poll: timedelta | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until `done()` (or the open task is replaced / `stop()`), escalating the open task
        at its offsets. With `poll`, returns False when that much time passed without `done()`."""
        poll_at = workflow.now() + poll if poll else None
        token = self.task_token

        def finished() -> bool:
            return done() or self.task_token != token or (stop is not None and stop())

        while not finished():
            task = self.state.open_task
            pending = [x for x in self._escalation_plan(task) if x[0] > task.escalation_level] if task else []
            deadlines = [at for _, at, _ in pending[:1]] + ([poll_at] if poll_at else [])
            if not deadlines:
                await workflow.wait_condition(finished)
                break
            nearest = min(deadlines)
            timeout = (nearest - workflow.now()).total_seconds()
            if timeout > 0:
                try:
                    await workflow.wait_condition(finished, timeout=timeout)
                    break
                except TimeoutError:
                    pass
            if poll_at and workflow.now() >= poll_at and not finished():
                return False
            if pending and workflow.now() >= pending[0][1]:
                level, _, event = pending[0]
                async with self.lock:
                    if task is None or finished() or self.state.open_task is not task:
                        continue
                    task.escalation_level = level
                    self.state.escalation_level = level
                    await self._record(event, details={"task": task.kind.value, "level": level,
                                                       "due_at": task.due_at.isoformat()},
                                       notify=[event])  # fmt: skip
                    self._upsert_search_attributes()
        return done()

    # ------------------------------------------------------------------ recording

    async def _record(
        self,
        event: str,
        *,
        officer: Officer | None = None,
        officer_id: str | None = None,
        from_stage: Stage | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
        notify: list[str] | None = None,
        write_members: bool = False,
        settle: BudgetSettlement | None = None,
    ) -> None:
        self.state.seq += 1
        record = TransitionRecord(
            group_id=self.state.group_id,
            seq=self.state.seq,
            at=workflow.now(),
            event=event,
            stage=self.state.stage,
            from_stage=from_stage,
            officer=officer.id if officer else officer_id,
            officer_roles=[r.value for r in officer.roles] if officer else [],
            reason=reason,
            details=details or {},
            notify=notify or [],
            state=self.state.summary(),
            proposal=self.state.proposal if write_members else None,
            settle=settle,
        )
        try:
            await workflow.execute_activity(
                "record_transition",
                record,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        except ActivityError:
            self.state.seq -= 1  # nothing was written for this step
            raise

    def _upsert_search_attributes(self, program: bool = False) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            SA_STAGE.value_set(self.state.stage.value),
            SA_ESCALATION.value_set(self.state.escalation_level),
        ]
        if program:
            updates += [
                SA_PROGRAM.value_set(self.state.program.value),
                SA_REGION.value_set(self.state.region_code),
            ]
        workflow.upsert_search_attributes(updates)

    async def _transition(self, to: Stage, event: str, officer: Officer | None, **kw: Any) -> None:
        from_stage = self.state.stage
        self.state.stage = to
        if to in TERMINAL_STAGES:
            self._close_task()
        await self._record(event, officer=officer, from_stage=from_stage if from_stage != to else None, **kw)
        self._upsert_search_attributes()

    # ------------------------------------------------------------------ validation shared by updates

    def _today(self) -> date:
        return local_date(workflow.now())

    def _authorize(
        self, action: str, officer: Officer | None, task: TaskKind | tuple[TaskKind, ...] | None
    ) -> Officer:
        spec = ACTIONS[action]
        if officer is None:
            raise _refuse(FORBIDDEN, "officer: the acting officer is missing")
        if not any(role in spec.roles for role in officer.roles):
            allowed = ", ".join(r.value for r in spec.roles)
            raise _refuse(FORBIDDEN, f"{action} needs one of the roles: {allowed}")
        if not region_in_scope(self.state.region_code, officer.regions):
            raise _refuse(FORBIDDEN, f"group region {self.state.region_code} is outside the officer's scope")
        if self.registration_error is not None:
            raise _refuse(WRONG_STAGE, f"the group was never registered: {self.registration_error}")
        if self.state.stage not in spec.stages:
            raise _refuse(WRONG_STAGE, f"{action} is not allowed in stage {self.state.stage.value}")
        if task is not None:
            kinds = task if isinstance(task, tuple) else (task,)
            current = self.state.open_task.kind.value if self.state.open_task else "none"
            if self.state.open_task is None or self.state.open_task.kind not in kinds:
                raise _refuse(WRONG_STAGE, f"{action} is not expected now (open task: {current})")
        return officer

    # ------------------------------------------------------------------ updates: registration

    @workflow.update
    async def registered(self) -> GroupSummary:
        """Answers once the proposal is written (or refused for a NIK already in an active group)."""
        await workflow.wait_condition(lambda: self.is_registered or self.registration_error is not None)
        if self.registration_error is not None:
            raise _refuse(self.registration_refusal, self.registration_error)
        return self.state.summary()

    @workflow.query(name="state")
    def state_query(self) -> GroupState:
        return self.state

    # ------------------------------------------------------------------ updates: proposal and verification

    @workflow.update
    async def resubmit(self, args: ResubmitArgs) -> GroupSummary:
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
                await self._record("proposal_resubmitted", officer=officer, from_stage=Stage.PROPOSAL,
                                   reason=args.notes, notify=["proposal_resubmitted"],
                                   write_members=args.proposal is not None)  # fmt: skip
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == NIK_CONFLICT:
                    self.state.proposal = previous
                    self.state.name = previous.name
                    self.state.requested_amount = previous.requested_amount
                    self.state.stage = Stage.PROPOSAL
                    self._open_task(TaskKind.RESUBMIT_PROPOSAL)
                    raise _refuse(NIK_CONFLICT, cause.message) from None
                raise
            self._upsert_search_attributes()
            return self.state.summary()

    @resubmit.validator
    def _validate_resubmit(self, args: ResubmitArgs) -> None:
        self._authorize("resubmit", args.officer, TaskKind.RESUBMIT_PROPOSAL)
        if args.proposal is not None:
            p = args.proposal
            if p.program != self.state.program:
                raise _refuse(INVALID, "proposal.program: a revision cannot change the programme")
            if p.region_code != self.state.region_code:
                raise _refuse(INVALID, "proposal.region_code: a revision cannot change the region")
            for field, reason in p.policy_errors(self.policy):
                raise _refuse(INVALID, f"proposal.{field}: {reason}")

    @workflow.update
    async def verify(self, args: VerifyArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_verify(args)
            officer = self._officer(args)
            self.state.decision_notes = args.notes
            if args.decision == "approve":
                self._open_task(TaskKind.SCHEDULE_TRAINING)
                await self._transition(Stage.TRAINING, "verification_approved", officer, reason=args.notes,
                                       notify=["proposal_approved"])  # fmt: skip
            elif args.decision == "revise":
                self._open_task(TaskKind.RESUBMIT_PROPOSAL)
                await self._transition(Stage.PROPOSAL, "verification_revise", officer, reason=args.notes,
                                       notify=["proposal_revise"])  # fmt: skip
            else:
                self.state.outcome_reason = args.notes
                await self._transition(Stage.REJECTED, "verification_rejected", officer, reason=args.notes,
                                       notify=["proposal_rejected"])  # fmt: skip
            return self.state.summary()

    @verify.validator
    def _validate_verify(self, args: VerifyArgs) -> None:
        self._authorize("verify", args.officer, TaskKind.VERIFY)
        if args.decision in ("reject", "revise") and not args.notes.strip():
            raise _refuse(INVALID, f"notes: a reason is required to {args.decision}")

    # ------------------------------------------------------------------ updates: training

    def _attempts_allowed(self) -> int:
        return self.policy.max_training_attempts + self.extra_training_attempts

    @workflow.update
    async def schedule_training(self, args: ScheduleTrainingArgs) -> GroupSummary:
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
            await self._record("training_scheduled", officer=officer, notify=["training_scheduled"],
                               details={"attempt": session.attempt, "starts_on": args.starts_on.isoformat(),
                                        "ends_on": args.ends_on.isoformat(), "venue": args.venue})  # fmt: skip
            return self.state.summary()

    @schedule_training.validator
    def _validate_schedule_training(self, args: ScheduleTrainingArgs) -> None:
        self._authorize("schedule-training", args.officer, TaskKind.SCHEDULE_TRAINING)
        if args.starts_on < self._today():
            raise _refuse(INVALID, "starts_on: training cannot start in the past")

    @workflow.update
    async def record_attendance(self, args: RecordAttendanceArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_record_attendance(args)
            officer = self._officer(args)
            session = self.state.training[-1]
            attended = sorted(set(args.attended_niks))
            session.attended = len(attended)
            session.attended_niks = attended
            members = len(self.state.proposal.members)
            ratio = len(attended) / members
            details: dict[str, Any] = {
                "attempt": session.attempt,
                "attended": len(attended),
                "members": members,
            }
            if ratio >= self.policy.min_attendance:
                self._open_task(TaskKind.APPROVE_DISBURSEMENT)
                await self._transition(Stage.DISBURSEMENT, "training_completed", officer, details=details,
                                       notify=["disbursement_ready"])  # fmt: skip
            elif session.attempt < self._attempts_allowed():
                self._open_task(TaskKind.SCHEDULE_TRAINING, note="attendance below the minimum: reschedule")
                await self._record("training_attendance_insufficient", officer=officer, details=details,
                                   notify=["training_rescheduled"])  # fmt: skip
            else:
                self._open_task(TaskKind.DECIDE_TRAINING, note="training attempts exhausted")
                await self._record("training_attempts_exhausted", officer=officer, details=details,
                                   notify=["training_decision_needed"])  # fmt: skip
            return self.state.summary()

    @record_attendance.validator
    def _validate_record_attendance(self, args: RecordAttendanceArgs) -> None:
        self._authorize("record-attendance", args.officer, TaskKind.RECORD_ATTENDANCE)
        session = self.state.training[-1]
        if self._today() < session.starts_on:
            raise _refuse(WRONG_STAGE, f"attendance can be recorded from {session.starts_on.isoformat()} on")
        members = {m.nik for m in self.state.proposal.members}
        for i, nik in enumerate(args.attended_niks):
            if nik not in members:
                raise _refuse(INVALID, f"attended_niks.{i}: {mask_nik(nik)} is not a member of this group")

    @workflow.update
    async def decide_training(self, args: DecideTrainingArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_decide_training(args)
            officer = self._officer(args)
            if args.decision == "reschedule":
                self.extra_training_attempts += 1
                self._open_task(TaskKind.SCHEDULE_TRAINING, note="supervisor allowed another attempt")
                await self._record("training_decision_reschedule", officer=officer, reason=args.notes)
            elif args.decision == "proceed":
                self._open_task(TaskKind.APPROVE_DISBURSEMENT)
                await self._transition(Stage.DISBURSEMENT, "training_decision_proceed", officer, reason=args.notes,
                                       notify=["disbursement_ready"])  # fmt: skip
            else:
                self.state.outcome_reason = args.notes
                await self._transition(Stage.CANCELLED, "training_decision_cancel", officer, reason=args.notes,
                                       notify=["cancelled"])  # fmt: skip
            return self.state.summary()

    @decide_training.validator
    def _validate_decide_training(self, args: DecideTrainingArgs) -> None:
        self._authorize("decide-training", args.officer, TaskKind.DECIDE_TRAINING)

    # ------------------------------------------------------------------ updates: disbursement

    @workflow.update
    async def approve_disbursement(self, args: ApproveDisbursementArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_approve_disbursement(args)
            officer = self._officer(args)
            self.state.approved_amount = args.amount
            self.state.approved_by = officer.id
            details = {"amount": args.amount, "threshold": self.policy.maker_checker_threshold}
            if args.amount > self.policy.maker_checker_threshold:
                self._open_task(TaskKind.AUTHORIZE_DISBURSEMENT, note="above the maker-checker threshold")
                await self._record("disbursement_approved", officer=officer, reason=args.notes, details=details,
                                   notify=["authorization_needed"])  # fmt: skip
            else:
                self._close_task()
                self.ready_to_pay = True
                await self._record(
                    "disbursement_approved", officer=officer, reason=args.notes, details=details
                )
            return self.state.summary()

    @approve_disbursement.validator
    def _validate_approve_disbursement(self, args: ApproveDisbursementArgs) -> None:
        self._authorize("approve-disbursement", args.officer, TaskKind.APPROVE_DISBURSEMENT)
        if args.amount > self.state.requested_amount:
            raise _refuse(
                INVALID, f"amount: above the requested amount of Rp {self.state.requested_amount:,}"
            )
        if args.amount > self.policy.aid_ceiling:
            raise _refuse(INVALID, f"amount: above the programme ceiling of Rp {self.policy.aid_ceiling:,}")
        if self.state.program == Program.PADAT_KARYA and args.amount < len(self.state.proposal.members):
            raise _refuse(INVALID, "amount: too small to pay every worker a whole rupiah")

    @workflow.update
    async def authorize_disbursement(self, args: AuthorizeDisbursementArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_authorize_disbursement(args)
            officer = self._officer(args)
            self.state.authorized_by = officer.id
            self._close_task()
            self.ready_to_pay = True
            await self._record("disbursement_authorized", officer=officer, reason=args.notes,
                               details={"amount": self.state.approved_amount or 0,
                                        "approved_by": self.state.approved_by})  # fmt: skip
            return self.state.summary()

    @authorize_disbursement.validator
    def _validate_authorize_disbursement(self, args: AuthorizeDisbursementArgs) -> None:
        officer = self._authorize("authorize-disbursement", args.officer, TaskKind.AUTHORIZE_DISBURSEMENT)
        if officer.id == self.state.approved_by:
            raise _refuse(FORBIDDEN, "maker-checker: the officer who approved the amount cannot authorize it")
        if officer.id in self.account_changed_by:
            raise _refuse(
                FORBIDDEN, "maker-checker: the officer who changed the bank details cannot authorize"
            )

    @workflow.update
    async def update_bank_account(self, args: UpdateBankAccountArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_update_bank_account(args)
            officer = self._officer(args)
            if args.member_nik is None:
                self.state.proposal.bank_account = args.bank_account
                whose = "group"
            else:
                for member in self.state.proposal.members:
                    if member.nik == args.member_nik:
                        member.bank_account = args.bank_account
                whose = mask_nik(args.member_nik)
                self.fixed_accounts.add(args.member_nik)
            waiting = sorted(mask_nik(p.member_nik) for p in self._failed_unresolved()
                             if p.member_nik and p.member_nik not in self.fixed_accounts)  # fmt: skip
            self.account_changed_by.add(officer.id)
            if not waiting:  # every refused account is fixed
                self.fixed_accounts.clear()
                if (
                    self.state.approved_amount or 0
                ) > self.policy.maker_checker_threshold and workflow.patched(PATCH_REAUTHORIZE_NEW_ACCOUNT):
                    # Money above the threshold never goes to new details on one officer's word: a
                    # supervisor who neither approved the amount nor changed the account authorizes again.
                    self.state.authorized_by = None
                    self._open_task(
                        TaskKind.AUTHORIZE_DISBURSEMENT, note="bank details changed: authorize again"
                    )
                else:
                    self._close_task()
                    self.ready_to_pay = True
            await self._record("bank_account_updated", officer=officer, write_members=True,
                               details={"account_of": whose, "bank_code": args.bank_account.bank_code,
                                        "still_to_fix": waiting})  # fmt: skip
            return self.state.summary()

    @update_bank_account.validator
    def _validate_update_bank_account(self, args: UpdateBankAccountArgs) -> None:
        self._authorize("update-bank-account", args.officer, TaskKind.UPDATE_BANK_ACCOUNT)
        failed_niks = {p.member_nik for p in self._failed_unresolved()}
        if self.state.program == Program.PADAT_KARYA:
            if args.member_nik is None:
                raise _refuse(
                    INVALID, "member_nik: Padat Karya wages go to a worker's own account; say whose"
                )
            if args.member_nik not in failed_niks:
                raise _refuse(INVALID, "member_nik: no refused transfer for this worker")
        elif args.member_nik is not None:
            raise _refuse(INVALID, "member_nik: TKM aid is paid to the group's account")

    # ------------------------------------------------------------------ updates: mentoring

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
            details: dict[str, Any] = {"visit_no": visit.visit_no, "visited_on": args.visited_on.isoformat(),
                                       "business_status": args.business_status, "handover": visit.handover}  # fmt: skip
            if args.visit_no == len(self.state.visits):
                await self._transition(Stage.COMPLETED, "visit_reported", officer, reason=args.notes,
                                       details=details, notify=["completed"])  # fmt: skip
            else:
                self._open_visit_task(self.state.visits[args.visit_no])
                await self._record("visit_reported", officer=officer, reason=args.notes, details=details,
                                   notify=["visit_due"])  # fmt: skip
            return self.state.summary()

    @report_visit.validator
    def _validate_report_visit(self, args: ReportVisitArgs) -> None:
        self._authorize("report-visit", args.officer, TaskKind.REPORT_VISIT)
        next_no = next((v.visit_no for v in self.state.visits if v.reported_on is None), None)
        if args.visit_no != next_no:
            raise _refuse(INVALID, f"visit_no: visits are reported in order; the next is visit {next_no}")
        if args.visited_on > self._today():
            raise _refuse(INVALID, "visited_on: a visit date cannot be in the future")
        paid_on = self._paid_on()
        if paid_on is not None and args.visited_on < paid_on:
            raise _refuse(INVALID, "visited_on: before the aid was paid")

    def _open_visit_task(self, visit: Visit) -> None:
        self._open_task(
            TaskKind.REPORT_VISIT,
            due_at=end_of_local_day(visit.due_on) + self.policy.sla_for(TaskKind.REPORT_VISIT),
            note=f"visit {visit.visit_no}{' (handover)' if visit.handover else ''} due {visit.due_on.isoformat()}",
        )

    # ------------------------------------------------------------------ updates: cancel and claim

    @workflow.update
    async def cancel(self, args: CancelArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_cancel(args)
            officer = self._officer(args)
            self.state.outcome_reason = args.reason
            self.ready_to_pay = False
            if self.reservation_id is not None:
                await self._settle_budget(paid=0)
            await self._transition(
                Stage.CANCELLED, "cancelled", officer, reason=args.reason, notify=["cancelled"]
            )
            return self.state.summary()

    @cancel.validator
    def _validate_cancel(self, args: CancelArgs) -> None:
        self._authorize("cancel", args.officer, None)
        if self.state.open_task is not None and self.state.open_task.kind == TaskKind.AWAIT_BANK:
            raise _refuse(WRONG_STAGE, "cancel: the money is already moving")
        if self.payment_in_flight or any(p.status != "failed" for p in self.state.payments):
            raise _refuse(WRONG_STAGE, "cancel: the money is already moving or paid")

    @workflow.update
    async def claim(self, args: ClaimTaskArgs) -> GroupSummary:
        async with self._officer_step():
            self._validate_claim(args)
            officer = self._officer(args)
            task = self.state.open_task
            assert task is not None
            task.claimed_by = None if args.release else officer.id
            await self._record("task_released" if args.release else "task_claimed", officer=officer,
                               details={"task": task.kind.value})  # fmt: skip
            return self.state.summary()

    @claim.validator
    def _validate_claim(self, args: ClaimTaskArgs) -> None:
        officer = self._authorize("claim", args.officer, None)
        task = self.state.open_task
        if task is None:
            raise _refuse(WRONG_STAGE, "claim: the group has no open task")
        if not any(role in task.roles for role in officer.roles):
            raise _refuse(FORBIDDEN, f"claim: the task {task.kind.value} is not for your roles")
        if args.release and task.claimed_by != officer.id:
            raise _refuse(WRONG_STAGE, "claim: only the officer who claimed the task can release it")
        if not args.release and task.claimed_by not in (None, officer.id):
            raise _refuse(WRONG_STAGE, f"claim: already claimed by {task.claimed_by}")

    @asynccontextmanager
    async def _officer_step(self) -> AsyncIterator[None]:
        """An officer's step runs alone (the lock), and never before the registration is written.

        The read model shows a group (and its verify task) as soon as the registration commits, a
        moment before this workflow hears so; a step sent in that moment passed its validator and
        waits here, then is validated again: refused if the registration failed. Once registered
        this is exactly `async with self.lock` (no extra wait), so recorded histories replay."""
        if not self.is_registered and self.registration_error is None:
            await workflow.wait_condition(lambda: self.is_registered or self.registration_error is not None)
        async with self.lock:
            yield

    @staticmethod
    def _officer(args: Any) -> Officer:
        officer: Officer = args.officer
        return officer

    # ------------------------------------------------------------------ bank results

    @workflow.signal
    def budget_changed(self) -> None:
        """A national officer changed an allocation or lifted a freeze: re-check now, not at the
        next `budget_retry_every`. Harmless at any other time."""
        self.budget_recheck = True

    @workflow.signal
    def payment_result(self, result: PaymentResult) -> None:
        """The bank's callback (through the API) or our own poll. Duplicates and late ones are harmless."""
        known = {p.transfer_id for p in self.state.payments}
        if result.transfer_id in known and result.transfer_id not in self.bank_results:
            self.bank_results[result.transfer_id] = result

    # ------------------------------------------------------------------ disbursement automation

    def _failed_unresolved(self) -> list[Payment]:
        """Failed transfers not yet replaced by a later attempt for the same beneficiary."""
        latest: dict[str, Payment] = {}
        for p in self.state.payments:
            latest[p.member_nik or "group"] = p
        return [p for p in latest.values() if p.status == "failed"]

    def _paid_on(self) -> date | None:
        return local_date(self.state.paid_at) if self.state.paid_at else None

    def _paying(self) -> bool:
        return self.state.stage == Stage.DISBURSEMENT and self.ready_to_pay

    async def _disburse(self) -> None:
        """Freeze check, budget reservation and the transfers' record under the lock (so a cancel
        cannot slip between them), then the bank instruction and its results outside it (so a slow
        bank never blocks officers' steps), then mentoring or a fix task."""
        wait: tuple[TaskKind, str, str] | None = None
        batch: PaymentBatch | None = None
        async with self.lock:
            if not self._paying():
                return
            self.budget_recheck = False  # a budget change from now on triggers a re-check
            amount_due = self._amount_still_due()
            request = BudgetRequest(group_id=self.state.group_id, program=self.state.program.value,
                                    region_code=self.state.region_code, amount=amount_due,
                                    attempt=self.pay_attempt + 1)  # fmt: skip
            if workflow.patched(PATCH_LEDGER_STEPS):
                # One activity checks the freeze and reserves the budget.
                budget = await workflow.execute_activity(
                    "reserve_budget", request, result_type=BudgetResult,
                    start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY,
                )  # fmt: skip
                if budget.frozen:
                    wait = (TaskKind.AWAIT_UNFREEZE, "disbursement_frozen", budget.reason)
                elif budget.reserved:
                    self.pay_attempt += 1
                    self.reservation_id = budget.reservation_id
                    batch = await self._record_transfers(amount_due)
                else:
                    wait = (TaskKind.AWAIT_BUDGET, "budget_unavailable", budget.reason)
            else:
                wait, batch = await self._reserve_before_ledger_steps_patch(request, amount_due)
            if wait is not None:
                kind, event, reason = wait
                if self.state.open_task is None or self.state.open_task.kind != kind:
                    self._open_task(kind, note=reason)
                    await self._record(event, reason=reason, notify=[event])
        if wait is not None or batch is None:
            # Re-check after the retry interval, or when told the budget changed; a cancel ends the wait.
            await self._await_task(lambda: False, poll=self.policy.budget_retry_every,
                                   stop=lambda: not self._paying() or self.budget_recheck)  # fmt: skip
            return
        ids = await self._send(batch)
        await self._await_bank(ids)
        await self._settle_payments(ids)

    async def _reserve_before_ledger_steps_patch(
        self, request: BudgetRequest, amount_due: int
    ) -> tuple[tuple[TaskKind, str, str] | None, PaymentBatch | None]:
        """The command sequence of workflows started before PATCH_LEDGER_STEPS: a separate freeze
        check. Remove with `workflow.deprecate_patch` once no such workflow runs."""
        freeze = await workflow.execute_activity(
            "check_freeze", request, result_type=FreezeStatus,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        if freeze.frozen:
            return (TaskKind.AWAIT_UNFREEZE, "disbursement_frozen", freeze.reason), None
        budget = await workflow.execute_activity(
            "reserve_budget", request, result_type=BudgetResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        if not budget.reserved:
            return (TaskKind.AWAIT_BUDGET, "budget_unavailable", budget.reason), None
        self.pay_attempt += 1
        self.reservation_id = budget.reservation_id
        return None, await self._record_transfers(amount_due)

    def _amount_still_due(self) -> int:
        approved = self.state.approved_amount or 0
        paid = sum(p.amount for p in self.state.payments if p.status == "paid")
        return approved - paid

    def _transfers(self, amount_due: int) -> list[Payment]:
        attempt = self.pay_attempt
        gid = self.state.group_id
        if self.state.program == Program.TKM:
            acct = self.state.proposal.bank_account
            tid = f"{gid}-A{attempt}-00"
            return [Payment(transfer_id=tid, idempotency_key=tid, beneficiary=acct.holder_name,
                            bank_code=acct.bank_code, account_no=acct.account_no, amount=amount_due,
                            attempt=attempt)]  # fmt: skip
        # Padat Karya: the first attempt pays every worker; later ones re-pay the refused workers only.
        members = self.state.proposal.members
        if attempt == 1:
            owed = list(zip(members, split_wages(self.state.approved_amount or 0, len(members)), strict=True))
        else:
            by_nik = {m.nik: m for m in members}
            owed = [(by_nik[p.member_nik], p.amount) for p in self._failed_unresolved() if p.member_nik]
        out: list[Payment] = []
        for i, (member, share) in enumerate(owed):
            member_acct = member.bank_account
            assert member_acct is not None  # Proposal validation: every Padat Karya worker has one
            tid = f"{gid}-A{attempt}-{i:02d}"
            out.append(Payment(transfer_id=tid, idempotency_key=tid, beneficiary=member.name,
                               bank_code=member_acct.bank_code, account_no=member_acct.account_no, amount=share,
                               attempt=attempt, member_nik=member.nik))  # fmt: skip
        return out

    async def _record_transfers(self, amount_due: int) -> PaymentBatch:
        """Record the transfers before the bank hears of them (idempotency key = transfer id, stable
        across retries and worker restarts). Called with the lock held."""
        transfers = self._transfers(amount_due)
        self.payment_in_flight = True
        self.state.payments.extend(transfers)
        self._open_task(TaskKind.AWAIT_BANK)
        await self._record("payment_instructed", details={"attempt": self.pay_attempt, "transfers": len(transfers),
                                                           "amount": sum(t.amount for t in transfers)})  # fmt: skip
        batch = PaymentBatch(
            group_id=self.state.group_id,
            batch_id=f"{self.state.group_id}-A{self.pay_attempt}",
            attempt=self.pay_attempt,
            transfers=[TransferSpec(transfer_id=t.transfer_id, idempotency_key=t.idempotency_key,
                                    batch_id=f"{self.state.group_id}-A{self.pay_attempt}",
                                    beneficiary=t.beneficiary, bank_code=t.bank_code, account_no=t.account_no,
                                    amount=t.amount) for t in transfers],
        )  # fmt: skip
        return batch

    async def _send(self, batch: PaymentBatch) -> list[str]:
        """Instruct the bank; results the bank already knows count at once, the rest come later."""
        immediate: list[PaymentResult] = await workflow.execute_activity(
            "instruct_payments", batch, result_type=list[PaymentResult],
            start_to_close_timeout=timedelta(minutes=2), heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT,
            retry_policy=BANK_RETRY,
        )  # fmt: skip
        for result in immediate:
            self.payment_result(result)
        return [t.transfer_id for t in batch.transfers]

    async def _await_bank(self, ids: list[str]) -> None:
        """Callbacks arrive as signals; without one by `bank_poll_after`, ask the bank ourselves."""

        def all_final() -> bool:
            return all(i in self.bank_results for i in ids)

        while not all_final():
            if not await self._await_task(all_final, poll=self.policy.bank_poll_after):
                polled: list[PaymentResult] = await workflow.execute_activity(
                    "poll_payments", [i for i in ids if i not in self.bank_results],
                    result_type=list[PaymentResult], start_to_close_timeout=ACTIVITY_TIMEOUT,
                    heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT, retry_policy=BANK_RETRY,
                )  # fmt: skip
                for result in polled:
                    self.payment_result(result)

    async def _settle_budget(self, paid: int) -> None:
        assert self.reservation_id is not None
        await workflow.execute_activity(
            "settle_budget", BudgetSettlement(reservation_id=self.reservation_id, paid_amount=paid),
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        self.reservation_id = None

    async def _settle_payments(self, ids: list[str]) -> None:
        async with self.lock:
            paid_now = 0
            failures: list[PaymentResult] = []
            for payment in self.state.payments:
                if payment.transfer_id in ids:
                    result = self.bank_results[payment.transfer_id]
                    payment.status = result.status
                    payment.reason = result.reason
                    if result.status == "paid":
                        paid_now += payment.amount
                    else:
                        failures.append(result)
            settle: BudgetSettlement | None = None
            if workflow.patched(PATCH_LEDGER_STEPS):
                # Settled in the same transaction that records the outcome.
                assert self.reservation_id is not None
                settle = BudgetSettlement(reservation_id=self.reservation_id, paid_amount=paid_now)
                self.reservation_id = None
            else:
                await self._settle_budget(paid=paid_now)
            self.payment_in_flight = False
            self.ready_to_pay = False
            reason = "; ".join(sorted({f.reason or "refused" for f in failures}))
            details = {"failed": len(failures), "paid_amount": paid_now, "attempt": self.pay_attempt}
            if not failures:
                self.state.paid_at = workflow.now()
                self._schedule_visits()
                self._open_visit_task(self.state.visits[0])
                await self._transition(Stage.MENTORING, "aid_paid", None,
                                       details={"amount": self.state.approved_amount or 0,
                                                "transfers": len(self.state.payments)},
                                       notify=["aid_paid", "visit_due"], settle=settle)  # fmt: skip
            elif (
                not any(f.permanent for f in failures)
                and self.auto_retries < self.policy.payment_auto_retries
            ):
                # The bank failed the transfer for a passing reason: a new transfer, no officer needed.
                self.auto_retries += 1
                self.ready_to_pay = True
                await self._record("payment_retry", reason=reason, details=details, settle=settle)
            else:
                self._open_task(TaskKind.UPDATE_BANK_ACCOUNT, note=reason)
                await self._record(
                    "payment_failed",
                    reason=reason,
                    notify=["bank_account_rejected"],
                    details=details,
                    settle=settle,
                )

    def _schedule_visits(self) -> None:
        schedule = self.policy.mentoring
        start = workflow.now()
        self.state.visits = [
            Visit(
                visit_no=i,
                due_on=local_date(start + schedule.interval * i),
                handover=schedule.handover_last and i == schedule.visits,
            )
            for i in range(1, schedule.visits + 1)
        ]
