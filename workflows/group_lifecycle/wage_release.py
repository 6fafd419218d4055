"""Letting a week's wages go out, the officers' side (upah mingguan): finance releases the wage run the
system computed (`approve-wages`, maker); above the policy's weekly threshold a supervisor who did not
release it authorizes it (`authorize-wages`, checker).

The same rule for new bank details: a worker's owed wages re-sent after `update-bank-account`
{member_nik, bank_account} go out at once only when neither what the worker is owed nor the total of
a week being re-sent is above the weekly threshold. Above it, the wages stay owed until a supervisor
who neither entered the details, approved the wage bill nor released one of those weeks authorizes
them (`authorize-wages` {member_nik}), as the lump sum's new details are authorized again
(`disbursement.py`, patch reauthorize-new-account-v1). The paying itself is `wages.py`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.contracts.wages import NewAccountToAuthorize, WeekRun
    from jps.domain.models import Officer, StepResult, UpdateBankAccountArgs
    from jps.domain.muster import ApproveWagesArgs, AuthorizeWagesArgs
    from jps.domain.nik import mask_nik
    from jps.domain.stages import TaskKind
    from jps.domain.wages import WorkRole

from workflows.group_lifecycle import patches, wage_money
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.muster import MusterSteps


class WageRelease(MusterSteps):
    # ---- approve-wages (maker), authorize-wages (checker)

    def _run_of(self, week: object, status: str, what: str) -> WeekRun:
        run = self._week(week)
        if run is None or run.status != status:
            now = f"it is {run.status}" if run is not None else "there is no roll of that week"
            raise refuse(
                RefusalKind.INVALID, f"week_starts_on: no wage run of that week waits for {what} ({now})"
            )
        return run

    @workflow.update
    async def approve_wages(self, args: ApproveWagesArgs) -> StepResult:
        async with self._officer_step():
            self._validate_approve_wages(args)
            officer = self._officer(args)
            run = self._run_of(args.week_starts_on, "accepted", "approval")
            run.approved_by = officer.id
            above = run.total > self._wage_policy().authorize_weekly_above
            if above:
                run.status = "to_authorize"
                self._open_task(
                    TaskKind.AUTHORIZE_WAGES, note=f"week of {run.week_starts_on}: Rp {run.total:,}"
                )
            else:
                run.status = "approved"
                self.state.runtime.payments.ready_to_pay = True
            if not any(r.status == "accepted" for r in self._wages().weeks):
                self._close_task(TaskKind.APPROVE_WAGES)
            await self._wage_step("wages_approved", officer, args.notes, run, authorize=above)
            return self.state.step_result()

    @approve_wages.validator
    def _validate_approve_wages(self, args: ApproveWagesArgs) -> None:
        self._authorize("approve-wages", args.officer, TaskKind.APPROVE_WAGES)
        run = self._run_of(args.week_starts_on, "accepted", "approval")
        rates = self._wage_policy().rates_for(self.state.region_code)
        for role, rate in (args.rates or {}).items():
            name, policy_rate = WorkRole(role).value, rates[WorkRole(role)]
            if rate != policy_rate:
                raise refuse(
                    RefusalKind.INVALID,
                    f"rates.{name}: Rp {rate:,} is not the policy's rate (Rp {policy_rate:,})",
                )
        left = (self.state.approved_amount or 0) - wage_money.committed(self._wages()) + run.total
        if run.total > left:
            raise refuse(RefusalKind.INVALID, f"week_starts_on: Rp {run.total:,} exceeds the wage bill left")

    @workflow.update
    async def authorize_wages(self, args: AuthorizeWagesArgs) -> StepResult:
        async with self._officer_step():
            self._validate_authorize_wages(args)
            officer = self._officer(args)
            if args.member_nik is not None:
                return await self._new_account_authorized(args.member_nik, officer, args.notes)
            run = self._run_of(args.week_starts_on, "to_authorize", "authorization")
            run.authorized_by = officer.id
            run.status = "approved"
            self.state.runtime.payments.ready_to_pay = True
            self._close_authorize_wages_when_done()
            await self._wage_step("wages_authorized", officer, args.notes, run)
            return self.state.step_result()

    @authorize_wages.validator
    def _validate_authorize_wages(self, args: AuthorizeWagesArgs) -> None:
        officer = self._authorize("authorize-wages", args.officer, TaskKind.AUTHORIZE_WAGES)
        if args.member_nik is not None:
            self._check_new_account_checker(officer, args.member_nik)
            return
        run = self._run_of(args.week_starts_on, "to_authorize", "authorization")
        if officer.id == run.approved_by:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who released the wage run cannot authorize it",
            )

    def _close_authorize_wages_when_done(self) -> None:
        wages = self._wages()
        if not any(r.status == "to_authorize" for r in wages.weeks) and not wages.new_accounts:
            self._close_task(TaskKind.AUTHORIZE_WAGES)

    async def _wage_step(
        self, event: str, officer: Officer, notes: str, run: WeekRun, *, authorize: bool = False
    ) -> None:
        self._sync_wage_totals()
        details = {
            "week_starts_on": run.week_starts_on.isoformat(),
            "total": run.total,
            "workers": len(run.lines),
            "threshold": self._wage_policy().authorize_weekly_above,
        }
        await self._record(
            event,
            officer=officer,
            reason=notes,
            details=details,
            notify=["authorization_needed"] if authorize else [],
            wage_weeks=self._week_record(run),
        )

    # ---- a worker's new bank details (update-bank-account {member_nik}), and their authorization

    def _owed_to(self, nik: str) -> list[tuple[WeekRun, int]]:
        """The weeks whose wage the worker is owed (its transfer failed), with the wage."""
        return [
            (run, ln.amount)
            for run in self._wages().weeks
            for ln in run.lines
            if ln.nik == nik and ln.status == "failed"
        ]

    def _check_wage_account_changer(self, officer: Officer, nik: str) -> None:
        """update-bank-account's validator, for a worker paid by the week: the officer who released a
        week the worker is owed does not also say where its money goes (the lump sum's rule for the
        officer who approved the amount)."""
        if officer.id in {run.approved_by for run, _ in self._owed_to(nik)}:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who released the wage run cannot change the bank details",
            )

    def _check_new_account_checker(self, officer: Officer, nik: str) -> None:
        waiting = next((a for a in self._wages().new_accounts if a.nik == nik), None)
        if waiting is None:
            raise refuse(
                RefusalKind.INVALID, "member_nik: no new bank details of this worker wait for authorization"
            )
        if officer.id in waiting.changed_by:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who changed the bank details cannot authorize them",
            )
        if officer.id == self.state.approved_by:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who approved the wage bill cannot authorize new bank details",
            )
        if officer.id in {run.approved_by for run, _ in self._owed_to(nik)}:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who released the wage run cannot authorize new bank details",
            )

    async def _wage_account_fixed(self, args: UpdateBankAccountArgs, officer_id: str) -> StepResult:
        """A worker paid by muster rolls has a new account: the owed wages go out again (wages.py), at
        once or, above the weekly threshold, once a supervisor authorizes the new details; the others
        were never held back."""
        wages, engine = self._wages(), self.state.runtime.payments
        assert args.member_nik is not None
        nik = args.member_nik
        for member in self.state.proposal.members:
            if member.nik == nik:
                member.bank_account = args.bank_account
        owed = self._owed_to(nik)
        amount = sum(wage for _, wage in owed)
        threshold = self._wage_policy().authorize_weekly_above
        above = amount > threshold or any(run.total > threshold for run, _ in owed)
        if above and self._since(patches.REAUTHORIZE_NEW_WAGE_ACCOUNT):
            # Money above the threshold never goes to new details on one officer's word: it stays
            # owed (failed) until a supervisor authorizes the details.
            waiting = next((a for a in wages.new_accounts if a.nik == nik), None)
            if waiting is None:
                waiting = NewAccountToAuthorize(nik=nik, amount=amount)
                wages.new_accounts.append(waiting)
            waiting.amount = amount
            if officer_id not in waiting.changed_by:
                waiting.changed_by.append(officer_id)
            self._open_task(
                TaskKind.AUTHORIZE_WAGES, note=f"new bank details of {mask_nik(nik)}: Rp {amount:,} owed"
            )
            runs: list[WeekRun] = []
        else:
            above = False
            runs = wage_money.owed_again(wages, nik)
            engine.ready_to_pay = True
        if officer_id not in engine.account_changed_by:
            engine.account_changed_by.append(officer_id)
        held = {a.nik for a in wages.new_accounts}
        still = sorted(mask_nik(n) for n in wage_money.owed_niks(wages) - held)
        if not still:
            self._close_task(TaskKind.FIX_WAGE_ACCOUNT)
        self._sync_wage_totals()
        details: dict[str, object] = {
            "account_of": mask_nik(nik),
            "bank_code": args.bank_account.bank_code,
            "still_to_fix": still,
        }
        if above:
            details |= {"to_authorize": amount, "threshold": threshold}
        await self._record(
            "bank_account_updated",
            officer=self._officer(args),
            write_members=True,
            details=details,
            notify=["authorization_needed"] if above else [],
            wage_weeks=wage_money.week_records(runs),
        )
        return self.state.step_result()

    async def _new_account_authorized(self, nik: str, officer: Officer, notes: str) -> StepResult:
        """The supervisor's word on the new details: the worker's owed wages are due again (a new
        transfer, a new key), paid by the main loop's next batch."""
        wages = self._wages()
        waiting = next(a for a in wages.new_accounts if a.nik == nik)
        wages.new_accounts.remove(waiting)
        runs = wage_money.owed_again(wages, nik)
        self.state.runtime.payments.ready_to_pay = True
        self._close_authorize_wages_when_done()
        self._sync_wage_totals()
        details = {
            "account_of": mask_nik(nik),
            "amount": waiting.amount,
            "changed_by": waiting.changed_by,
            "threshold": self._wage_policy().authorize_weekly_above,
        }
        await self._record(
            "wage_account_authorized",
            officer=officer,
            reason=notes,
            details=details,
            wage_weeks=wage_money.week_records(runs),
        )
        return self.state.step_result()

    def _forget_new_account(self, nik: str) -> None:
        """The worker's owed wages were given up (release-share): nothing left to authorize."""
        wages = self._wages()
        wages.new_accounts[:] = [a for a in wages.new_accounts if a.nik != nik]
        self._close_authorize_wages_when_done()
