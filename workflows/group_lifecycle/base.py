"""What every part of the lifecycle shares: the state, the lock, the task board, and the recording
of a step.

An accepted step is recorded by one activity, `record_transition`, which writes the read model,
the stage transition, the audit row, the outbox notifications and (when money settles) the budget
ledger in one PostgreSQL transaction; `(group_id, seq, run_id)` makes a retry a no-op. Each stage's
module (`proposal`, `training`, `disbursement`, `payments`, `bank`, `mentoring`, `lpj`, `recovery`,
`muster`, `wage_release`, `wages`, `claims`) is a mixin built on this class; `workflow.py` assembles
them into the one workflow type.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.db import ReadModelActivities
    from jps.contracts.activities import BudgetSettlement, ReceivableEvent, TransitionRecord
    from jps.contracts.refusals import ErrorType, RefusalKind
    from jps.contracts.wages import BudgetDraw, WageWeekRecord
    from jps.contracts.workflow import GroupInput, GroupState
    from jps.domain.calendar import local_date
    from jps.domain.models import Officer, SpendingLine, Task
    from jps.domain.programs import ProgramPolicy
    from jps.domain.stages import TERMINAL_STAGES, Stage, TaskKind
    from jps.search_attributes import SA_ESCALATION, SA_PROGRAM, SA_REGION, SA_STAGE
    from workflows.restore import Snapshot

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.guards import authorize, refuse
from workflows.group_lifecycle.options import ACTIVITY_TIMEOUT, DB_RETRY, LOCAL_RECORD_WITHIN
from workflows.group_lifecycle.tasks import Escalation, TaskBoard

# A step's own transaction can refuse what only PostgreSQL can see (an LPJ receipt another group
# submitted a moment earlier): the officer gets a refusal naming the field, and nothing stays.
REFUSED_BY_THE_DATABASE: dict[str, RefusalKind] = {ErrorType.RECEIPT_REUSED: RefusalKind.INVALID}


class LifecycleBase:
    inp: GroupInput
    policy: ProgramPolicy
    state: GroupState
    lock: asyncio.Lock
    tasks: TaskBoard
    # Started under patches.LEANER_HISTORY: asked once, in the run's first workflow task (__init__).
    lean: bool
    # Started under patches.LOCAL_ROLLS / LOCAL_ASKS (each implies the older starting patches).
    local_rolls: bool
    local_asks: bool

    def _since(self, patch_id: str) -> bool:
        """`workflow.patched(patch_id)`, without asking for a run started under LEANER_HISTORY: every
        older patch was in force when it started, so its answer is True and its marker only history.
        A run started before asks as it always did (its memoized answers stay what they were)."""
        return self.lean or workflow.patched(patch_id)

    # ---- recording

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
        lpj_lines: list[SpendingLine] | None = None,
        receivable_event: ReceivableEvent | None = None,
        wage_weeks: list[WageWeekRecord] | None = None,
        draw: BudgetDraw | None = None,
    ) -> None:
        self.state.seq += 1
        record = TransitionRecord(
            group_id=self.state.group_id,
            seq=self.state.seq,
            run_id=workflow.info().run_id,
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
            lpj_lines=lpj_lines,
            receivable_event=receivable_event,
            wage_weeks=wage_weeks,
            draw=draw,
        )
        try:
            if not (self._since(patches.SMALLER_HISTORY) and await _recorded_locally(record)):
                await workflow.execute_activity_method(
                    ReadModelActivities.record_transition,
                    record,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
        except ActivityError:
            self.state.seq -= 1  # nothing was written for this step
            raise

    async def _transition(self, to: Stage, event: str, officer: Officer | None, **kw: Any) -> None:
        from_stage = self.state.stage
        self.state.stage = to
        if to in TERMINAL_STAGES:
            self.tasks.close_all()
        await self._record(event, officer=officer, from_stage=from_stage if from_stage != to else None, **kw)
        self._upsert_search_attributes()

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
        if self._since(patches.SMALLER_HISTORY):
            current = workflow.info().typed_search_attributes
            updates = [u for u in updates if current.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

    # ---- tasks

    def _open_task(self, kind: TaskKind, *, due_at: datetime | None = None, note: str = "") -> Task:
        return self.tasks.open(kind, due_at=due_at, note=note)

    def _close_task(self, kind: TaskKind | None = None) -> None:
        self.tasks.close(kind)

    async def _await_task(
        self,
        done: Callable[[], bool],
        *,
        poll: timedelta | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        return await self.tasks.wait(done, escalate=self._record_escalation, poll=poll, stop=stop)

    async def _record_escalation(self, task: Task, escalation: Escalation) -> None:
        details = {"task": task.kind.value, "level": escalation.level, "due_at": task.due_at.isoformat()}
        await self._record(escalation.event, details=details, notify=[escalation.event])
        self._upsert_search_attributes()

    # ---- officers' steps

    def _today(self) -> date:
        return local_date(workflow.now())

    def _authorize(
        self, action: str, officer: Officer | None, task: TaskKind | tuple[TaskKind, ...] | None
    ) -> Officer:
        return authorize(self.state, action, officer, task)

    @asynccontextmanager
    async def _officer_step(self) -> AsyncIterator[None]:
        """An officer's step runs alone (the lock), and never before the registration is written.

        The read model shows a group (and its verify task) as soon as the registration commits, a
        moment before this workflow hears so; a step sent in that moment passed its validator and
        waits here, then is validated again: refused if the registration failed. Once registered
        this is exactly `async with self.lock` (no extra wait), so recorded histories replay."""
        registration = self.state.runtime.registration
        if not registration.settled:
            await workflow.wait_condition(lambda: registration.settled)
        async with self.lock:
            before = Snapshot(self.state)
            recorded = self.state.seq
            try:
                yield
            except ActivityError as err:
                # The step's record failed for good: nothing of it was written, so nothing of it
                # stays (before the patch the half-changed state stayed: old histories replay that).
                if self.state.seq == recorded and self._since(patches.BANK_STATUS_DECIDES):
                    before.restore(self.state)
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type in REFUSED_BY_THE_DATABASE:
                    raise refuse(REFUSED_BY_THE_DATABASE[cause.type], cause.message) from None
                raise
            except FailureError:
                raise  # a refusal: the handlers refuse before they change anything
            except Exception as exc:
                # A bug must fail this update, never the workflow task (which would wedge the group:
                # every later step would answer 503). Nothing of the step stays unless it was
                # recorded already (then the state is what the record says).
                if self.state.seq == recorded:
                    before.restore(self.state)
                workflow.logger.error(
                    "step_failed", extra={"group_id": self.state.group_id, "error": type(exc).__name__}
                )
                raise refuse(
                    RefusalKind.INVALID, f"the step could not be applied ({type(exc).__name__})"
                ) from None

    @staticmethod
    def _officer(args: Any) -> Officer:
        officer: Officer = args.officer
        return officer


async def _recorded_locally(record: TransitionRecord) -> bool:
    """Record the step by the local activity; False when it did not within LOCAL_RECORD_WITHIN (the
    database slow or away): the caller records it by the ordinary activity, a no-op if this one's
    last attempt committed after all. A refusal (a non-retryable error) is raised as the ordinary
    activity's is, an ActivityError whose cause is the ApplicationError: a failed local activity
    reaches the workflow as its bare cause (the ApplicationError, or a TimeoutError)."""
    try:
        await workflow.execute_local_activity_method(
            ReadModelActivities.record_step,
            record,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=LOCAL_RECORD_WITHIN,
            retry_policy=DB_RETRY,
        )
    except FailureError as err:
        cause = err.cause if isinstance(err, ActivityError) else err
        refused = isinstance(cause, ApplicationError) and (
            cause.non_retryable or cause.type in (DB_RETRY.non_retryable_error_types or ())
        )
        if not refused:
            return False
        raise ActivityError(
            "record_step refused the step",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type="record_step",
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        ) from cause
    return True
