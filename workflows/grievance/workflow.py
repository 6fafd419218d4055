"""GrievanceWorkflow: one durable workflow per grievance (pengaduan), from filing to its decision and,
for as long as it may be reopened, after.

Filing starts the workflow with an update (`grievance_filed`, update-with-start from
`infra/grievances.py`) that answers once the case is written to PostgreSQL. Officers' steps
(acknowledge, request-info, resolve, reopen) and the complainant's (an answer, a reopening) are
updates with validators (`steps.py`, checks in `guards.py`): a refusal changes nothing, not even the
history. Each accepted step changes the state, is recorded by one activity (`record_grievance_step`,
`base.py`) and answers a `GrievanceRef`. The open task escalates on durable timers (`deadlines.py`).
All the workflow knows is `GrievanceState` (the `grievance_state` query shows it); the NIK and phone
stay in the input. No I/O, clocks or randomness here: only `workflow.*` APIs.

This module holds the type itself: the start, the registration, the main loop (the waits for the
complainant's answer and for the archiving) and the filing update and the query.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.grievances import GrievanceActivities
    from jps.contracts.grievances import GrievanceInput, GrievanceRef, GrievanceState
    from jps.contracts.names import GRIEVANCE_FILED_UPDATE, GRIEVANCE_STATE_QUERY, GRIEVANCE_WORKFLOW_TYPE
    from jps.domain.grievances import GrievanceStatus, GrievanceTaskKind
    from workflows.group_lifecycle.options import ACTIVITY_TIMEOUT, DB_RETRY

from workflows.grievance.base import PAYMENT_CATEGORIES
from workflows.grievance.deadlines import wait_for_step, wait_on_task
from workflows.grievance.steps import ComplainantSteps, OfficerSteps


@workflow.defn(name=GRIEVANCE_WORKFLOW_TYPE)
class GrievanceWorkflow(OfficerSteps, ComplainantSteps):
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
                if not await wait_for_step(self.state, self._archive_at()):
                    async with self.lock:
                        if self.state.status == GrievanceStatus.RESOLVED:
                            self.state.status = GrievanceStatus.ARCHIVED
                            await self._record("archived")
                            return self.state
            elif status == GrievanceStatus.INFO_REQUESTED:
                if not await wait_for_step(self.state, self.state.answer_due_at):
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

    def _archive_at(self) -> Any:
        decided = self.state.decided_at or self.state.filed_at
        return decided + self.policy.archive_after

    # ---- filing (update-with-start) and the query

    @workflow.update(name=GRIEVANCE_FILED_UPDATE)
    async def filed(self) -> GrievanceRef:
        await workflow.wait_condition(lambda: self.state.registered)
        return self._ref()

    @workflow.query(name=GRIEVANCE_STATE_QUERY)
    def grievance_state(self) -> GrievanceState:
        return self.state
