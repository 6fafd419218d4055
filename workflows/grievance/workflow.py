"""GrievanceWorkflow: one durable workflow per grievance (pengaduan), from filing to its decision and,
for as long as it may be reopened, after.

Filing starts the workflow with an update (`grievance_filed`, update-with-start from
`infra/grievances.py`) that answers once the case is written to PostgreSQL. Officers' steps
(acknowledge, request-info, resolve, reopen) and the complainant's (an answer, a reopening) are
updates with validators (`guards.py`): a refusal changes nothing, not even the history. Each accepted
step changes the state, is recorded by one activity (`record_grievance_step`: read model, task, audit
row, SMS in one transaction) and answers a `GrievanceRef`. The open task escalates on durable timers
(`deadlines.py`). All the workflow knows is `GrievanceState` (the `grievance_state` query shows it);
the NIK and phone stay in the input. No I/O, clocks or randomness here: only `workflow.*` APIs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.grievances import GrievanceActivities
    from jps.contracts.grievances import (
        AcknowledgeArgs,
        BankCheck,
        ComplainantArgs,
        GrievanceInput,
        GrievanceRef,
        GrievanceState,
        GrievanceStep,
        GrievanceTask,
        ReopenArgs,
        RequestInfoArgs,
        ResolveArgs,
    )
    from jps.contracts.names import (
        GRIEVANCE_COMPLAINANT_REOPEN_UPDATE,
        GRIEVANCE_FILED_UPDATE,
        GRIEVANCE_PROVIDE_INFO_UPDATE,
        GRIEVANCE_STATE_QUERY,
        GRIEVANCE_WORKFLOW_TYPE,
    )
    from jps.contracts.refusals import RefusalKind
    from jps.domain.grievances import (
        GrievanceCategory,
        GrievanceStatus,
        GrievanceTaskKind,
    )
    from jps.domain.models import Officer
    from jps.domain.roles import Role
    from workflows.group_lifecycle.options import ACTIVITY_TIMEOUT, DB_RETRY
    from workflows.restore import restore_in_place

from workflows.grievance.deadlines import LEVEL_EVENTS, wait_on_task
from workflows.grievance.guards import authorize_officer, check_complainant, refuse

PAYMENT_CATEGORIES = (GrievanceCategory.PAYMENT_NOT_RECEIVED, GrievanceCategory.WRONG_AMOUNT)
BANK_ASK_WITHIN = timedelta(minutes=2)  # the bank's status is shown when it answers; never blocks a case


@workflow.defn(name=GRIEVANCE_WORKFLOW_TYPE)
class GrievanceWorkflow:
    @workflow.init
    def __init__(self, inp: GrievanceInput) -> None:
        self.inp = inp
        self.policy = inp.policy
        self.rule = inp.policy.rule(inp.category)
        self.lock = asyncio.Lock()
        self.state = GrievanceState(
            grievance_id=inp.grievance_id,
            category=inp.category,
            channel=inp.channel,
            group_id=inp.group_id,
            about_officer=inp.about_officer,
            filed_by=inp.filed_by,
            filed_at=workflow.now(),
        )

    # ---- the main loop

    @workflow.run
    async def run(self, inp: GrievanceInput) -> GrievanceState:
        await self._register()
        while True:
            status = self.state.status
            if status == GrievanceStatus.RESOLVED:
                if not await self._wait_for_step(self._archive_at()):
                    async with self.lock:
                        if self.state.status == GrievanceStatus.RESOLVED:
                            self.state.status = GrievanceStatus.ARCHIVED
                            await self._record("archived")
                            return self.state
            elif status == GrievanceStatus.INFO_REQUESTED:
                if not await self._wait_for_step(self.state.answer_due_at):
                    async with self.lock:
                        if self.state.status == GrievanceStatus.INFO_REQUESTED:
                            self._resume_after_asking()
                            await self._record("no_answer", notify_roles=[self.rule.handler.value])
            else:
                await wait_on_task(self.state, self.policy, self._escalate)

    async def _register(self) -> None:
        reg = await workflow.execute_activity_method(
            GrievanceActivities.register_grievance,
            self.inp,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self.state.registration = reg
        if self.inp.category in PAYMENT_CATEGORIES and reg.transfer_id:
            self.state.bank = await self._check_bank(reg.transfer_id)
        filed_at = self.state.filed_at
        self.state.resolve_due_at = filed_at + self.rule.resolve_within
        self._open(GrievanceTaskKind.ACKNOWLEDGE, filed_at + self.rule.acknowledge_within)
        await self._record(
            "filed",
            officer_id=self.inp.filed_by,
            text=self.inp.text,
            sms="grievance_filed",
            notify_roles=[self.rule.handler.value],
            details={"channel": self.inp.channel, "request_id": self.inp.request_id or ""},
            filed=True,
        )
        self.state.registered = True

    async def _wait_for_step(self, until: Any) -> bool:
        """True when a step came before `until` (a durable timer), False when it passed."""
        token = self.state.task_token
        timeout = (until - workflow.now()).total_seconds() if until is not None else None
        if timeout is not None and timeout <= 0:
            return False  # already past: no zero-length timer
        try:
            await workflow.wait_condition(lambda: self.state.task_token != token, timeout=timeout)
        except TimeoutError:
            return self.state.task_token != token
        return True

    def _archive_at(self) -> Any:
        decided = self.state.decided_at or self.state.filed_at
        return decided + self.policy.archive_after

    # ---- tasks

    def _open(self, kind: GrievanceTaskKind, due_at: Any) -> None:
        roles = [self.rule.handler]
        self.state.task = GrievanceTask(kind=kind, roles=roles, opened_at=workflow.now(), due_at=due_at)
        self.state.escalation_level = 0
        self._moved()

    def _close(self) -> None:
        self.state.task = None
        self.state.escalation_level = 0
        self._moved()

    def _moved(self) -> None:
        self.state.task_token += 1

    async def _escalate(self, task: GrievanceTask, level: int) -> None:
        async with self.lock:
            if self.state.task is not task:
                return
            task.escalation_level = level
            self.state.escalation_level = level
            event, role = LEVEL_EVENTS[level]
            details = {"task": task.kind.value, "level": level, "due_at": task.due_at.isoformat()}
            await self._record(event, details=details, notify_roles=[role or self.rule.handler.value])

    def _resume_after_asking(self) -> None:
        """Back to the handler: the time the complainant was asked does not count against the SLA."""
        asked_at = self.state.info_requested_at or workflow.now()
        waited = workflow.now() - asked_at
        self.state.resolve_due_at = (self.state.resolve_due_at or workflow.now()) + waited
        self.state.status = GrievanceStatus.ACKNOWLEDGED
        self.state.info_requested_at = None
        self.state.answer_due_at = None
        self._open(GrievanceTaskKind.RESOLVE, self.state.resolve_due_at)

    # ---- recording

    async def _record(
        self,
        event: str,
        *,
        officer: Officer | None = None,
        officer_id: str | None = None,
        text: str = "",
        sms: str | None = None,
        notify_roles: list[str] | None = None,
        details: dict[str, Any] | None = None,
        filed: bool = False,
    ) -> None:
        self.state.seq += 1
        step = GrievanceStep(
            grievance_id=self.state.grievance_id,
            seq=self.state.seq,
            run_id=workflow.info().run_id,
            at=workflow.now(),
            event=event,
            officer=officer.id if officer else officer_id,
            officer_roles=[r.value for r in officer.roles] if officer else [],
            text=text,
            details=details or {},
            sms=sms,
            notify_roles=notify_roles or [],
            state=self.state,
            filed=self.inp if filed else None,
            phone=self.inp.phone if sms else "",
        )
        try:
            await workflow.execute_activity_method(
                GrievanceActivities.record_grievance_step,
                step,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        except ActivityError:
            self.state.seq -= 1
            raise

    async def _check_bank(self, transfer_id: str) -> BankCheck | None:
        try:
            return await workflow.execute_activity_method(
                GrievanceActivities.check_transfer,
                transfer_id,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=BANK_ASK_WITHIN,
            )
        except ActivityError:
            workflow.logger.warning(
                "grievance_bank_unanswered", extra={"grievance_id": self.state.grievance_id}
            )
            return self.state.bank

    @asynccontextmanager
    async def _step(self) -> AsyncIterator[None]:
        """A step runs alone (the lock) and, if its record fails, leaves nothing behind."""
        await workflow.wait_condition(lambda: self.state.registered)
        async with self.lock:
            before = self.state.model_copy(deep=True)
            try:
                yield
            except ActivityError:
                restore_in_place(self.state, before)  # in place: the main loop's wait holds the state
                raise

    def _ref(self) -> GrievanceRef:
        return GrievanceRef(
            grievance_id=self.state.grievance_id, status=self.state.status, due_at=self.state.due_at
        )

    # ---- filing (update-with-start) and the query

    @workflow.update(name=GRIEVANCE_FILED_UPDATE)
    async def filed(self) -> GrievanceRef:
        await workflow.wait_condition(lambda: self.state.registered)
        return self._ref()

    @workflow.query(name=GRIEVANCE_STATE_QUERY)
    def grievance_state(self) -> GrievanceState:
        return self.state

    # ---- officers' steps

    @workflow.update(name="grievance_acknowledge")
    async def acknowledge(self, args: AcknowledgeArgs) -> GrievanceRef:
        async with self._step():
            officer = authorize_officer(self.state, self.inp, "acknowledge", args.officer)
            self.state.status = GrievanceStatus.ACKNOWLEDGED
            if self.inp.category in PAYMENT_CATEGORIES and self.state.registration:
                transfer = self.state.registration.transfer_id
                if transfer:
                    self.state.bank = await self._check_bank(transfer)
            self._open(GrievanceTaskKind.RESOLVE, self.state.resolve_due_at)
            await self._record("acknowledged", officer=officer, text=args.note, sms="grievance_acknowledged")
        return self._ref()

    @acknowledge.validator
    def _validate_acknowledge(self, args: AcknowledgeArgs) -> None:
        authorize_officer(self.state, self.inp, "acknowledge", args.officer)

    @workflow.update(name="grievance_request_info")
    async def request_info(self, args: RequestInfoArgs) -> GrievanceRef:
        async with self._step():
            officer = authorize_officer(self.state, self.inp, "request-info", args.officer)
            now = workflow.now()
            self.state.status = GrievanceStatus.INFO_REQUESTED
            self.state.info_requested_at = now
            self.state.answer_due_at = now + self.policy.answer_within
            self._close()
            await self._record(
                "info_requested", officer=officer, text=args.question, sms="grievance_info_requested"
            )
        return self._ref()

    @request_info.validator
    def _validate_request_info(self, args: RequestInfoArgs) -> None:
        authorize_officer(self.state, self.inp, "request-info", args.officer)

    @workflow.update(name="grievance_resolve")
    async def resolve(self, args: ResolveArgs) -> GrievanceRef:
        async with self._step():
            officer = authorize_officer(self.state, self.inp, "resolve", args.officer)
            self.state.status = GrievanceStatus.RESOLVED
            self.state.decision = args.decision
            self.state.reason = args.reason
            self.state.decided_at = workflow.now()
            self.state.info_requested_at = None
            self.state.answer_due_at = None
            self._close()
            await self._record(
                "resolved",
                officer=officer,
                text=args.reason,
                sms="grievance_resolved",
                details={
                    "decision": args.decision.value,
                    "reopen_within_s": int(self.policy.reopen_within.total_seconds()),
                },
            )
        return self._ref()

    @resolve.validator
    def _validate_resolve(self, args: ResolveArgs) -> None:
        authorize_officer(self.state, self.inp, "resolve", args.officer)

    @workflow.update(name="grievance_reopen")
    async def reopen(self, args: ReopenArgs) -> GrievanceRef:
        async with self._step():
            officer = authorize_officer(self.state, self.inp, "reopen", args.officer)
            self._reopen()
            await self._record("reopened", officer=officer, text=args.reason, sms="grievance_reopened")
        return self._ref()

    @reopen.validator
    def _validate_reopen(self, args: ReopenArgs) -> None:
        authorize_officer(self.state, self.inp, "reopen", args.officer)

    def _reopen(self) -> None:
        previous = self.state.decision
        self.state.status = GrievanceStatus.ACKNOWLEDGED
        self.state.decision = None
        self.state.decided_at = None
        self.state.reason = f"(dibuka kembali; keputusan sebelumnya: {previous.value if previous else '-'})"
        self.state.reopened += 1
        self.state.resolve_due_at = workflow.now() + self.rule.resolve_within
        self._open(GrievanceTaskKind.RESOLVE, self.state.resolve_due_at)

    # ---- the complainant's steps (public page or SMS)

    @workflow.update(name=GRIEVANCE_PROVIDE_INFO_UPDATE)
    async def provide_info(self, args: ComplainantArgs) -> GrievanceRef:
        async with self._step():
            check_complainant(self.state, self.inp, args, (GrievanceStatus.INFO_REQUESTED,))
            self.state.answered += 1
            self._resume_after_asking()
            await self._record(
                "info_provided",
                text=args.text,
                sms="grievance_info_received",
                notify_roles=[self.rule.handler.value],
                details={"via": args.via, "message_id": args.message_id or ""},
            )
        return self._ref()

    @provide_info.validator
    def _validate_provide_info(self, args: ComplainantArgs) -> None:
        check_complainant(self.state, self.inp, args, (GrievanceStatus.INFO_REQUESTED,))

    @workflow.update(name=GRIEVANCE_COMPLAINANT_REOPEN_UPDATE)
    async def complainant_reopen(self, args: ComplainantArgs) -> GrievanceRef:
        async with self._step():
            self._check_reopen_window(args)
            self._reopen()
            await self._record(
                "reopened_by_complainant",
                text=args.text,
                sms="grievance_reopened",
                notify_roles=[self.rule.handler.value, Role.SUPERVISOR.value],
                details={"via": args.via},
            )
        return self._ref()

    @complainant_reopen.validator
    def _validate_complainant_reopen(self, args: ComplainantArgs) -> None:
        self._check_reopen_window(args)

    def _check_reopen_window(self, args: ComplainantArgs) -> None:
        check_complainant(self.state, self.inp, args, (GrievanceStatus.RESOLVED,))
        decided = self.state.decided_at
        if decided is not None and workflow.now() > decided + self.policy.reopen_within:
            days = self.policy.reopen_within.days
            raise refuse(
                RefusalKind.WRONG_STAGE,
                f"the decision is older than {days} days: ask the office to reopen it",
            )
