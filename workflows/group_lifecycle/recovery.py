"""Recovery (tuntutan ganti rugi): aid a TKM group did not account for is owed back.

A receivable opens when an LPJ is accepted short, rejected, or still missing at its last escalation
(`lpj.py`). Finance records repayments in instalments (`record-repayment`); a supervisor writes off
what cannot be recovered, with a reason (`write-off-receivable`). A group under recovery no longer
holds its members' NIKs (they may join another group); it completes once the receivable is settled.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import ReceivableEvent
    from jps.contracts.refusals import RefusalKind
    from jps.domain.calendar import local_date
    from jps.domain.models import (
        Officer,
        Receivable,
        RecordRepaymentArgs,
        StepResult,
        WriteOffReceivableArgs,
    )
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse


class RecoverySteps(LifecycleBase):
    def _open_receivable(self, amount: int, why: str, reason: str) -> ReceivableEvent:
        self.state.receivable = Receivable(
            amount=amount,
            reason=why,  # one of overdue / rejected / short
            opened_at=workflow.now(),
        )
        self._open_task(TaskKind.RECOVER_RECEIVABLE, note=f"Rp {amount:,} to recover ({why})")
        return ReceivableEvent(kind="opened", amount=amount, reason=reason)

    def _next_stage(self) -> Stage:
        """Where a group goes once its LPJ, its visits or its receivable moved."""
        lpj, receivable = self.state.lpj, self.state.receivable
        owes = receivable is not None and receivable.outstanding > 0
        if self.state.stage == Stage.RECOVERY:
            return Stage.RECOVERY if owes else Stage.COMPLETED
        visits_done = all(v.reported_on is not None for v in self.state.visits)
        failed = lpj is not None and lpj.status in ("rejected", "overdue")
        if owes and (visits_done or failed):
            return Stage.RECOVERY
        if visits_done and not owes and (lpj is None or lpj.status == "accepted"):
            return Stage.COMPLETED
        return self.state.stage

    async def _move_on(self, event: str, officer: Officer | None, **kw: Any) -> None:
        """Record the step, in the stage it leads to."""
        to = self._next_stage()
        notify: list[str] = list(kw.pop("notify", []))
        if to == Stage.RECOVERY and self.state.stage != Stage.RECOVERY:
            # Mentoring ends here: only the receivable's task stays open.
            self._close_task()
            self._close_task(TaskKind.SUBMIT_LPJ)
            self._close_task(TaskKind.REVIEW_LPJ)
        if to == Stage.COMPLETED:
            notify.append("completed")
        await self._transition(to, event, officer, notify=notify, **kw)

    async def _receivable_moved(self, event: str, officer: Officer, moved: ReceivableEvent) -> None:
        receivable = self.state.receivable
        assert receivable is not None
        details: dict[str, Any] = {
            "amount": moved.amount,
            "outstanding": receivable.outstanding,
            "recovered": receivable.recovered,
            "written_off": receivable.written_off,
        }
        if receivable.outstanding == 0:
            self._close_task(TaskKind.RECOVER_RECEIVABLE)
        await self._move_on(
            event, officer, reason=moved.reason or moved.reference, details=details, receivable_event=moved
        )

    @workflow.update
    async def record_repayment(self, args: RecordRepaymentArgs) -> StepResult:
        async with self._officer_step():
            self._check_record_repayment(args)
            if self._since(patches.REPAYMENT_ONCE):
                # Its twin may have been recorded while this one waited for the lock.
                self._refuse_recorded_reference(args)
            receivable = self.state.receivable
            assert receivable is not None
            receivable.recovered += args.amount
            receivable.repayments += 1
            receivable.references.append(args.normalised_reference)
            moved = ReceivableEvent(
                kind="repayment", amount=args.amount, paid_on=args.paid_on, reference=args.reference
            )
            await self._receivable_moved("repayment_recorded", self._officer(args), moved)
            return self.state.step_result()

    @record_repayment.validator
    def _validate_record_repayment(self, args: RecordRepaymentArgs) -> None:
        self._check_record_repayment(args)
        self._refuse_recorded_reference(args)

    def _refuse_recorded_reference(self, args: RecordRepaymentArgs) -> None:
        """The same deposit sent again (a retry after a 503, a double click) is not a second repayment."""
        receivable = self.state.receivable
        if receivable is not None and args.normalised_reference in receivable.references:
            raise refuse(
                RefusalKind.WRONG_STAGE,
                f"reference: the repayment {args.normalised_reference} is already recorded",
            )

    def _check_record_repayment(self, args: RecordRepaymentArgs) -> None:
        """The checks the handler repeats under the lock on every history (the reference's, recorded
        since the repayment-once patch, apart)."""
        self._authorize("record-repayment", args.officer, TaskKind.RECOVER_RECEIVABLE)
        receivable = self._outstanding_receivable(args.amount)
        if args.paid_on > self._today():
            raise refuse(RefusalKind.INVALID, "paid_on: a date in the future")
        if args.paid_on < local_date(receivable.opened_at):
            raise refuse(RefusalKind.INVALID, "paid_on: before the receivable was opened")

    @workflow.update
    async def write_off_receivable(self, args: WriteOffReceivableArgs) -> StepResult:
        async with self._officer_step():
            self._check_write_off_receivable(args)
            if self._since(patches.WRITE_OFF_ONCE):
                self._refuse_recorded_write_off(args)  # its twin may have been recorded meanwhile
            receivable = self.state.receivable
            assert receivable is not None
            receivable.written_off += args.amount
            receivable.write_offs.append(args.key)
            moved = ReceivableEvent(kind="write_off", amount=args.amount, reason=args.reason)
            await self._receivable_moved("receivable_written_off", self._officer(args), moved)
            return self.state.step_result()

    @write_off_receivable.validator
    def _validate_write_off_receivable(self, args: WriteOffReceivableArgs) -> None:
        self._check_write_off_receivable(args)
        self._refuse_recorded_write_off(args)

    def _check_write_off_receivable(self, args: WriteOffReceivableArgs) -> None:
        self._authorize("write-off-receivable", args.officer, TaskKind.RECOVER_RECEIVABLE)
        self._outstanding_receivable(args.amount)

    def _refuse_recorded_write_off(self, args: WriteOffReceivableArgs) -> None:
        """The same write-off sent again (a retry after a 503, a double click) is not a second one."""
        receivable = self.state.receivable
        if receivable is not None and args.key in receivable.write_offs:
            raise refuse(
                RefusalKind.WRONG_STAGE,
                f"reason: this write-off is already recorded (Rp {args.amount:,}, the same reason)",
            )

    def _outstanding_receivable(self, amount: int) -> Receivable:
        receivable = self.state.receivable
        if receivable is None or receivable.outstanding <= 0:
            raise refuse(RefusalKind.WRONG_STAGE, "nothing is owed by this group")
        if amount > receivable.outstanding:
            raise refuse(
                RefusalKind.INVALID, f"amount: more than the {receivable.outstanding:,} rupiah still owed"
            )
        return receivable
