"""Lifecycle stages (tahapan) and the kinds of human task (tugas) that wait in them."""

from __future__ import annotations

from enum import StrEnum

from jps.domain.roles import Role


class Stage(StrEnum):
    PROPOSAL = "proposal"  # sent back by a verifier for revision (proposal direvisi)
    VERIFICATION = "verification"  # verifikasi dokumen dan lapangan
    TRAINING = "training"  # pembekalan / pelatihan
    DISBURSEMENT = "disbursement"  # penyaluran bantuan
    MENTORING = "mentoring"  # pendampingan
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


TERMINAL_STAGES: frozenset[Stage] = frozenset({Stage.COMPLETED, Stage.REJECTED, Stage.CANCELLED})
# Stages in which a group holds its members' NIKs (a NIK may be in one active group only).
ACTIVE_STAGES: frozenset[Stage] = frozenset(s for s in Stage if s not in TERMINAL_STAGES)
STAGE_ORDER: tuple[Stage, ...] = (
    Stage.PROPOSAL,
    Stage.VERIFICATION,
    Stage.TRAINING,
    Stage.DISBURSEMENT,
    Stage.MENTORING,
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
}

# Tasks that run beside the stage's own task instead of replacing it (a payment investigation beside
# the bank wait; later an LPJ beside the mentoring visits). Opening a task of any other kind closes
# the group's other stage tasks; a parallel kind replaces only an open task of its own kind.
PARALLEL_TASKS: frozenset[TaskKind] = frozenset({TaskKind.INVESTIGATE_PAYMENT})

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
}


class EscalationLevel:
    """0: with the assignee; 1: reminder sent; 2: the region's supervisor; 3: the national directorate."""

    NONE = 0
    REMINDED = 1
    REGIONAL_SUPERVISOR = 2
    NATIONAL_DIRECTORATE = 3
