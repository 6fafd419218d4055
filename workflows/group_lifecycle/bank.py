"""Talking with the bank once the transfers are recorded: only the bank's own status decides.

- `send_transfers` answers each transfer's status; an unclear answer is never acted on: the
  transfer is asked about (`transfer_statuses`, which sends a never-received one again with its
  original key) until the bank gives its final word.
- A failure heard from a callback (a signal anyone who reaches Temporal could send) is confirmed by
  the bank's status before any replacement transfer.
- Polls back off (doubling from `bank_poll_after` to `bank_poll_max`); after
  `payment_investigation_after` without the final word, finance gets an `investigate_payment` task
  (the budget stays reserved) and closes it with `resolve-payment` only when the bank agrees.
- Transfers held back by a freeze wait, visibly, as `await_unfreeze`, and go out when it is lifted.
- A long-lived group continues as new, carrying its whole state.

An activity that fails or times out is an unclear answer, never a failed group.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from jps.contracts.activities import PaymentBatch, StatusRequest, TransferStatus
    from jps.contracts.refusals import RefusalKind
    from jps.contracts.workflow import GroupInput
    from jps.domain.models import ResolvePaymentArgs, StepResult
    from jps.domain.stages import TaskKind

from workflows.group_lifecycle import patches
from workflows.group_lifecycle.base import LifecycleBase
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.local import local_first
from workflows.group_lifecycle.options import (
    BANK_ASK_WITHIN,
    BANK_BATCH_TIMEOUT,
    BANK_HEARTBEAT_TIMEOUT,
    BANK_RETRY,
    LOCAL_RECORD_WITHIN,
    RESOLVE_ASK_WITHIN,
)


class BankSteps(LifecycleBase):
    # ---- the conversation

    async def _pay_until_final(self, batch: PaymentBatch | None, ids: list[str]) -> None:
        """Send the batch (unless it was sent before a continue-as-new), then ask until the bank has
        given its final word on every transfer of the attempt."""
        engine = self.state.runtime.payments
        if batch is not None and not engine.sent:
            engine.sent = True
            engine.instructed_at = workflow.now()
            engine.polls = 0
            self._take(await self._send_transfers(batch))
        while True:
            await self._confirm_results(ids)
            if self._all_final(ids):
                return
            if engine.held:
                await self._wait_unfrozen()
                continue
            await self._open_investigation_when_due(ids)
            await self._continue_if_long()
            if not await self._await_task(
                lambda: self._all_final(ids), poll=self._next_poll(), stop=lambda: bool(engine.held)
            ):
                engine.polls += 1
                self._take(await self._ask([i for i in ids if i not in engine.bank_results]))

    def _all_final(self, ids: list[str]) -> bool:
        return all(i in self.state.runtime.payments.bank_results for i in ids)

    def _take(self, statuses: list[TransferStatus]) -> None:
        """What asking the bank told us: its final word replaces whatever a callback claimed."""
        engine = self.state.runtime.payments
        for s in statuses:
            tid = s.transfer_id
            if tid in engine.held and s.status != "held":
                engine.held.remove(tid)
            if s.final:
                engine.bank_results[tid] = s.as_result()
                if tid not in engine.confirmed:
                    engine.confirmed.append(tid)
            elif s.status == "held" and tid not in engine.held:
                engine.held.append(tid)
        # A callback's word is never dropped here: an answer of `pending` may be older than the
        # callback that followed it. A callback's word waits for confirmation (_confirm_results).

    async def _confirm_results(self, ids: list[str]) -> None:
        """A result nobody asked the bank about (a callback: a signal anyone who reaches Temporal could
        send) is asked about before it counts, paid or failed; the callback only makes us ask now."""
        engine = self.state.runtime.payments
        unconfirmed = [i for i in ids if i in engine.bank_results and i not in engine.confirmed]
        if unconfirmed:
            self._take(await self._ask(unconfirmed))
            for i in unconfirmed:  # still unclear: wait for the bank's own word
                if i not in engine.confirmed:
                    engine.bank_results.pop(i, None)

    def _poll_interval(self, n: int) -> timedelta:
        """The wait before the n-th status poll (0-based): doubling from bank_poll_after, capped."""
        return min(self.policy.bank_poll_after * (2 ** min(n, 20)), self.policy.bank_poll_max)

    def _next_poll(self) -> timedelta:
        engine = self.state.runtime.payments
        interval = self._poll_interval(engine.polls)
        if self._since(patches.INVESTIGATION_BY_POLLS):
            return interval
        # Before the patch: the wait was cut short to wake at the investigation's due time.
        if engine.instructed_at is not None and self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is None:
            until_due = engine.instructed_at + self.policy.payment_investigation_after - workflow.now()
            if until_due > timedelta(0):
                interval = min(interval, until_due)
        return interval

    def _waited(self) -> timedelta:
        """How long the attempt has waited for the bank, counted in the polls' own intervals (each
        poll follows its wait's deadline): no reading of the clock (see tasks.py)."""
        polls = self.state.runtime.payments.polls
        return sum((self._poll_interval(i) for i in range(polls)), timedelta(0))

    async def _open_investigation_when_due(self, ids: list[str], note: str = "") -> None:
        engine = self.state.runtime.payments
        if self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is not None:
            return
        if self._since(patches.INVESTIGATION_BY_POLLS):
            due = engine.sent and self._waited() >= self.policy.payment_investigation_after
        else:  # compared with the clock: histories recorded before the patch replay it
            due = engine.instructed_at is not None and (
                workflow.now() >= engine.instructed_at + self.policy.payment_investigation_after
            )
        if self.state.task_of(TaskKind.INVESTIGATE_PAYMENT) is not None or not (due or note):
            return
        waiting = [i for i in ids if i not in engine.bank_results]
        note = note or f"no final word from the bank on {len(waiting)} transfer(s)"
        async with self.lock:
            self._open_task(TaskKind.INVESTIGATE_PAYMENT, note=note)
            await self._record(
                "payment_investigation_opened",
                reason=note,
                details={"transfers": waiting, "attempt": engine.attempt},
                notify=["payment_investigation"],
            )

    async def _wait_unfrozen(self) -> None:
        """Held transfers: shown as `await_unfreeze` until the freeze is lifted, then sent."""
        engine = self.state.runtime.payments
        if self.state.task_of(TaskKind.AWAIT_UNFREEZE) is None:
            async with self.lock:
                reason = "disbursement frozen before the bank received the transfers"
                self._open_task(TaskKind.AWAIT_UNFREEZE, note=reason)
                await self._record("disbursement_frozen", reason=reason, details={"held": list(engine.held)})
        engine.budget_recheck = False
        await self._await_task(
            lambda: False, poll=self.policy.budget_retry_every, stop=lambda: engine.budget_recheck
        )
        self._take(await self._ask(list(engine.held)))
        if not engine.held:
            async with self.lock:
                self._open_task(TaskKind.AWAIT_BANK)
                await self._record("held_transfers_sent", details={"attempt": engine.attempt})

    async def _continue_if_long(self) -> None:
        """Past the policy's history length, hand the whole state to a new run."""
        if workflow.info().get_current_history_length() < self.policy.history_events_before_continue:
            return
        if not self._since(patches.CONTINUE_AS_NEW):
            return  # a history that grew long before the patch: it replays as it ran
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            GroupInput(
                group_id=self.state.group_id,
                proposal=self.state.proposal,
                policy=self.policy,
                submitted_by=self.state.submitted_by,
                request_hash=self.state.request_hash,
                carried=self.state,
            )
        )

    # ---- the activities, whose failure is an unclear answer

    async def _send_transfers(self, batch: PaymentBatch) -> list[TransferStatus]:
        try:
            result = await workflow.execute_activity_method(
                PaymentActivities.send_transfers,
                batch,
                start_to_close_timeout=BANK_BATCH_TIMEOUT,
                schedule_to_close_timeout=BANK_ASK_WITHIN,
                heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT,
                retry_policy=BANK_RETRY,
            )
        except ActivityError as err:
            await self._unclear([t.transfer_id for t in batch.transfers], err)
            return []
        return result.statuses

    async def _ask(
        self, ids: list[str], *, investigate: bool = True, within: timedelta = BANK_ASK_WITHIN
    ) -> list[TransferStatus]:
        """The bank's status of each transfer (a never-received one is sent again, same key). With
        `investigate`, a final failure of the activity opens an investigation (needs the lock free)."""
        if not ids:
            return []
        request = StatusRequest(
            group_id=self.state.group_id,
            program=self.state.program.value,
            region_code=self.state.region_code,
            transfer_ids=ids,
        )
        if self.local_asks:  # inside this workflow task first (patches.LOCAL_ASKS)
            local_within = min(within, LOCAL_RECORD_WITHIN)
            statuses = await local_first(
                PaymentActivities.transfer_statuses,
                request,
                start_to_close=local_within,
                within=local_within,
                retry_policy=BANK_RETRY,
            )
            if statuses is not None:
                return statuses
        try:
            return await workflow.execute_activity_method(
                PaymentActivities.transfer_statuses,
                request,
                start_to_close_timeout=min(BANK_BATCH_TIMEOUT, within),
                schedule_to_close_timeout=within,
                heartbeat_timeout=BANK_HEARTBEAT_TIMEOUT,
                retry_policy=BANK_RETRY,
            )
        except ActivityError as err:
            if investigate:
                await self._unclear(ids, err)
            return []

    async def _unclear(self, ids: list[str], err: ActivityError) -> None:
        """The bank activity gave no answer in time, or failed for good: nothing is decided; a
        final error is a finance officer's to investigate at once."""
        cause = err.cause
        final = getattr(cause, "non_retryable", False)
        workflow.logger.warning("bank_unclear", extra={"group_id": self.state.group_id, "error": str(cause)})
        if final:
            await self._open_investigation_when_due(ids, note=f"the bank activity failed: {cause}"[:500])

    # ---- finance closes an investigation

    @workflow.update
    async def resolve_payment(self, args: ResolvePaymentArgs) -> StepResult:
        async with self._officer_step():
            self._validate_resolve_payment(args)
            officer = self._officer(args)
            # The lock is held: a short question, and no investigation of its own.
            statuses = await self._ask([args.transfer_id], investigate=False, within=RESOLVE_ASK_WITHIN)
            bank = statuses[0].status if statuses else "unknown"
            if bank != args.outcome:
                # A held transfer is waiting for the freeze to lift, not failed: resolving it failed
                # could let the loop send it while a replacement goes out too.
                raise refuse(
                    RefusalKind.WRONG_STAGE,
                    f"outcome: the bank reports {bank} for {args.transfer_id}, not {args.outcome}",
                )
            self._take(statuses)  # the bank's own word, with its permanence
            details = {"transfer_id": args.transfer_id, "outcome": args.outcome, "bank_status": bank}
            await self._record("payment_resolved", officer=officer, reason=args.reason, details=details)
            return self.state.step_result()

    @resolve_payment.validator
    def _validate_resolve_payment(self, args: ResolvePaymentArgs) -> None:
        self._authorize("resolve-payment", args.officer, TaskKind.INVESTIGATE_PAYMENT)
        engine = self.state.runtime.payments
        in_flight = {p.transfer_id for p in self.state.payments if p.attempt == engine.attempt}
        if args.transfer_id not in in_flight or not engine.in_flight:
            raise refuse(RefusalKind.INVALID, "transfer_id: not a transfer of the payment being investigated")
        if args.transfer_id in engine.confirmed:
            raise refuse(RefusalKind.WRONG_STAGE, "transfer_id: the bank has already given its final word")
