"""The grievance workflow's boundary: its input, its whole state, the arguments of its steps, and the
record each step hands to its one recording activity (`GrievanceActivities.record_grievance_step`).

The complainant's NIK and phone travel in the input (sealed in Temporal's payloads, like a group's
members) and in nothing the read model stores in clear: the activity keeps the NIK masked and the
phone as a keyed hash beside its masked form (the SMS outbox, like the groups', holds the number it
sends to).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jps.domain.grievances import (
    GRIEVANCE_TEXT_MAX,
    Channel,
    Decision,
    GrievanceCategory,
    GrievancePolicy,
    GrievanceStatus,
    GrievanceTaskKind,
    text_problem,
)
from jps.domain.models import Officer
from jps.domain.roles import Role


class GrievanceRef(BaseModel):
    """What filing answers: the case's id, its status and when the next step is due."""

    grievance_id: str
    status: GrievanceStatus
    due_at: datetime | None


class GrievanceInput(BaseModel):
    grievance_id: str
    nik: str
    phone: str
    group_id: str | None = None
    category: GrievanceCategory
    text: str
    channel: Channel
    about_officer: str | None = None
    transfer_id: str | None = None
    filed_by: str | None = None  # the officer of a walk-in, or the verification's sampler
    request_id: str | None = None
    policy: GrievancePolicy


class BankCheck(BaseModel):
    """The member's transfer as we recorded it and as the bank itself reports it now."""

    transfer_id: str
    amount: int | None = None
    our_status: str | None = None
    bank_status: str | None = None  # pending / paid / failed; None: the bank never received it
    bank_reason: str = ""
    paid_at: datetime | None = None
    checked_at: datetime


class Registration(BaseModel):
    """What the first activity found: where the case belongs and whether its group and member exist
    (shown to officers only; the complainant's answer never depends on it)."""

    region_code: str
    group_known: bool = False
    member_in_group: bool = False
    transfer_id: str | None = None


class GrievanceTask(BaseModel):
    kind: GrievanceTaskKind
    roles: list[Role]
    opened_at: datetime
    due_at: datetime
    escalation_level: int = 0


class GrievanceState(BaseModel):
    """Everything the workflow knows (no NIK or phone: those stay in the input)."""

    grievance_id: str
    category: GrievanceCategory
    channel: Channel
    group_id: str | None = None
    about_officer: str | None = None
    filed_by: str | None = None
    filed_at: datetime
    status: GrievanceStatus = GrievanceStatus.FILED
    registered: bool = False
    registration: Registration | None = None
    seq: int = 0
    task: GrievanceTask | None = None
    escalation_level: int = 0
    resolve_due_at: datetime | None = None  # moves later by the time the complainant was asked
    info_requested_at: datetime | None = None
    answer_due_at: datetime | None = None
    answered: int = 0  # the complainant's answers so far (token for the wait)
    decision: Decision | None = None
    decided_at: datetime | None = None
    reason: str = ""
    reopened: int = 0
    bank: BankCheck | None = None
    task_token: int = 0

    @property
    def region_code(self) -> str:
        return self.registration.region_code if self.registration else ""

    @property
    def due_at(self) -> datetime | None:
        return self.task.due_at if self.task else self.answer_due_at


class GrievanceStep(BaseModel):
    """One step, as the workflow hands it to `record_grievance_step` (one transaction: the case's row,
    its task, the step's event, the audit row, the SMS to the complainant and the officers' notices).
    `(grievance_id, seq, run_id)` makes a retry a no-op."""

    grievance_id: str
    seq: int
    run_id: str
    at: datetime
    event: str
    officer: str | None = None
    officer_roles: list[str] = Field(default_factory=list)
    text: str = ""  # the step's free text (complaint, question, answer, reason): stored, shown escaped
    details: dict[str, Any] = Field(default_factory=dict)
    sms: str | None = None  # the template key of the SMS to the complainant, if any
    notify_roles: list[str] = Field(default_factory=list)  # officers told by e-mail (role@region)
    state: GrievanceState
    filed: GrievanceInput | None = None  # the first step carries the input (the row's masked NIK, phone)
    phone: str = ""  # where the SMS goes (from the input)


# ---- the steps' arguments ----


class _StepArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    officer: Officer | None = Field(None, description="Filled by the API from the token")


def _bounded(v: str) -> str:
    problem = text_problem(v)
    if problem:
        raise ValueError(problem)
    return v


class AcknowledgeArgs(_StepArgs):
    note: str = Field("", max_length=GRIEVANCE_TEXT_MAX, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


class RequestInfoArgs(_StepArgs):
    question: str = Field(min_length=1, max_length=GRIEVANCE_TEXT_MAX)

    _q = field_validator("question")(_bounded)


class ResolveArgs(_StepArgs):
    decision: Decision
    reason: str = Field(min_length=1, max_length=GRIEVANCE_TEXT_MAX)

    _r = field_validator("reason")(_bounded)


class ReopenArgs(_StepArgs):
    reason: str = Field(min_length=1, max_length=GRIEVANCE_TEXT_MAX)

    _r = field_validator("reason")(_bounded)


class ComplainantArgs(BaseModel):
    """The complainant's answer or reopening: proven by the NIK (public page) or the phone (SMS)."""

    model_config = ConfigDict(extra="forbid")

    via: Literal["web", "sms"] = "web"
    nik: str | None = None
    phone: str | None = None
    text: str = Field(min_length=1, max_length=GRIEVANCE_TEXT_MAX)
    message_id: str | None = None

    _t = field_validator("text")(_bounded)
