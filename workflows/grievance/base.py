"""What every part of a grievance's workflow shares: the state, the lock, the one open task (its
opening, closing and escalation), the recording of a step and the bank's status of the transfer a
payment grievance is about.

An accepted step is recorded by one activity, `record_grievance_step` (read model, task, audit row,
SMS in one transaction); a step whose record fails leaves nothing behind (`_step`). The steps
(`steps.py`) and the workflow type (`workflow.py`) are built on `GrievanceBase`.
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
        BankCheck,
        GrievanceInput,
        GrievanceRef,
        GrievanceState,
        GrievanceStep,
        GrievanceTask,
    )
    from jps.domain.grievances import (
        CategoryRule,
        GrievanceCategory,
        GrievancePolicy,
        GrievanceStatus,
        GrievanceTaskKind,
    )
    from jps.domain.models import Officer
    from workflows.group_lifecycle.options import ACTIVITY_TIMEOUT, DB_RETRY
    from workflows.restore import Snapshot

from workflows.grievance.deadlines import LEVEL_EVENTS

PAYMENT_CATEGORIES = (GrievanceCategory.PAYMENT_NOT_RECEIVED, GrievanceCategory.WRONG_AMOUNT)
BANK_ASK_WITHIN = timedelta(minutes=2)  # the bank's status is shown when it answers; never blocks a case


class GrievanceBase:
    inp: GrievanceInput
    policy: GrievancePolicy
    rule: CategoryRule
    lock: asyncio.Lock
    state: GrievanceState

    # ---- the open task

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

    def _reopen(self) -> None:
        previous = self.state.decision
        self.state.status = GrievanceStatus.ACKNOWLEDGED
        self.state.decision = None
        self.state.decided_at = None
        self.state.reason = f"(dibuka kembali; keputusan sebelumnya: {previous.value if previous else '-'})"
        self.state.reopened += 1
        self.state.resolve_due_at = workflow.now() + self.rule.resolve_within
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
            before = Snapshot(self.state)
            try:
                yield
            except ActivityError:
                before.restore(self.state)  # in place: the main loop's wait holds the state
                raise

    def _ref(self) -> GrievanceRef:
        return GrievanceRef(
            grievance_id=self.state.grievance_id, status=self.state.status, due_at=self.state.due_at
        )
