"""Officer actions: the URL name, its argument model, the roles allowed and the stages it acts in.

`POST /groups/{id}/actions/{action}` looks the action up here and sends the workflow update of
the same name (dashes become underscores). The workflow's validators check the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from jps.domain import models as m
from jps.domain import muster
from jps.domain.roles import Role
from jps.domain.stages import Stage


@dataclass(frozen=True)
class ActionSpec:
    name: str  # as in the URL, e.g. "approve-disbursement"
    args: type[BaseModel]
    roles: tuple[Role, ...]
    stages: tuple[Stage, ...]
    summary: str

    @property
    def update_name(self) -> str:
        return self.name.replace("-", "_")


_BEFORE_MONEY = (Stage.PROPOSAL, Stage.VERIFICATION, Stage.TRAINING, Stage.DISBURSEMENT)

ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "resubmit",
            m.ResubmitArgs,
            (Role.REGISTRAR,),
            (Stage.PROPOSAL,),
            "Resubmit a proposal sent back for revision",
        ),
        ActionSpec(
            "verify",
            m.VerifyArgs,
            (Role.VERIFIER,),
            (Stage.VERIFICATION,),
            "Verification decision: approve, reject or revise",
        ),
        ActionSpec(
            "schedule-training",
            m.ScheduleTrainingArgs,
            (Role.TRAINER,),
            (Stage.TRAINING,),
            "Schedule (or reschedule) the group's training",
        ),
        ActionSpec(
            "record-attendance",
            m.RecordAttendanceArgs,
            (Role.TRAINER,),
            (Stage.TRAINING,),
            "Record who attended the training",
        ),
        ActionSpec(
            "decide-training",
            m.DecideTrainingArgs,
            (Role.SUPERVISOR,),
            (Stage.TRAINING,),
            "After the last allowed attempt: reschedule once more, proceed, or cancel",
        ),
        ActionSpec(
            "approve-disbursement",
            m.ApproveDisbursementArgs,
            (Role.FINANCE,),
            (Stage.DISBURSEMENT,),
            "Approve the aid amount (maker)",
        ),
        ActionSpec(
            "authorize-disbursement",
            m.AuthorizeDisbursementArgs,
            (Role.SUPERVISOR,),
            (Stage.DISBURSEMENT,),
            "Authorize a payment above the threshold (checker)",
        ),
        ActionSpec(
            "update-bank-account",
            m.UpdateBankAccountArgs,
            (Role.REGISTRAR, Role.FINANCE),
            (Stage.DISBURSEMENT,),
            "Fix bank details after the bank refused a transfer",
        ),
        ActionSpec(
            "report-visit",
            m.ReportVisitArgs,
            (Role.MENTOR,),
            # Padat Karya paid by muster rolls: weekly progress reports during the work period too.
            (Stage.DISBURSEMENT, Stage.MENTORING),
            "Report a mentoring visit (pendampingan)",
        ),
        ActionSpec(
            "cancel",
            m.CancelArgs,
            (Role.SUPERVISOR,),
            _BEFORE_MONEY,
            "Cancel the group before the money moves",
        ),
        ActionSpec(
            "resolve-payment",
            m.ResolvePaymentArgs,
            (Role.FINANCE,),
            (Stage.DISBURSEMENT,),
            "Close a payment investigation once the bank's own status agrees",
        ),
        ActionSpec(
            "release-share",
            m.ReleaseShareArgs,
            (Role.SUPERVISOR,),
            (Stage.DISBURSEMENT,),
            "Give up a Padat Karya worker's unpaid share so that the group goes on",
        ),
        ActionSpec(
            "submit-lpj",
            m.SubmitLpjArgs,
            (Role.MENTOR, Role.REGISTRAR),
            (Stage.MENTORING,),
            "Submit the use-of-funds report (LPJ): spending lines with receipts",
        ),
        ActionSpec(
            "review-lpj",
            m.ReviewLpjArgs,
            (Role.VERIFIER,),
            (Stage.MENTORING,),
            "Review the LPJ: accept, send back for revision, or reject",
        ),
        ActionSpec(
            "record-repayment",
            m.RecordRepaymentArgs,
            (Role.FINANCE,),
            (Stage.MENTORING, Stage.RECOVERY),
            "Record a repayment of aid not accounted for (an instalment)",
        ),
        ActionSpec(
            "write-off-receivable",
            m.WriteOffReceivableArgs,
            (Role.SUPERVISOR,),
            (Stage.MENTORING, Stage.RECOVERY),
            "Write off what cannot be recovered, with a reason",
        ),
        ActionSpec(
            "submit-muster",
            muster.SubmitMusterArgs,
            (Role.MENTOR,),
            (Stage.DISBURSEMENT,),
            "Submit the week's muster roll (Padat Karya): who worked which day, with worksite photos",
        ),
        ActionSpec(
            "review-muster",
            muster.ReviewMusterArgs,
            (Role.SUPERVISOR,),
            (Stage.DISBURSEMENT,),
            "Accept or strike each exception of a muster roll, with a reason",
        ),
        ActionSpec(
            "approve-wages",
            muster.ApproveWagesArgs,
            (Role.FINANCE,),
            (Stage.DISBURSEMENT,),
            "Release the week's wage run the system computed (maker)",
        ),
        ActionSpec(
            "authorize-wages",
            muster.AuthorizeWagesArgs,
            (Role.SUPERVISOR,),
            (Stage.DISBURSEMENT,),
            "Authorize a weekly wage run above the threshold (checker)",
        ),
        ActionSpec(
            "claim",
            m.ClaimTaskArgs,
            tuple(r for r in Role if r not in (Role.AUDITOR, Role.ADMIN)),
            tuple(Stage),
            "Claim (or release) the open task so colleagues see who is on it",
        ),
    )
}
