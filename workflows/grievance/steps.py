"""The steps of a grievance, each an update with a validator (`guards.py`): the officers'
(acknowledge, request-info, resolve, reopen) and the complainant's from the public page or an SMS
(an answer to a question, a reopening within the policy's window). Each runs under `_step` (the
lock; a failed record leaves nothing), records itself and answers a `GrievanceRef`."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.grievances import (
        AcknowledgeArgs,
        ComplainantArgs,
        GrievanceRef,
        ReopenArgs,
        RequestInfoArgs,
        ResolveArgs,
    )
    from jps.contracts.names import GRIEVANCE_COMPLAINANT_REOPEN_UPDATE, GRIEVANCE_PROVIDE_INFO_UPDATE
    from jps.contracts.refusals import RefusalKind
    from jps.domain.grievances import GrievanceStatus, GrievanceTaskKind
    from jps.domain.roles import Role

from workflows.grievance.base import PAYMENT_CATEGORIES, GrievanceBase
from workflows.grievance.guards import authorize_officer, check_complainant, refuse


class OfficerSteps(GrievanceBase):
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


class ComplainantSteps(GrievanceBase):
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
