"""The weekly wage run of a Padat Karya group paid by muster rolls (upah mingguan).

After training, finance approves the wage bill once (`approve-disbursement`, maker-checker as for
any aid): it is the ceiling, reserved once (here, in the main loop). Each accepted roll becomes a
week's wage run (`muster.py`); finance releases it (`approve-wages`) and above the policy's weekly
threshold a supervisor who did not release it authorizes it (`authorize-wages`). Then one transfer
per worker, through the same exactly-once machinery as every payment (`bank.py`: the transfers are
recorded before the bank hears of them, keyed per worker per week; only the bank's status decides;
its answers for a batch come back as one activity result). What the bank paid is drawn from the
reservation in the step that records it. A worker whose transfer failed is owed the wage until the
account is fixed (`update-bank-account`), without holding back the others. When the planned
workdays are worked and nothing is owed or in flight, the rest of the reservation is released and
the group moves to mentoring, where the handover report completes it. A batch's settlement and the
work period's end count only once their record is written, as the lump sum's (`payments.py`,
`_settle_recorded_first`): a record refused for good leaves the batch in flight (or the reservation
held), opens finance's `investigate_payment` and is tried again, backing off.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.activities import BudgetRequest, BudgetSettlement
    from jps.contracts.wages import BudgetDraw, WageLine, WeekRun
    from jps.domain.models import Payment, Visit
    from jps.domain.nik import mask_nik
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle import wage_money
from workflows.group_lifecycle.budget import reserve
from workflows.group_lifecycle.mentoring import open_progress_visit, open_visit_task
from workflows.group_lifecycle.payments import PaymentEngine
from workflows.group_lifecycle.wage_release import WageRelease

WEEK = timedelta(days=7)


class WageSteps(WageRelease, PaymentEngine):
    # ---- which rule

    def _paying(self) -> bool:
        wages = self.state.runtime.wages
        if wages is None:
            return super()._paying()
        return self.state.stage == Stage.DISBURSEMENT and (
            self.state.runtime.payments.ready_to_pay or (self._work_done() and not wages.finished)
        )

    async def _disburse(self) -> None:
        if self.state.runtime.wages is None:
            await super()._disburse()
            return
        await self._wage_turn()

    async def _resume_payment(self) -> None:
        wages = self.state.runtime.wages
        if wages is None:
            await super()._resume_payment()
            return
        # A batch in flight after a continue-as-new or an activity error: the same transfers and keys.
        batch = None
        if not self.state.runtime.payments.sent:
            transfers = [p for p in self.state.payments if p.transfer_id in wages.batch]
            batch = wage_money.wage_batch(
                self.state.group_id,
                self.state.program.value,
                self.state.region_code,
                wages.batch_id or "",
                self.state.runtime.payments.attempt,
                transfers,
            )
        await self._pay_until_final(batch, list(wages.batch))
        await self._settle_wage_batch()

    # ---- the main loop's turn

    def _work_done(self) -> bool:
        wages = self.state.runtime.wages
        if wages is None or wages.reservation_id is None:
            return False
        policy = self._wage_policy()
        return (
            wage_money.workdays_worked(wages) >= policy.planned_workdays
            and all(r.status == "settled" for r in wages.weeks)
            and not any(ln.status in ("due", "pending", "failed") for r in wages.weeks for ln in r.lines)
        )

    def _next_batch(self) -> list[tuple[WeekRun, WageLine]]:
        """The first approved week's lines; else the lines due again after a fixed account."""
        wages = self._wages()
        approved = next((r for r in wages.weeks if r.status == "approved"), None)
        if approved is not None:
            return [(approved, ln) for ln in approved.lines if ln.status == "due"]
        return [(r, ln) for r, ln in wage_money.due_lines(wages) if r.status == "settled"]

    async def _wage_turn(self) -> None:
        wages = self._wages()
        engine = self.state.runtime.payments
        if wages.reservation_id is None:
            await self._reserve_wage_bill()
            return
        refused: str | None = None
        transfers: list[Payment] = []
        async with self.lock:
            if self._work_done() and not wages.finished:
                refused = await self._settle_recorded_first(self._finish_work_period)
            else:
                transfers = await self._instruct_wage_batch()
        if refused is not None:
            await self._settlement_refused([], refused)
        if not transfers:
            return
        batch = wage_money.wage_batch(
            self.state.group_id,
            self.state.program.value,
            self.state.region_code,
            wages.batch_id or "",
            engine.attempt,
            transfers,
        )
        await self._pay_until_final(batch, list(wages.batch))
        await self._settle_wage_batch()

    async def _instruct_wage_batch(self) -> list[Payment]:
        """Under the lock: the next batch's transfers, recorded before the bank hears of them (none
        when nothing is due)."""
        wages = self._wages()
        engine = self.state.runtime.payments
        lines = self._next_batch()
        if not lines:
            engine.ready_to_pay = False
            return []
        engine.attempt += 1
        first = lines[0][0]
        repay = first.status == "settled"
        wages.batch_id = f"{self.state.group_id}-{wage_money.week_key(first.week_starts_on)}" + (
            f"-R{engine.attempt}" if repay else ""
        )
        for _, line in lines:  # a line sent before (and failed) gets a new transfer, a new key
            line.tries += 1 if line.transfer_id is not None else 0
        transfers = wage_money.batch_transfers(
            self.state.group_id, self.state.proposal, lines, engine.attempt
        )
        for (run, line), t in zip(lines, transfers, strict=True):
            line.status, line.transfer_id = "pending", t.transfer_id
            if run.status == "approved":
                run.status = "paying"
        wages.batch = [t.transfer_id for t in transfers]
        self.state.payments.extend(transfers)
        engine.in_flight, engine.status_path = True, True
        self._open_task(TaskKind.AWAIT_BANK)
        self._sync_wage_totals()
        runs = list({id(r): r for r, _ in lines}.values())
        details = {
            "batch": wages.batch_id,
            "transfers": len(transfers),
            "amount": sum(t.amount for t in transfers),
            "repay": repay,
        }
        await self._record("wages_instructed", details=details, wage_weeks=self._week_record(*runs))
        return transfers

    async def _reserve_wage_bill(self) -> None:
        """The approved wage bill reserved once (reservation `{group}:0`); or a visible wait."""
        engine = self.state.runtime.payments
        wages = self._wages()
        waiting = False
        async with self.lock:
            if not self._paying():
                return
            engine.budget_recheck = False
            amount = self.state.approved_amount or 0
            request = BudgetRequest(
                group_id=self.state.group_id,
                program=self.state.program.value,
                region_code=self.state.region_code,
                amount=amount,
                attempt=0,
            )
            budget = await reserve(request, local=self.lean)
            if not budget.reserved:
                waiting = True
                kind = TaskKind.AWAIT_UNFREEZE if budget.frozen else TaskKind.AWAIT_BUDGET
                event = "disbursement_frozen" if budget.frozen else "budget_unavailable"
                if self.state.task_of(kind) is None:
                    self._open_task(kind, note=budget.reason)
                    await self._record(event, reason=budget.reason, notify=[event])
            else:
                wages.reservation_id = engine.reservation_id = budget.reservation_id
                engine.ready_to_pay = False
                self._close_task()  # the stage's waits (budget, freeze)
                self._open_muster_task()
                open_progress_visit(self.state, self.policy, self.tasks, self._today())
                self._sync_wage_totals()
                await self._record(
                    "wage_bill_reserved",
                    details={"amount": amount, "planned_workdays": self._wage_policy().planned_workdays},
                    notify=["visit_due"],
                )
        if waiting:
            await self._await_task(
                lambda: False,
                poll=self.policy.budget_retry_every,
                stop=lambda: not self._paying() or engine.budget_recheck,
            )

    async def _settle_wage_batch(self) -> None:
        """The bank's final word on every transfer of the batch: settle it, once its record is
        written (`_settle_recorded_first`, as the lump sum's attempt)."""
        await self._settle_in_flight(list(self._wages().batch), self._settle_batch)

    async def _settle_batch(self) -> None:
        """Under the lock, the batch in flight: paid is drawn from the reservation, failed is owed
        until the worker's account is fixed; recorded."""
        wages = self._wages()
        engine = self.state.runtime.payments
        ids = set(wages.batch)
        paid_now, failed = 0, []
        for p in self.state.payments:
            if p.transfer_id in ids:
                result = engine.bank_results[p.transfer_id]
                p.status, p.reason = result.status, result.reason
                p.permanent = result.status == "failed" and result.permanent
        runs: list[WeekRun] = []
        for run in wages.weeks:
            touched = False
            for line in run.lines:
                if line.transfer_id in ids and line.status == "pending":
                    result = engine.bank_results[line.transfer_id]
                    line.status, line.reason = result.status, result.reason
                    touched = True
                    if result.status == "paid":
                        paid_now += line.amount
                    else:
                        failed.append(line)
            if touched:
                runs.append(run)
                if run.status == "paying":
                    run.status = "settled"
        draw = BudgetDraw(
            reservation_id=wages.reservation_id or "", draw_id=wages.batch_id or "", amount=paid_now
        )
        engine.in_flight, engine.sent, engine.polls, engine.instructed_at, engine.held = (
            False,
            False,
            0,
            None,
            [],
        )
        wages.batch, wages.batch_id = [], None
        for kind in (TaskKind.INVESTIGATE_PAYMENT, TaskKind.AWAIT_BANK):
            if self.state.task_of(kind) is not None:
                self._close_task(kind)
        if failed:
            owed = sorted({mask_nik(ln.nik) for r in wages.weeks for ln in r.lines if ln.status == "failed"})
            self._open_task(TaskKind.FIX_WAGE_ACCOUNT, note="wages owed to " + ", ".join(owed))
        engine.ready_to_pay = bool(self._next_batch())
        self._sync_wage_totals()
        reason = "; ".join(sorted({ln.reason or "refused" for ln in failed}))
        details = {"paid_amount": paid_now, "failed": len(failed), "attempt": engine.attempt}
        await self._record(
            "wages_paid" if not failed else "wages_partly_paid",
            reason=reason,
            details=details,
            notify=["bank_account_rejected"] if failed else [],
            wage_weeks=self._week_record(*runs),
            draw=draw,
        )

    async def _finish_work_period(self) -> None:
        """Planned days worked, everything paid: release the rest, then mentoring (the handover).
        Under the lock, through `_settle_recorded_first`: a refused record releases nothing."""
        wages = self._wages()
        engine = self.state.runtime.payments
        paid = wage_money.drawn(wages)
        settle = BudgetSettlement(reservation_id=wages.reservation_id or "", paid_amount=0)
        wages.released = (self.state.approved_amount or 0) - paid
        wages.reservation_id = engine.reservation_id = None
        wages.finished = True
        engine.ready_to_pay = False
        for kind in (
            TaskKind.SUBMIT_MUSTER,
            TaskKind.REPORT_PROGRESS,
            TaskKind.FIX_WAGE_ACCOUNT,
            TaskKind.INVESTIGATE_PAYMENT,  # opened if this record was refused before
        ):
            if self.state.task_of(kind) is not None:
                self._close_task(kind)
        self.state.paid_at = workflow.now()
        self.state.visits = [v for v in self.state.visits if v.reported_on is not None]
        handover = Visit(visit_no=len(self.state.visits) + 1, due_on=self._today() + WEEK, handover=True)
        self.state.visits.append(handover)
        open_visit_task(self.tasks, self.policy, handover)
        self._sync_wage_totals()
        details = {
            "paid_amount": paid,
            "released": wages.released,
            "workdays": wage_money.workdays_worked(wages),
        }
        await self._transition(
            Stage.MENTORING,
            "work_period_completed",
            None,
            details=details,
            notify=["aid_paid", "visit_due"],
            settle=settle,
        )
