"""Disbursement, the automated side: reserve the budget, record the transfers, instruct the bank,
hear its answers, settle.

Freeze check, budget reservation and the transfers' record run under the lock (so a cancel cannot
slip between them); the bank instruction and its results run outside it (so a slow bank never
blocks officers' steps). Transfer ids are the bank's idempotency keys (`money.py`).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ledger import LedgerActivities
    from activities.payments import PaymentActivities
    from jps.contracts.activities import (
        BudgetRequest,
        BudgetSettlement,
        PaymentBatch,
        PaymentResult,
    )
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.budget import reserve
from workflows.group_lifecycle.mentoring import start_mentoring
from workflows.group_lifecycle.money import amount_still_due, payment_batch, transfers_for_attempt
from workflows.group_lifecycle.options import (
    ACTIVITY_TIMEOUT,
    BANK_BATCH_TIMEOUT,
    BANK_HEARTBEAT_TIMEOUT,
    BANK_RETRY,
    DB_RETRY,
)
from workflows.group_lifecycle.settlement import SettlementSteps

Wait = tuple[TaskKind, str, str]  # the task to open, the event to record, the reason


class PaymentEngine(SettlementSteps):
    @workflow.signal
    def budget_changed(self) -> None:
        """A national officer changed an allocation or lifted a freeze: re-check now, not at the
        next `budget_retry_every`. Harmless at any other time."""
        self.state.runtime.payments.budget_recheck = True

    @workflow.signal
    def payment_result(self, result: PaymentResult) -> None:
        """The bank's callback (through the API) or our own poll. Duplicates and late ones are harmless."""
        engine = self.state.runtime.payments
        known = {p.transfer_id for p in self.state.payments}
        if result.transfer_id in known and result.transfer_id not in engine.bank_results:
            engine.bank_results[result.transfer_id] = result

    def _paying(self) -> bool:
        return self.state.stage == Stage.DISBURSEMENT and self.state.runtime.payments.ready_to_pay

    async def _disburse(self) -> None:
        """One payment attempt, then mentoring or a fix task; or a visible wait for the budget."""
        engine = self.state.runtime.payments
        wait: Wait | None = None
        batch: PaymentBatch | None = None
        if engine.retry_wait is not None:
            # A new transfer after a passing failure waits its backoff; a cancel ends the wait. The
            # wait's own deadline says when it is over (no comparison with the clock: see tasks.py).
            await self._await_task(lambda: False, poll=engine.retry_wait, stop=lambda: not self._paying())
            if self.tasks.deadline_reached:
                engine.retry_wait = None
            return
        async with self.lock:
            if not self._paying():
                return
            engine.budget_recheck = False  # a budget change from now on triggers a re-check
            amount_due = amount_still_due(self.state)
            request = BudgetRequest(
                group_id=self.state.group_id,
                program=self.state.program.value,
                region_code=self.state.region_code,
                amount=amount_due,
                attempt=engine.attempt + 1,
            )
            if self._since(patches.LEDGER_STEPS):
                wait, batch = await self._reserve(request, amount_due)
            else:
                wait, batch = await self._reserve_before_ledger_steps_patch(request, amount_due)
            if wait is not None:
                kind, event, reason = wait
                if self.state.task_of(kind) is None:
                    self._open_task(kind, note=reason)
                    await self._record(event, reason=reason, notify=[event])
        if wait is not None or batch is None:
            # Re-check after the retry interval, or when told the budget changed; a cancel ends the wait.
            await self._await_task(
                lambda: False,
                poll=self.policy.budget_retry_every,
                stop=lambda: not self._paying() or engine.budget_recheck,
            )
            return
        if self._since(patches.BANK_STATUS_DECIDES):
            engine.status_path = True
            ids = [t.transfer_id for t in batch.transfers]
            await self._pay_until_final(batch, ids)
        else:
            ids = await self._send(batch)
            await self._await_bank(ids)
        await self._settle_payments(ids)

    async def _resume_payment(self) -> None:
        """An attempt in flight after a continue-as-new or an activity error: send its batch if it
        never reached the sending step (the same transfers and keys: the bank's idempotency makes a
        repeat harmless), then ask until the bank's word is final, and settle."""
        engine = self.state.runtime.payments
        transfers = [p for p in self.state.payments if p.attempt == engine.attempt]
        ids = [p.transfer_id for p in transfers]
        batch = None if engine.sent else payment_batch(self.state, engine.attempt, transfers)
        await self._pay_until_final(batch, ids)
        await self._settle_payments(ids)

    async def _reserve(
        self, request: BudgetRequest, amount_due: int
    ) -> tuple[Wait | None, PaymentBatch | None]:
        """One activity checks the freeze and reserves the budget (budget.py: local, since LEANER_HISTORY)."""
        budget = await reserve(request, local=self.lean)
        if budget.frozen:
            return (TaskKind.AWAIT_UNFREEZE, "disbursement_frozen", budget.reason), None
        if not budget.reserved:
            return (TaskKind.AWAIT_BUDGET, "budget_unavailable", budget.reason), None
        return None, await self._reserved(budget.reservation_id, amount_due)

    async def _reserve_before_ledger_steps_patch(
        self, request: BudgetRequest, amount_due: int
    ) -> tuple[Wait | None, PaymentBatch | None]:
        """The command sequence of workflows started before `patches.LEDGER_STEPS`: a separate
        freeze check. Remove with `workflow.deprecate_patch` once no such workflow runs."""
        freeze = await workflow.execute_activity_method(
            LedgerActivities.check_freeze,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if freeze.frozen:
            return (TaskKind.AWAIT_UNFREEZE, "disbursement_frozen", freeze.reason), None
        budget = await workflow.execute_activity_method(
            LedgerActivities.reserve_budget,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if not budget.reserved:
            return (TaskKind.AWAIT_BUDGET, "budget_unavailable", budget.reason), None
        return None, await self._reserved(budget.reservation_id, amount_due)

    async def _reserved(self, reservation_id: str, amount_due: int) -> PaymentBatch:
        """The budget is reserved: a new attempt. Record its transfers before the bank hears of them
        (idempotency key = transfer id, stable across retries and worker restarts). Under the lock."""
        engine = self.state.runtime.payments
        engine.attempt += 1
        engine.reservation_id = reservation_id
        transfers = transfers_for_attempt(self.state, self.state.proposal, engine.attempt, amount_due)
        engine.in_flight = True
        self.state.payments.extend(transfers)
        self._open_task(TaskKind.AWAIT_BANK)
        details = {
            "attempt": engine.attempt,
            "transfers": len(transfers),
            "amount": sum(t.amount for t in transfers),
        }
        await self._record("payment_instructed", details=details)
        return payment_batch(self.state, engine.attempt, transfers)

    async def _send(self, batch: PaymentBatch) -> list[str]:
        """Instruct the bank; results the bank already knows count at once, the rest come later."""
        immediate = await workflow.execute_activity_method(
            PaymentActivities.instruct_payments,
            batch,
            start_to_close_timeout=BANK_BATCH_TIMEOUT,
            heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT,
            retry_policy=BANK_RETRY,
        )
        for result in immediate:
            self.payment_result(result)
        return [t.transfer_id for t in batch.transfers]

    async def _await_bank(self, ids: list[str]) -> None:
        """Callbacks arrive as signals; without one by `bank_poll_after`, ask the bank ourselves."""
        results = self.state.runtime.payments.bank_results

        def all_final() -> bool:
            return all(i in results for i in ids)

        while not all_final():
            if not await self._await_task(all_final, poll=self.policy.bank_poll_after):
                polled = await workflow.execute_activity_method(
                    PaymentActivities.poll_payments,
                    [i for i in ids if i not in results],
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT,
                    retry_policy=BANK_RETRY,
                )
                for result in polled:
                    self.payment_result(result)

    async def _settle_budget(self, paid: int) -> None:
        engine = self.state.runtime.payments
        assert engine.reservation_id is not None
        await workflow.execute_activity_method(
            LedgerActivities.settle_budget,
            BudgetSettlement(reservation_id=engine.reservation_id, paid_amount=paid),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        engine.reservation_id = None

    async def _settle_payments(self, ids: list[str]) -> None:
        """The bank's final word on every transfer of the attempt: settle it, once its record is
        written (`_settle_recorded_first`)."""
        await self._settle_in_flight(ids, lambda: self._settle_attempt(ids))

    async def _settle_attempt(self, ids: list[str]) -> None:
        """Under the lock, the attempt in flight: the outcome, the budget and the next step, recorded."""
        engine = self.state.runtime.payments
        by_status = engine.sent  # sent through send_transfers: the bank's status decided (patched path)
        paid_now = 0
        failures: list[PaymentResult] = []
        for payment in self.state.payments:
            if payment.transfer_id in ids:
                result = engine.bank_results[payment.transfer_id]
                payment.status = result.status
                payment.reason = result.reason
                if by_status:
                    payment.permanent = result.status == "failed" and result.permanent
                if result.status == "paid":
                    paid_now += payment.amount
                else:
                    failures.append(result)
        settle: BudgetSettlement | None = None
        if self._since(patches.LEDGER_STEPS):
            # Settled in the same transaction that records the outcome.
            assert engine.reservation_id is not None
            settle = BudgetSettlement(reservation_id=engine.reservation_id, paid_amount=paid_now)
            engine.reservation_id = None
        else:
            await self._settle_budget(paid=paid_now)
        engine.in_flight = False
        engine.ready_to_pay = False
        if self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is not None:
            self._close_task(TaskKind.INVESTIGATE_PAYMENT)  # whatever path opened it
        if by_status:
            engine.sent, engine.polls, engine.instructed_at, engine.held = False, 0, None, []
        reason = "; ".join(sorted({f.reason or "refused" for f in failures}))
        details = {"failed": len(failures), "paid_amount": paid_now, "attempt": engine.attempt}
        if not failures:
            notify = ["aid_paid", *start_mentoring(self.state, self.policy, self.tasks, lean=self.lean)]
            paid = {"amount": self.state.approved_amount or 0, "transfers": len(self.state.payments)}
            await self._transition(
                Stage.MENTORING, "aid_paid", None, details=paid, notify=notify, settle=settle
            )
        elif (
            not any(f.permanent for f in failures) and engine.auto_retries < self.policy.payment_auto_retries
        ):
            # The bank failed the transfer for a passing reason: a new transfer, no officer needed
            # (after a backoff, so that an outage does not use up every retry at once).
            engine.auto_retries += 1
            engine.ready_to_pay = True
            if by_status:
                engine.retry_wait = self.policy.bank_poll_after * (2**engine.auto_retries)
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
