"""Disbursement, the officers' side (penyaluran): finance approves the amount (maker), above the
programme's threshold a different supervisor authorizes it (checker), and refused bank details are
fixed by a registrar or finance. The paying itself is automated: `payments.py`."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jps.contracts.refusals import RefusalKind
    from jps.contracts.wages import WageRuntime
    from jps.domain.models import (
        ApproveDisbursementArgs,
        AuthorizeDisbursementArgs,
        ReleaseShareArgs,
        StepResult,
        UpdateBankAccountArgs,
    )
    from jps.domain.nik import mask_nik
    from jps.domain.programs import Program
    from jps.domain.stages import Stage, TaskKind

from workflows.group_lifecycle import patches, wage_money
from workflows.group_lifecycle.guards import refuse
from workflows.group_lifecycle.mentoring import start_mentoring
from workflows.group_lifecycle.money import failed_unresolved
from workflows.group_lifecycle.wage_release import WageRelease


class DisbursementSteps(WageRelease):
    @workflow.update
    async def approve_disbursement(self, args: ApproveDisbursementArgs) -> StepResult:
        async with self._officer_step():
            self._validate_approve_disbursement(args)
            officer = self._officer(args)
            self.state.approved_amount = args.amount
            self.state.approved_by = officer.id
            if (
                self.state.program == Program.PADAT_KARYA
                and self.policy.wages is not None
                and self.state.runtime.wages is None
                and self._since(patches.WEEKLY_WAGES)
            ):
                # Paid by the week from muster rolls (wages.py): the amount is the wage bill's ceiling.
                self.state.runtime.wages = WageRuntime()
                self.state.wages = wage_money.totals(
                    self.state.runtime.wages, self.policy.wages, args.amount, self.state.proposal
                )
            details = {"amount": args.amount, "threshold": self.policy.maker_checker_threshold}
            if args.amount > self.policy.maker_checker_threshold:
                self._open_task(TaskKind.AUTHORIZE_DISBURSEMENT, note="above the maker-checker threshold")
                await self._record(
                    "disbursement_approved",
                    officer=officer,
                    reason=args.notes,
                    details=details,
                    notify=["authorization_needed"],
                )
            else:
                self._close_task()
                self.state.runtime.payments.ready_to_pay = True
                await self._record(
                    "disbursement_approved", officer=officer, reason=args.notes, details=details
                )
            return self.state.step_result()

    @approve_disbursement.validator
    def _validate_approve_disbursement(self, args: ApproveDisbursementArgs) -> None:
        self._authorize("approve-disbursement", args.officer, TaskKind.APPROVE_DISBURSEMENT)
        if args.amount > self.state.requested_amount:
            raise refuse(
                RefusalKind.INVALID,
                f"amount: above the requested amount of Rp {self.state.requested_amount:,}",
            )
        if args.amount > self.policy.aid_ceiling:
            raise refuse(
                RefusalKind.INVALID, f"amount: above the programme ceiling of Rp {self.policy.aid_ceiling:,}"
            )
        if self.state.program == Program.PADAT_KARYA and args.amount < len(self.state.proposal.members):
            raise refuse(RefusalKind.INVALID, "amount: too small to pay every worker a whole rupiah")

    @workflow.update
    async def authorize_disbursement(self, args: AuthorizeDisbursementArgs) -> StepResult:
        async with self._officer_step():
            self._validate_authorize_disbursement(args)
            officer = self._officer(args)
            self.state.authorized_by = officer.id
            self._close_task()
            self.state.runtime.payments.ready_to_pay = True
            details = {"amount": self.state.approved_amount or 0, "approved_by": self.state.approved_by}
            await self._record("disbursement_authorized", officer=officer, reason=args.notes, details=details)
            return self.state.step_result()

    @authorize_disbursement.validator
    def _validate_authorize_disbursement(self, args: AuthorizeDisbursementArgs) -> None:
        officer = self._authorize("authorize-disbursement", args.officer, TaskKind.AUTHORIZE_DISBURSEMENT)
        if officer.id == self.state.approved_by:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who approved the amount cannot authorize it",
            )
        if officer.id in self.state.runtime.payments.account_changed_by:
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who changed the bank details cannot authorize",
            )

    @workflow.update
    async def update_bank_account(self, args: UpdateBankAccountArgs) -> StepResult:
        async with self._officer_step():
            self._validate_update_bank_account(args)
            officer = self._officer(args)
            engine = self.state.runtime.payments
            if self.state.runtime.wages is not None and args.member_nik is not None:
                return await self._wage_account_fixed(args, officer.id)
            if args.member_nik is None:
                self.state.proposal.bank_account = args.bank_account
                whose = "group"
            else:
                for member in self.state.proposal.members:
                    if member.nik == args.member_nik:
                        member.bank_account = args.bank_account
                whose = mask_nik(args.member_nik)
                _add(engine.fixed_accounts, args.member_nik)
            waiting = self._accounts_to_fix()
            _add(engine.account_changed_by, officer.id)
            if not waiting:  # every refused account is fixed
                engine.fixed_accounts.clear()
                if engine.status_path:
                    engine.auto_retries = 0  # new details, fresh automatic retries
                if (self.state.approved_amount or 0) > self.policy.maker_checker_threshold and self._since(
                    patches.REAUTHORIZE_NEW_ACCOUNT
                ):
                    # Money above the threshold never goes to new details on one officer's word: a
                    # supervisor who neither approved the amount nor changed the account authorizes again.
                    self.state.authorized_by = None
                    self._open_task(
                        TaskKind.AUTHORIZE_DISBURSEMENT, note="bank details changed: authorize again"
                    )
                else:
                    self._close_task()
                    engine.ready_to_pay = True
            details = {"account_of": whose, "bank_code": args.bank_account.bank_code, "still_to_fix": waiting}
            await self._record("bank_account_updated", officer=officer, write_members=True, details=details)
            return self.state.step_result()

    def _accounts_to_fix(self) -> list[str]:
        """Masked NIKs of the workers whose refused account is still to be fixed. On the bank-status
        path only the permanently refused ones: a passing failure is retried, not an officer's."""
        engine = self.state.runtime.payments
        return sorted(
            mask_nik(p.member_nik)
            for p in failed_unresolved(self.state.payments)
            if p.member_nik
            and p.member_nik not in engine.fixed_accounts
            and (p.permanent or not engine.status_path)
        )

    @update_bank_account.validator
    def _validate_update_bank_account(self, args: UpdateBankAccountArgs) -> None:
        officer = self._authorize(
            "update-bank-account", args.officer, (TaskKind.UPDATE_BANK_ACCOUNT, TaskKind.FIX_WAGE_ACCOUNT)
        )
        if officer.id == self.state.approved_by:
            # Separation of duties: whoever approved the amount never also says where it goes. A
            # validator's refusal writes nothing to the history, so no patch guards it.
            raise refuse(
                RefusalKind.FORBIDDEN,
                "maker-checker: the officer who approved the amount cannot change the bank details",
            )
        failed_niks = {p.member_nik for p in failed_unresolved(self.state.payments)}
        if self.state.runtime.wages is not None:  # paid by the week: the wages owed, whichever week
            failed_niks = set(wage_money.owed_niks(self.state.runtime.wages))
            if args.member_nik is not None:
                self._check_wage_account_changer(officer, args.member_nik)
        if self.state.program == Program.PADAT_KARYA:
            if args.member_nik is None:
                raise refuse(
                    RefusalKind.INVALID,
                    "member_nik: Padat Karya wages go to a worker's own account; say whose",
                )
            if args.member_nik not in failed_niks:
                raise refuse(RefusalKind.INVALID, "member_nik: no refused transfer for this worker")
        elif args.member_nik is not None:
            raise refuse(RefusalKind.INVALID, "member_nik: TKM aid is paid to the group's account")


def _add(items: list[str], item: str) -> None:
    """A set kept as a list (the state is JSON): add once."""
    if item not in items:
        items.append(item)


class ShareRelease(DisbursementSteps):
    @workflow.update
    async def release_share(self, args: ReleaseShareArgs) -> StepResult:
        """A supervisor gives up a Padat Karya worker's unpaid share (the worker left; the account can
        never be fixed). Its budget went back when the refusal settled the attempt's reservation;
        the group goes on with the others: paid in full, or waiting for the accounts still to fix."""
        async with self._officer_step():
            self._validate_release_share(args)
            officer = self._officer(args)
            if self.state.runtime.wages is not None:
                return await self._release_owed_wages(args)
            share = next(p for p in failed_unresolved(self.state.payments) if p.member_nik == args.member_nik)
            share.released_by = officer.id
            share.reason = f"released: {args.reason}"[:500]
            waiting = self._accounts_to_fix()
            details = {"member": mask_nik(args.member_nik), "amount": share.amount, "still_to_fix": waiting}
            if waiting:
                await self._record("share_released", officer=officer, reason=args.reason, details=details)
            elif failed_unresolved(self.state.payments):
                # The others' refused accounts are fixed already (or their failure was passing): pay
                # them, with fresh automatic retries, as after update-bank-account.
                engine = self.state.runtime.payments
                engine.fixed_accounts.clear()
                if engine.status_path:
                    engine.auto_retries = 0
                self._close_task()
                engine.ready_to_pay = True
                await self._record("share_released", officer=officer, reason=args.reason, details=details)
            else:
                # Nobody else is owed anything: the aid is paid, mentoring begins.
                notify = ["aid_paid", *start_mentoring(self.state, self.policy, self.tasks, lean=self.lean)]
                await self._transition(
                    Stage.MENTORING,
                    "share_released",
                    officer,
                    reason=args.reason,
                    details=details,
                    notify=notify,
                )
            return self.state.step_result()

    async def _release_owed_wages(self, args: ReleaseShareArgs) -> StepResult:
        """Paid by the week: the worker's failed wages are given up; the reservation keeps them
        until the work period ends, when what was never drawn is released."""
        wages = self.state.runtime.wages
        assert wages is not None and self.policy.wages is not None
        amount, runs = wage_money.give_up(wages, args.member_nik, args.reason)
        self._forget_new_account(args.member_nik)
        held = {a.nik for a in wages.new_accounts}  # new details entered, waiting for authorization
        still = sorted(mask_nik(n) for n in wage_money.owed_niks(wages) - held)
        if not still:
            self._close_task(TaskKind.FIX_WAGE_ACCOUNT)
            self.state.runtime.payments.ready_to_pay = True  # the main loop sees whether the work is done
        self._sync_wage_totals()
        details = {"member": mask_nik(args.member_nik), "amount": amount, "still_to_fix": still}
        await self._record(
            "share_released",
            officer=self._officer(args),
            reason=args.reason,
            details=details,
            wage_weeks=wage_money.week_records(runs),
        )
        return self.state.step_result()

    @release_share.validator
    def _validate_release_share(self, args: ReleaseShareArgs) -> None:
        if self.state.runtime.wages is not None:
            self._authorize("release-share", args.officer, TaskKind.FIX_WAGE_ACCOUNT)
            if args.member_nik not in wage_money.owed_niks(self.state.runtime.wages):
                raise refuse(RefusalKind.INVALID, "member_nik: no wage owed to this worker")
            return
        self._authorize("release-share", args.officer, TaskKind.UPDATE_BANK_ACCOUNT)
        if self.state.program != Program.PADAT_KARYA:
            raise refuse(RefusalKind.INVALID, "member_nik: only a Padat Karya worker's share can be released")
        if args.member_nik not in {p.member_nik for p in failed_unresolved(self.state.payments)}:
            raise refuse(RefusalKind.INVALID, "member_nik: no refused, unpaid share for this worker")
