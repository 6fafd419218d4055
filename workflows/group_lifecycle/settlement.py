"""A settlement counts only once its record is written (patch `settlement-recorded-first-v1`): the
lump sum's attempt (`payments.py`), a week's wage batch and the end of a work period (`wages.py`) are
worked out in place and recorded under the lock; a record refused for good puts the state back, opens
finance's `investigate_payment` and tries again, backing off, until it is written once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import clean_reason
    from jps.domain.stages import TaskKind
    from workflows.restore import Snapshot

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.bank import BankSteps


class SettlementSteps(BankSteps):
    async def _settle_in_flight(self, ids: list[str], settle: Callable[[], Awaitable[None]]) -> None:
        """Settle the batch in flight with `settle`, under the lock, unless it was settled already (a
        step's failure must never make a batch settle twice); wait visibly if its record is refused."""
        engine = self.state.runtime.payments
        async with self.lock:
            if not engine.in_flight:
                return  # settled already
            refused = await self._settle_recorded_first(settle)
        if refused is not None:
            await self._settlement_refused(ids, refused)

    async def _settle_recorded_first(self, settle: Callable[[], Awaitable[None]]) -> str | None:
        """Under the lock: `settle` works the settled state out in place and records it. None once the
        record is written; if it is refused for good, the state as it was (nothing of the settlement
        was written) and why, for `_settlement_refused` (outside the lock)."""
        engine = self.state.runtime.payments
        before = Snapshot(self.state)
        try:
            await settle()
        except ActivityError as err:
            # Every wage group is on the bank-status path (wages.py), also at the end of its work period.
            status_path = engine.status_path or self.state.runtime.wages is not None
            if not (status_path and workflow.patched(patches.SETTLEMENT_RECORDED_FIRST)):
                raise  # before the patch the settled state stayed, unrecorded: old histories replay it
            before.restore(self.state)  # nothing of the settlement was written
            engine.settle_refusals += 1
            return clean_reason(f"the settlement could not be recorded: {err.cause or err}")
        engine.settle_refusals = 0
        return None

    async def _settlement_refused(self, ids: list[str], reason: str) -> None:
        """What was to be settled stays as it was (the batch in flight with the bank's word, the
        budget reserved); finance sees why in an `investigate_payment` task (closed by the
        settlement), and the main loop settles again (`_resume_payment` for a batch in flight:
        nothing sent or asked again) after `bank_poll_after`, then twice as long each time up to
        `bank_poll_max`. Outside the lock: officers' steps go on meanwhile."""
        engine = self.state.runtime.payments
        workflow.logger.error(
            "settlement_refused",
            extra={"group_id": self.state.group_id, "error": reason, "refusals": engine.settle_refusals},
        )
        if self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is None:
            try:
                await self._open_investigation_when_due(ids, note=reason)
            except ActivityError:
                # Not even the investigation could be recorded: it is tried again at the next refusal.
                async with self.lock:
                    if self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is not None:
                        self._close_task(TaskKind.INVESTIGATE_PAYMENT)
        await self._await_task(lambda: False, poll=self._poll_interval(engine.settle_refusals - 1))
