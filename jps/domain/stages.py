"""Lifecycle stages (tahapan) and the kinds of human task (tugas) that wait in them."""

from __future__ import annotations

from enum import StrEnum

from jps.domain.roles import Role


class Stage(StrEnum):
    PROPOSAL = "proposal"  # sent back by a verifier for revision (proposal direvisi)
    VERIFICATION = "verification"  # verifikasi dokumen dan lapangan
    TRAINING = "training"  # pembekalan / pelatihan
    DISBURSEMENT = "disbursement"  # penyaluran bantuan
    MENTORING = "mentoring"  # pendampingan (TKM: and the LPJ, the use-of-funds report)
    RECOVERY = "recovery"  # tuntutan ganti rugi: aid not accounted for is being recovered
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


TERMINAL_STAGES: frozenset[Stage] = frozenset({Stage.COMPLETED, Stage.REJECTED, Stage.CANCELLED})
# Stages in which a group holds its members' NIKs (a NIK may be in one active group only). A group
# under recovery still runs (its receivable is chased) but no longer holds its members.
ACTIVE_STAGES: frozenset[Stage] = frozenset(s for s in Stage if s not in TERMINAL_STAGES | {Stage.RECOVERY})
STAGE_ORDER: tuple[Stage, ...] = (
    Stage.PROPOSAL,
    Stage.VERIFICATION,
    Stage.TRAINING,
    Stage.DISBURSEMENT,
    Stage.MENTORING,
    Stage.RECOVERY,
    Stage.COMPLETED,
    Stage.REJECTED,
    Stage.CANCELLED,
)


class TaskKind(StrEnum):
    """A step that waits for a person (or for an outside party) and carries a due date."""

    RESUBMIT_PROPOSAL = "resubmit_proposal"
    VERIFY = "verify"
    SCHEDULE_TRAINING = "schedule_training"
    RECORD_ATTENDANCE = "record_attendance"
    DECIDE_TRAINING = "decide_training"
    APPROVE_DISBURSEMENT = "approve_disbursement"
    AUTHORIZE_DISBURSEMENT = "authorize_disbursement"
    AWAIT_BUDGET = "await_budget"
    AWAIT_UNFREEZE = "await_unfreeze"
    AWAIT_BANK = "await_bank"
    UPDATE_BANK_ACCOUNT = "update_bank_account"
    INVESTIGATE_PAYMENT = "investigate_payment"  # the bank's final word is overdue, or its answer unclear
    REPORT_VISIT = "report_visit"
    SUBMIT_LPJ = "submit_lpj"  # the group accounts for the aid (mentor, or a registrar for the leader)
    REVIEW_LPJ = "review_lpj"
    RECOVER_RECEIVABLE = "recover_receivable"  # repayments recorded by finance, or a write-off
    # Padat Karya paid by muster rolls (issue 13): every one runs beside the others in the work period.
    SUBMIT_MUSTER = "submit_muster"  # the week's muster roll (daftar hadir), by the mentor
    REVIEW_MUSTER = "review_muster"  # a roll with exceptions, for a supervisor
    APPROVE_WAGES = "approve_wages"  # the week's wage run, released by finance
    AUTHORIZE_WAGES = "authorize_wages"  # above the weekly threshold, a second supervisor
    FIX_WAGE_ACCOUNT = "fix_wage_account"  # a worker's wage transfer failed: owed until fixed
    REPORT_PROGRESS = "report_progress"  # the weekly progress report during the work period


# Who may act on each task. Automated waits (bank, budget, freeze) are watched by these roles.
TASK_ROLES: dict[TaskKind, tuple[Role, ...]] = {
    TaskKind.RESUBMIT_PROPOSAL: (Role.REGISTRAR,),
    TaskKind.VERIFY: (Role.VERIFIER,),
    TaskKind.SCHEDULE_TRAINING: (Role.TRAINER,),
    TaskKind.RECORD_ATTENDANCE: (Role.TRAINER,),
    TaskKind.DECIDE_TRAINING: (Role.SUPERVISOR,),
    TaskKind.APPROVE_DISBURSEMENT: (Role.FINANCE,),
    TaskKind.AUTHORIZE_DISBURSEMENT: (Role.SUPERVISOR,),
    TaskKind.AWAIT_BUDGET: (Role.FINANCE, Role.SUPERVISOR),
    TaskKind.AWAIT_UNFREEZE: (Role.FINANCE, Role.SUPERVISOR),
    TaskKind.AWAIT_BANK: (Role.FINANCE,),
    TaskKind.UPDATE_BANK_ACCOUNT: (Role.REGISTRAR, Role.FINANCE),
    TaskKind.INVESTIGATE_PAYMENT: (Role.FINANCE,),
    TaskKind.REPORT_VISIT: (Role.MENTOR,),
    TaskKind.SUBMIT_LPJ: (Role.MENTOR, Role.REGISTRAR),
    TaskKind.REVIEW_LPJ: (Role.VERIFIER,),
    TaskKind.RECOVER_RECEIVABLE: (Role.FINANCE, Role.SUPERVISOR),
    TaskKind.SUBMIT_MUSTER: (Role.MENTOR,),
    TaskKind.REVIEW_MUSTER: (Role.SUPERVISOR,),
    TaskKind.APPROVE_WAGES: (Role.FINANCE,),
    TaskKind.AUTHORIZE_WAGES: (Role.SUPERVISOR,),
    TaskKind.FIX_WAGE_ACCOUNT: (Role.REGISTRAR, Role.FINANCE),
    TaskKind.REPORT_PROGRESS: (Role.MENTOR,),
}

# Tasks that run beside the stage's own task instead of replacing it (a payment investigation beside
# the bank wait; later an LPJ beside the mentoring visits). Opening a task of any other kind closes
# the group's other stage tasks; a parallel kind replaces only an open task of its own kind.
PARALLEL_TASKS: frozenset[TaskKind] = frozenset(
    {TaskKind.INVESTIGATE_PAYMENT, TaskKind.SUBMIT_LPJ, TaskKind.REVIEW_LPJ, TaskKind.RECOVER_RECEIVABLE}
) | frozenset(  # the muster-roll work period's tasks (issue 13)
    {
        TaskKind.SUBMIT_MUSTER,
        TaskKind.REVIEW_MUSTER,
        TaskKind.APPROVE_WAGES,
        TaskKind.AUTHORIZE_WAGES,
        TaskKind.FIX_WAGE_ACCOUNT,
        TaskKind.REPORT_PROGRESS,
    }
)

TASK_STAGE: dict[TaskKind, Stage] = {
    TaskKind.RESUBMIT_PROPOSAL: Stage.PROPOSAL,
    TaskKind.VERIFY: Stage.VERIFICATION,
    TaskKind.SCHEDULE_TRAINING: Stage.TRAINING,
    TaskKind.RECORD_ATTENDANCE: Stage.TRAINING,
    TaskKind.DECIDE_TRAINING: Stage.TRAINING,
    TaskKind.APPROVE_DISBURSEMENT: Stage.DISBURSEMENT,
    TaskKind.AUTHORIZE_DISBURSEMENT: Stage.DISBURSEMENT,
    TaskKind.AWAIT_BUDGET: Stage.DISBURSEMENT,
    TaskKind.AWAIT_UNFREEZE: Stage.DISBURSEMENT,
    TaskKind.AWAIT_BANK: Stage.DISBURSEMENT,
    TaskKind.UPDATE_BANK_ACCOUNT: Stage.DISBURSEMENT,
    TaskKind.INVESTIGATE_PAYMENT: Stage.DISBURSEMENT,
    TaskKind.REPORT_VISIT: Stage.MENTORING,
    TaskKind.SUBMIT_LPJ: Stage.MENTORING,
    TaskKind.REVIEW_LPJ: Stage.MENTORING,
    TaskKind.RECOVER_RECEIVABLE: Stage.RECOVERY,
    TaskKind.SUBMIT_MUSTER: Stage.DISBURSEMENT,
    TaskKind.REVIEW_MUSTER: Stage.DISBURSEMENT,
    TaskKind.APPROVE_WAGES: Stage.DISBURSEMENT,
    TaskKind.AUTHORIZE_WAGES: Stage.DISBURSEMENT,
    TaskKind.FIX_WAGE_ACCOUNT: Stage.DISBURSEMENT,
    TaskKind.REPORT_PROGRESS: Stage.DISBURSEMENT,
}


class EscalationLevel:
    """0: with the assignee; 1: reminder sent; 2: the region's supervisor; 3: the national directorate."""

    NONE = 0
    REMINDED = 1
    REGIONAL_SUPERVISOR = 2
    NATIONAL_DIRECTORATE = 3
